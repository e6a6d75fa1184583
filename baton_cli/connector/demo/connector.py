"""The demo Connector: wires sizes, the state file and the three syncers together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from baton_cli.connector.api import ConnectorMetadata, ResourceSyncer
from baton_cli.connector.demo.actions import DemoActions
from baton_cli.connector.demo.events import DemoEvents
from baton_cli.connector.demo.latency import SlowSyncer
from baton_cli.connector.demo.model import Sizes
from baton_cli.connector.demo.state import StateStore
from baton_cli.connector.demo.syncers import GroupSyncer, RoleSyncer, UserSyncer
from baton_cli.connector.demo.tickets import DemoTickets
from baton_cli.connector.demo.world import DemoWorld

DISPLAY_NAME = "Demo"
DESCRIPTION = (
    "A deterministic, generated directory of users, groups and roles for trying baton "
    "without credentials; provisioning is recorded in an optional state file."
)


class DemoConnector(DemoTickets, DemoActions, DemoEvents):
    """Users, groups and roles, plus a ticket system, actions and an event feed of its changes."""

    def __init__(
        self, sizes: Sizes, page_size: int, state_file: Path | None = None, latency_ms: int = 0
    ) -> None:
        self._world = DemoWorld(sizes, page_size, StateStore(state_file, sizes))
        # Listing order is part of the demo's contract: user, group, role.
        syncers: tuple[ResourceSyncer, ...] = (
            UserSyncer(self._world),
            GroupSyncer(self._world),
            RoleSyncer(self._world),
        )
        if latency_ms > 0:
            syncers = tuple(cast(ResourceSyncer, SlowSyncer(s, latency_ms / 1000)) for s in syncers)
        self._syncers = syncers

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name=DISPLAY_NAME, description=DESCRIPTION)

    def validate(self) -> None:
        # Reading the state file surfaces corruption or a size mismatch before a sync starts.
        self._world.store.current()

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return self._syncers
