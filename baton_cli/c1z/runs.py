"""Sync-run records and per-sync counts, as read from ``v1_sync_runs``."""

from __future__ import annotations

from dataclasses import dataclass

from baton_cli.c1z.stats import parse_stats

SYNC_TYPES = frozenset({"full", "partial", "resources_only", "partial_upserts", "partial_deletions"})

# Column order of RUN_COLUMNS must match SyncRun.from_row.
RUN_COLUMNS = "sync_id, started_at, ended_at, sync_token, sync_type, parent_sync_id, stats"


@dataclass(frozen=True, slots=True)
class SyncRun:
    sync_id: str
    started_at: str
    ended_at: str | None
    sync_token: str
    sync_type: str
    parent_sync_id: str
    stats: dict[str, object] | None

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> SyncRun:
        sync_id, started_at, ended_at, token, sync_type, parent, stats = row
        return cls(
            sync_id=str(sync_id),
            started_at=str(started_at),
            ended_at=None if ended_at is None else str(ended_at),
            sync_token=str(token or ""),
            sync_type=str(sync_type or "full"),
            parent_sync_id=str(parent or ""),
            stats=parse_stats(stats if isinstance(stats, str) else None),
        )


@dataclass(frozen=True, slots=True)
class Counts:
    resource_types: int
    resources: int
    entitlements: int
    grants: int
