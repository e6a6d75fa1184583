"""Decompression bombs are stopped while streaming, for every zstd frame layout, and work
directories go away on every exit path (a killed process's are removed by the next one)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
import zstandard

from baton_cli.c1z import C1ZReader
from baton_cli.c1z.container import decompress_v1
from baton_cli.c1z.workdir import OWNER_LOCK, make_workdir, remove_abandoned_workdirs, remove_workdir
from baton_cli.errors import C1ZError
from tests.c1z.helpers import fixture
from tests.cli.process import ROOT, baton

MIB = 1024 * 1024
MAGIC = b"C1ZF\x00"
SKIPPABLE = (0x184D2A50).to_bytes(4, "little") + (4).to_bytes(4, "little") + b"skip"


def _database(tmp_path: Path) -> bytes:
    """A real SQLite file: its header vouches for its size (2 pages)."""
    db = tmp_path / "real.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
    return db.read_bytes()


def _no_size(data: bytes) -> bytes:
    stream = zstandard.ZstdCompressor().compressobj()  # streaming: no content size in the header
    frame = stream.compress(data) + stream.flush()
    assert zstandard.get_frame_parameters(frame).content_size == zstandard.CONTENTSIZE_UNKNOWN
    return frame


def _sized(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=True).compress(data)


def _zeros_frames(size: int) -> bytes:
    return b"".join(_no_size(bytes(8 * MIB)) for _ in range(size // (8 * MIB)))


LAYOUTS: dict[str, Callable[[bytes, int], bytes]] = {
    "one frame, no content size": lambda db, size: _no_size(db + bytes(size)),
    "one frame, content size": lambda db, size: _sized(db + bytes(size)),
    "database frame then frames without size": lambda db, size: _sized(db) + _zeros_frames(size),
    "skippable frames between": lambda db, size: _no_size(db) + SKIPPABLE + _zeros_frames(size) + SKIPPABLE,
}


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_data_past_the_size_the_sqlite_header_declares_stops_at_once(tmp_path: Path, layout: str) -> None:
    db = _database(tmp_path)
    bomb = tmp_path / "bomb.c1z"
    bomb.write_bytes(MAGIC + LAYOUTS[layout](db, 64 * MIB))
    assert bomb.stat().st_size < MIB  # a few KiB that would decode to 64 MiB
    dest = tmp_path / "db"
    with pytest.raises(C1ZError, match=f"past the {len(db):,} bytes its SQLite header declares"):
        decompress_v1(bomb, dest)
    # Enforced while streaming: nothing past the declared size ever reached the disk.
    assert dest.stat().st_size <= len(db)


NOT_SQLITE = {
    "one frame, no content size": _no_size(bytes(64 * MIB)),
    "one frame, content size": _sized(bytes(64 * MIB)),
    "skippable frames between": SKIPPABLE + _zeros_frames(64 * MIB) + SKIPPABLE,
}


@pytest.mark.parametrize("layout", list(NOT_SQLITE), ids=list(NOT_SQLITE))
def test_content_that_is_not_sqlite_is_refused_before_any_write(tmp_path: Path, layout: str) -> None:
    bomb = tmp_path / "zeros.c1z"
    bomb.write_bytes(MAGIC + NOT_SQLITE[layout])
    dest = tmp_path / "db"
    with pytest.raises(C1ZError, match="not a SQLite database"):
        decompress_v1(bomb, dest)
    assert dest.stat().st_size == 0


def test_a_header_that_does_not_vouch_for_its_size_still_meets_the_cap_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DECODER_MAX_DECODED_SIZE_MB", "2")
    bomb = tmp_path / "bomb.c1z"
    bomb.write_bytes(MAGIC + _zeros_frames(0) + _no_size(b"SQLite format 3\x00" + bytes(64 * MIB)))
    dest = tmp_path / "db"
    with pytest.raises(C1ZError, match="exceeds the limit of 2097152 bytes"):
        decompress_v1(bomb, dest)
    assert dest.stat().st_size <= 2 * MIB


def test_real_files_decode_to_exactly_their_declared_size(tmp_path: Path) -> None:
    for name in ("demo-sdk-v0.2.51.c1z", "small-expanded.c1z", "sync-in-progress.c1z"):
        with C1ZReader.open(fixture(name), tmp_dir=tmp_path) as reader:
            assert reader.syncs()
    assert list(tmp_path.iterdir()) == []


def test_stats_on_a_bomb_is_one_line_and_leaves_no_temp_files(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.c1z"
    bomb.write_bytes(MAGIC + LAYOUTS["one frame, no content size"](_database(tmp_path), 64 * MIB))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = baton("stats", "-f", str(bomb), cwd=tmp_path, env={"BATON_C1Z_TEMP_DIR": str(scratch)})
    assert result.returncode == 3, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "SQLite header declares" in result.stderr
    assert list(scratch.iterdir()) == []


def test_abandoned_work_dirs_are_removed_live_and_foreign_ones_kept(tmp_path: Path) -> None:
    abandoned = tmp_path / "c1zdead"
    abandoned.mkdir()
    (abandoned / OWNER_LOCK).touch()  # what a killed process leaves: the file, no lock on it
    (abandoned / "db").write_bytes(bytes(1000))
    foreign = tmp_path / "c1z12345"  # upstream's work dirs have the same prefix, but no owner file
    foreign.mkdir()
    live = tmp_path / "c1zlive"
    live.mkdir()
    (live / OWNER_LOCK).touch()
    fd = os.open(live / OWNER_LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert remove_abandoned_workdirs(tmp_path) == [abandoned]
    finally:
        os.close(fd)
    assert not abandoned.exists() and foreign.is_dir() and live.is_dir()


def test_our_own_work_dir_survives_a_sweep_while_open(tmp_path: Path) -> None:
    ours = make_workdir(tmp_path)
    assert remove_abandoned_workdirs(tmp_path) == []
    assert ours.is_dir()
    remove_workdir(ours)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_process_leaves_a_work_dir_the_next_command_removes(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from baton_cli.c1z.workdir import make_workdir\n"
            "print(make_workdir(sys.argv[1]), flush=True)\n"
            "time.sleep(600)\n",
            str(scratch),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        left = Path(holder.stdout.readline().strip())
        assert left.is_dir()
        (left / "db").write_bytes(bytes(4096))  # as if it was decompressing
    finally:
        holder.kill()  # SIGKILL: no handler, no cleanup
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert left.is_dir()
    result = baton(
        "stats",
        "-f",
        str(fixture("demo-sdk-v0.2.51.c1z")),
        cwd=tmp_path,
        env={"BATON_C1Z_TEMP_DIR": str(scratch)},
    )
    assert result.returncode == 0, result.stderr
    assert list(scratch.iterdir()) == []
