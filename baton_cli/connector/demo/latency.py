"""The demo's ``latency-ms``: a sleep before every connector call, as a real API's round trip.

Real connectors spend a sync waiting on HTTP APIs; this lets a benchmark (and a
person trying ``--workers``) see that cost without a network.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from baton_cli.connector.api import Entitlement, Grant, Page, Resource, ResourceId, ResourceType


class SlowSyncer:
    """Wraps one resource syncer; listing and fetching calls sleep first, everything else passes through."""

    def __init__(self, inner: Any, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self._inner = inner
        self._seconds = seconds
        self._sleep = sleep

    @property
    def resource_type(self) -> ResourceType:
        result: ResourceType = self._inner.resource_type
        return result

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        self._sleep(self._seconds)
        result: Page[Resource] = self._inner.list(parent, page_token)
        return result

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        self._sleep(self._seconds)
        result: Page[Entitlement] = self._inner.entitlements(resource, page_token)
        return result

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        self._sleep(self._seconds)
        result: Page[Grant] = self._inner.grants(resource, page_token)
        return result

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        self._sleep(self._seconds)
        result: Resource | None = self._inner.get(resource_id, parent)
        return result

    def __getattr__(self, name: str) -> Any:
        # Provisioning operations (grant, revoke, create_account, ...) exist only where the
        # wrapped syncer has them, so capability checks see the same connector.
        return getattr(self._inner, name)
