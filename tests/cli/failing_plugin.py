"""A plugin whose grant listing fails, for testing what a failed sync leaves behind."""

from __future__ import annotations

from collections.abc import Sequence

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


class _Things:
    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(id="thing", display_name="Thing")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        return Page([Resource(id=ResourceId(resource_type="thing", resource="t1"), display_name="T1")])

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        raise RuntimeError("the remote API returned HTTP 500")


class _Failing:
    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="Failing")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return [_Things()]


def _build(config: Config) -> Connector:
    return _Failing()


plugin = Plugin(name="failing", description="fails while listing grants", fields=(), factory=_build)
