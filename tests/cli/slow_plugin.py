"""A slow, call-logging plugin for kill-and-resume tests.

`count` things, listed `page-size` per page with a short sleep, each with one
entitlement and one grant; every connector call is appended to `log-file`
before it returns, so a test can see which pages each run asked for.

With `pause-after N`, call N+1 does not return until `release-file` exists: a
test that waits for N lines knows the sync is mid-way, however loaded the
machine, and can signal it there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from baton_cli.connector.api import (
    Connector,
    ConnectorMetadata,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.connector.config import Config
from baton_cli.connector.plugin import ConfigField, Plugin

# A bound on a pause, so a test that never releases cannot hang its child for ever.
_PAUSE_LIMIT_SECONDS = 120


class _Things:
    def __init__(
        self, count: int, page_size: int, delay: float, log: Path, pause_after: int, release: Path | None
    ) -> None:
        self.count, self.page_size, self.delay, self.log = count, page_size, delay, log
        self.pause_after, self.release, self.calls = pause_after, release, 0

    def _called(self, what: str) -> None:
        self.calls += 1
        if self.pause_after and self.calls == self.pause_after + 1 and self.release is not None:
            deadline = time.monotonic() + _PAUSE_LIMIT_SECONDS
            while not self.release.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        with self.log.open("a") as f:
            f.write(what + "\n")
        time.sleep(self.delay)

    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(id="thing", display_name="Thing")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        start = int(page_token or 0)
        self._called(f"list:{start}")
        end = min(start + self.page_size, self.count)
        items = [
            Resource(id=ResourceId(resource_type="thing", resource=f"t{i:05d}"), display_name=f"Thing {i}")
            for i in range(start, end)
        ]
        return Page(items, next_token=str(end) if end < self.count else "")

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        self._called(f"entitlements:{resource.id.resource}")
        return Page(
            [Entitlement(id=f"thing:{resource.id.resource}:member", resource=resource, slug="member")]
        )

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        self._called(f"grants:{resource.id.resource}")
        entitlement = Entitlement(id=f"thing:{resource.id.resource}:member", resource=resource)
        grant = Grant(
            id=f"thing:{resource.id.resource}:member:thing:{resource.id.resource}",
            entitlement=entitlement,
            principal=resource,
        )
        return Page([grant])


class _Slow:
    def __init__(self, syncer: _Things) -> None:
        self._syncer = syncer

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="Slow")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return [self._syncer]


def _build(config: Config) -> Connector:
    things = _Things(
        config.get_int("count"),
        config.get_int("page-size"),
        config.get_int("delay-ms") / 1000,
        Path(config.get_str("log-file")),
        config.get_int("pause-after"),
        Path(config.get_str("release-file")) if config.get_str("release-file") else None,
    )
    return _Slow(things)


plugin = Plugin(
    name="slow",
    description="slow, call-logging test connector",
    fields=(
        ConfigField("count", "int", default=100),
        ConfigField("page-size", "int", default=10),
        ConfigField("delay-ms", "int", default=5),
        ConfigField("log-file", "string", required=True),
        ConfigField("pause-after", "int", default=0),
        ConfigField("release-file", "string", default=""),
    ),
    factory=_build,
)
