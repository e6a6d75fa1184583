"""A connector that prints to stdout and logs through ``baton_cli.connector.logger`` while it syncs."""

from __future__ import annotations

from collections.abc import Sequence

from baton_cli.connector import logger
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
from baton_cli.connector.plugin import Plugin

log = logger("printing")


class _Things:
    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(id="thing", display_name="Thing")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        print("a stray print from the connector")
        log.info("listing things", extra={"page": page_token or "first"})
        return Page([Resource(id=ResourceId(resource_type="thing", resource="t1"), display_name="Thing 1")])

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])


class _Printing:
    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="Printing")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return [_Things()]


def _build(config: Config) -> Connector:
    return _Printing()


plugin = Plugin(name="printing", description="prints and logs while syncing", fields=(), factory=_build)
