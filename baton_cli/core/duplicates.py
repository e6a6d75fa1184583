"""Duplicate ids within one page of a connector's listing.

The store keeps one row per id, so a connector that lists an id twice would be
merged silently; the engine reports it instead (a warning naming the id, or an
error in strict mode, which the test kit uses). Only one page is checked: a
whole listing's ids would cost memory proportional to the directory. The test
kit checks complete listings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from baton_cli.connector.api import Entitlement, Grant, Resource

DuplicatePolicy = Literal["warn", "error"]


def first_duplicate(keys: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def duplicate_resource(items: Sequence[Resource]) -> str | None:
    if len(items) < 2:
        return None
    return first_duplicate(f"{r.id.resource_type}:{r.id.resource}" for r in items)


def duplicate_entitlement(items: Sequence[Entitlement]) -> str | None:
    return _first_duplicate_id([e.id for e in items]) if len(items) > 1 else None


def duplicate_grant(items: Sequence[Grant]) -> str | None:
    return _first_duplicate_id([g.id for g in items]) if len(items) > 1 else None


def _first_duplicate_id(ids: list[str]) -> str | None:
    # Pages almost never repeat an id: one set() in C answers that; the loop only finds which.
    return None if len(set(ids)) == len(ids) else first_duplicate(ids)
