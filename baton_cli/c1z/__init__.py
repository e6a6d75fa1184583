"""The c1z file format (v1, SQLite engine): read and write ConductorOne sync artifacts.

See c1z.md. This package sits below the connector and core layers and must not
import them (or any network/UI framework).
"""

from __future__ import annotations

from baton_cli.c1z.container import MAGIC_V1, MAGIC_V3, DecodeLimits
from baton_cli.c1z.ksuid import new_ksuid
from baton_cli.c1z.reader import C1ZReader
from baton_cli.c1z.runs import SYNC_TYPES, Counts, SyncRun
from baton_cli.c1z.store import SyncStore
from baton_cli.c1z.writer import C1ZWriter

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
