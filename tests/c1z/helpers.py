"""Test helpers that touch c1z files WITHOUT going through baton_cli.c1z (an independent path)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import zstandard

from tests.external import fixture_path

V1_FIXTURES = {
    # file: (resource types, resources, entitlements, grants) of the picked sync, from the fixtures README
    "demo-sdk-v0.2.51.c1z": (4, 11, 10, 32),
    "file-template-sdk-v0.2.92.c1z": (4, 15, 11, 40),
    "file-template-sdk-v0.25.0.c1z": (4, 15, 11, 40),
    "sync-in-progress.c1z": (5, 79, 0, 0),
    "small-unexpanded.c1z": (4, 1221, 342, 2909),
    "small-expanded.c1z": (4, 1221, 342, 14981),
}
PEBBLE_FIXTURE = "file-template-sdk-v0.25.0-pebble.c1z"
NEWEST_V1_FIXTURE = "file-template-sdk-v0.25.0.c1z"


def fixture(name: str) -> Path:
    """An upstream fixture; skipped (or failed under BATON_REQUIRE_EXTERNALS) when it is missing."""
    return fixture_path(name)


def decompress(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:5] == b"C1ZF\x00"
    with zstandard.ZstdDecompressor().stream_reader(data[5:], read_across_frames=True) as reader:
        return reader.read()


@contextmanager
def open_db(c1z: Path, scratch: Path) -> Iterator[sqlite3.Connection]:
    """The SQLite database inside ``c1z``, decompressed into ``scratch``."""
    scratch.mkdir(parents=True, exist_ok=True)
    db = scratch / f"{c1z.name}.db"
    db.write_bytes(decompress(c1z))
    with closing(sqlite3.connect(db)) as conn:
        yield conn


def make_c1z(path: Path, scratch: Path, build: Callable[[sqlite3.Connection], None]) -> Path:
    """Write a c1z whose database is whatever ``build`` creates."""
    scratch.mkdir(parents=True, exist_ok=True)
    db = scratch / f"{path.name}.build.db"
    with closing(sqlite3.connect(db)) as conn:
        build(conn)
        conn.commit()
    path.write_bytes(b"C1ZF\x00" + zstandard.ZstdCompressor().compress(db.read_bytes()))
    return path


def columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int, str | None, int]]:
    """(name, declared type, notnull, default, pk) per column, in order."""
    return [(r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def indexes(conn: sqlite3.Connection) -> dict[str, tuple[str, bool, tuple[str, ...], bool]]:
    """name -> (table, unique, columns, partial) for every explicitly created index."""
    result: dict[str, tuple[str, bool, tuple[str, ...], bool]] = {}
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
            if origin != "c":
                continue
            cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
            result[name] = (table, bool(unique), cols, bool(partial))
    return result
