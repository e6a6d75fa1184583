"""Read-only access to v3 (Pebble engine) c1z files (c1z-v3.md).

Layers, each its own module: ``envelope`` (the C1Z3 container and its payload),
``checkpoint`` (the Pebble directory it unpacks to), ``pebble_manifest`` (the
MANIFEST's live table set), ``sstable`` + ``colblk`` (table format Pebblev7),
``merge`` (the latest-state view over all live tables), ``keyspace`` (baton's
key layout) and ``mapping`` (records to connector v2 messages). ``V3File``
puts them together; ``import_v3`` streams one into a v1 work database so every
reader of the v1 layer sees v3 files unchanged.
"""

from __future__ import annotations

from baton_cli.c1z.v3.file import V3File
from baton_cli.c1z.v3.importer import import_v3

__all__ = ["V3File", "import_v3"]
