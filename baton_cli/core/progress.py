"""How the sync engine reports progress; the CLI renders it (Rich or plain lines)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Phase(StrEnum):
    """Sync phases, named as upstream's sync-token operations (runner.md §7.1)."""

    VALIDATE = "validate"
    LIST_RESOURCE_TYPES = "list-resource-types"
    LIST_RESOURCES = "list-resources"
    LIST_ENTITLEMENTS = "list-entitlements"
    LIST_GRANTS = "list-grants"
    GRANT_EXPANSION = "grant-expansion"
    FINALIZE = "finalize"


class RowKind(StrEnum):
    RESOURCE_TYPES = "resource_types"
    RESOURCES = "resources"
    ENTITLEMENTS = "entitlements"
    GRANTS = "grants"


class SyncObserver(Protocol):
    def phase_started(self, phase: Phase) -> None: ...

    def page_stored(self, kind: RowKind, rows: int) -> None: ...

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        """``done`` of ``total`` units of a phase whose size is known: resources walked for
        entitlements and grants, entitlement pairs for grant expansion."""
        ...

    def note(self, message: str) -> None:
        """Something a person should know (e.g. that an unfinished sync is being resumed)."""
        ...


class NullObserver:
    def phase_started(self, phase: Phase) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def page_stored(self, kind: RowKind, rows: int) -> None:
        pass

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        pass
