"""Opening the same c1z content again in one process copies its finished work database
(c1z/open_cache.py) and gives exactly what a fresh decode gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader, open_cache, reader
from baton_cli.c1z.container import DecodeLimits
from baton_cli.c1z.open_cache import OpenCache
from tests.external import fixture_path


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> OpenCache:
    fresh = OpenCache()
    monkeypatch.setattr(reader, "OPEN_CACHE", fresh)
    yield fresh
    fresh.clear()


def dump(opened: C1ZReader) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, and the schema, of the reader's work database."""
    tables = [r[0] for r in opened._all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out = {name: opened._all(f"SELECT * FROM {name} ORDER BY rowid") for name in tables}
    out["schema"] = opened._all("SELECT type, name, sql FROM sqlite_master ORDER BY name")
    return out


def snapshot(path: Path, tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    with C1ZReader.open(path, tmp_dir=tmp_path) as opened:
        return dump(opened)


@pytest.mark.parametrize("name", ["small-expanded.c1z", "file-template-sdk-v0.25.0-pebble.c1z"])
def test_a_cached_open_equals_a_fresh_decode(name: str, cache: OpenCache, tmp_path: Path) -> None:
    source = fixture_path(name)
    fresh = snapshot(source, tmp_path)
    snapshot(source, tmp_path)
    assert cache.entries == 1, "the second open at the latest keeps a copy"
    assert snapshot(source, tmp_path) == fresh
    assert fresh["v1_grants"], "the comparison covers rows"
    assert list(tmp_path.iterdir()) == [], "the cache lives outside the caller's temp directory"


def test_a_one_shot_v1_open_copies_nothing(cache: OpenCache, tmp_path: Path) -> None:
    snapshot(fixture_path("small-expanded.c1z"), tmp_path)
    assert cache.entries == 0 and cache._directory is None


def test_changed_content_is_decoded_again(cache: OpenCache, tmp_path: Path) -> None:
    path = tmp_path / "changing.c1z"
    shutil.copyfile(fixture_path("small-expanded.c1z"), path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for _ in range(2):
        snapshot(path, scratch)
    assert cache.entries == 1
    shutil.copyfile(fixture_path("small-unexpanded.c1z"), path)  # same name, size and place, new bytes
    with C1ZReader.open(path, tmp_dir=scratch) as opened:
        assert opened.counts(opened.pick_sync().sync_id).grants == 2909


def test_other_decode_limits_are_another_entry(cache: OpenCache, tmp_path: Path) -> None:
    source = fixture_path("small-expanded.c1z")
    strict = DecodeLimits(max_decoded_bytes=1024, max_window_bytes=1 << 27, fcs_fail_fast=True)
    assert cache.key(source, None) != cache.key(source, strict)
    for _ in range(2):
        snapshot(source, tmp_path)
    with pytest.raises(Exception, match=r"exceeds|limit"):
        C1ZReader.open(source, tmp_dir=tmp_path, limits=strict)


def test_readers_from_the_cache_are_private_copies(cache: OpenCache, tmp_path: Path) -> None:
    source = fixture_path("file-template-sdk-v0.25.0-pebble.c1z")
    first = C1ZReader.open(source, tmp_dir=tmp_path)
    second = C1ZReader.open(source, tmp_dir=tmp_path)
    try:
        assert first._workdir != second._workdir
        first.close()
        assert second.counts(second.pick_sync().sync_id).grants == 40
    finally:
        first.close()
        second.close()


def test_files_over_the_caps_are_not_cached(
    cache: OpenCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = fixture_path("file-template-sdk-v0.25.0-pebble.c1z")
    monkeypatch.setattr(open_cache, "MAX_SOURCE_BYTES", source.stat().st_size - 1)
    assert cache.key(source, None) is None  # not even hashed
    monkeypatch.setattr(open_cache, "MAX_SOURCE_BYTES", source.stat().st_size)
    monkeypatch.setattr(open_cache, "MAX_DATABASE_BYTES", 4096)  # smaller than any work database
    snapshot(source, tmp_path)
    assert cache.key(source, None) is not None and cache.entries == 0
