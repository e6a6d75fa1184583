"""The demo's event feed: the provisioning changes recorded in the state file, oldest first.

Grants and revocations become create-grant / create-revoke events; account
creation, resource creation and deletion and credential issuance become
resource-change events. The cursor is the position of the next event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from baton_cli.connector.api import Entitlement, Resource, ResourceId
from baton_cli.connector.demo.world import DemoWorld
from baton_cli.connector.services import Event, EventFeed, EventPage
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import event_feed_pb2

FEED_ID = "provisioning"
SUPPORTED = [
    event_feed_pb2.EVENT_TYPE_RESOURCE_CHANGE,
    event_feed_pb2.EVENT_TYPE_CREATE_GRANT,
    event_feed_pb2.EVENT_TYPE_CREATE_REVOKE,
]
CURSOR_PREFIX = "pos:"


class DemoEvents:
    """The EventFeedProvider half of the demo connector."""

    _world: DemoWorld

    def list_event_feeds(self) -> Sequence[EventFeed]:
        return [EventFeed(id=FEED_ID, supported_event_types=SUPPORTED)]

    def list_events(self, feed_id: str, start_at: datetime | None, cursor: str, page_size: int) -> EventPage:
        if feed_id and feed_id != FEED_ID:
            raise NotFoundError(f"demo: no event feed {feed_id!r} (the demo has {FEED_ID!r})")
        records = self._world.store.current().events
        if cursor:
            position = _position(cursor)
        else:
            since = start_at.timestamp() if start_at is not None else 0.0
            position = next((i for i, r in enumerate(records) if float(r["at"]) >= since), len(records))
        size = page_size or self._world.page_size
        chosen = records[position : position + size]
        end = position + len(chosen)
        return EventPage(
            [_event(r) for r in chosen], cursor=f"{CURSOR_PREFIX}{end}", has_more=end < len(records)
        )


def _position(cursor: str) -> int:
    digits = cursor.removeprefix(CURSOR_PREFIX)
    if not cursor.startswith(CURSOR_PREFIX) or not digits.isdigit():
        raise UsageError(f"demo: invalid event cursor {cursor[:64]!r}")
    return int(digits)


def _event(record: dict[str, Any]) -> Event:
    event = Event(id=str(record["id"]))
    event.occurred_at.FromDatetime(datetime.fromtimestamp(float(record["at"]), tz=UTC))
    kind = record["kind"]
    if kind in ("grant", "revoke"):
        ent_id = str(record["entitlement"])
        type_id, _, rest = ent_id.partition(":")
        entitlement = Entitlement(
            id=ent_id,
            resource=Resource(id=ResourceId(resource_type=type_id, resource=rest.rpartition(":")[0])),
        )
        principal = Resource(
            id=ResourceId(resource_type=str(record["principal_type"]), resource=str(record["principal_id"]))
        )
        target = event.create_grant_event if kind == "grant" else event.create_revoke_event
        target.entitlement.CopyFrom(entitlement)
        target.principal.CopyFrom(principal)
    else:
        event.resource_change_event.resource_id.CopyFrom(
            ResourceId(resource_type=str(record["resource_type"]), resource=str(record["resource_id"]))
        )
    return event
