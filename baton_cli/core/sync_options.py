"""What a sync is asked to do, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass

from baton_cli.connector.api import ResourceId


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """What to sync (runner.md §7.2, §7.4); the defaults are a full sync."""

    resource_type_ids: tuple[str, ...] = ()  # only these types (empty: all)
    targets: tuple[ResourceId, ...] = ()  # targeted (partial) sync of these resources
    target_parents: tuple[ResourceId | None, ...] = ()  # parallel to targets
    skip_entitlements_and_grants: bool = False
    skip_grants: bool = False
    skip_expand_grants: bool = False

    @property
    def sync_type(self) -> str:
        if self.targets:
            return "partial"
        return "resources_only" if self.skip_entitlements_and_grants else "full"


@dataclass(frozen=True, slots=True)
class SyncResult:
    sync_id: str
    counts: dict[str, int]
    seconds: float
    needs_expansion: bool
    resumed: bool = False
    sync_type: str = "full"
    warnings: tuple[str, ...] = ()
    dropped: dict[str, int] | None = None
