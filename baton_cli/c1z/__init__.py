"""The c1z file format (v1, SQLite engine): read and write ConductorOne sync artifacts.

See c1z.md. This package sits below the connector and core layers and must not
import them (or any network/UI framework).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton_cli.c1z.container import MAGIC_V1, MAGIC_V3, DecodeLimits
    from baton_cli.c1z.ksuid import new_ksuid
    from baton_cli.c1z.reader import C1ZReader
    from baton_cli.c1z.runs import SYNC_TYPES, Counts, SyncRun
    from baton_cli.c1z.store import SyncStore
    from baton_cli.c1z.writer import C1ZWriter

# Loaded on first use, so a reader does not import the writer (or the writer the v3 reader).
_HOME = {
    "MAGIC_V1": "baton_cli.c1z.container",
    "MAGIC_V3": "baton_cli.c1z.container",
    "DecodeLimits": "baton_cli.c1z.container",
    "new_ksuid": "baton_cli.c1z.ksuid",
    "C1ZReader": "baton_cli.c1z.reader",
    "SYNC_TYPES": "baton_cli.c1z.runs",
    "Counts": "baton_cli.c1z.runs",
    "SyncRun": "baton_cli.c1z.runs",
    "SyncStore": "baton_cli.c1z.store",
    "C1ZWriter": "baton_cli.c1z.writer",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "MAGIC_V1",
    "MAGIC_V3",
    "SYNC_TYPES",
    "C1ZReader",
    "C1ZWriter",
    "Counts",
    "DecodeLimits",
    "SyncRun",
    "SyncStore",
    "new_ksuid",
]
