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


_NOUNS = {
    "resource_types": ("resource type", "resource types"),
    "resources": ("resource", "resources"),
    "entitlements": ("entitlement", "entitlements"),
    "grants": ("grant", "grants"),
}


def row_count(kind: str, n: int) -> str:
    """``1 resource type``, ``12,345 grants``: how every display and note counts rows."""
    singular, plural = _NOUNS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
    return f"{n:,} {singular if n == 1 else plural}"


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
