"""Bad inputs fail with one-line errors of the right class that name the file."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
import zstandard

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.errors import BatonError, C1ZError, C1ZUnsupportedFormat, NotFoundError, StatusCode
from tests.c1z.helpers import PEBBLE_FIXTURE, fixture

MIB = 1024 * 1024


def _expect(
    error: type[BatonError], path: Path, work: Path, opener: Callable[..., object] = C1ZReader.open
) -> BatonError:
    work.mkdir(exist_ok=True)
    with pytest.raises(error) as info:
        opener(path, tmp_dir=work)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    assert list(work.iterdir()) == [], "failed opens must not leave work directories behind"
    return info.value


def _c1z(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


def _sqlite_bytes(tmp_path: Path) -> bytes:
    db = tmp_path / "plain.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
    return db.read_bytes()


def test_missing_file(tmp_path: Path) -> None:
    err = _expect(NotFoundError, tmp_path / "nope.c1z", tmp_path / "work")
    assert err.code == StatusCode.NOT_FOUND


def test_pebble_v3_file_opens_for_reading_but_is_never_written_into(tmp_path: Path) -> None:
    with C1ZReader.open(fixture(PEBBLE_FIXTURE), tmp_dir=tmp_path) as reader:
        assert reader.format == "v3"
    err = _expect(C1ZUnsupportedFormat, fixture(PEBBLE_FIXTURE), tmp_path / "work", C1ZWriter.open)
    assert err.code == StatusCode.UNIMPLEMENTED
    assert "v3 (Pebble engine)" in str(err) and "writes only v1" in str(err) and "--out" in str(err)
    assert "BATON_STORAGE_ENGINE=sqlite" in str(err)


@pytest.mark.parametrize(
    ("label", "body"),
    [
        ("empty", b""),
        ("short", b"C1Z"),
        ("random", random.Random(1234).randbytes(4096)),
        ("sqlite-not-wrapped", b"SQLite format 3\x00" + bytes(100)),
        ("magic-only", b"C1ZF\x00"),
        ("magic-plus-garbage", b"C1ZF\x00" + random.Random(99).randbytes(4096)),
    ],
)
def test_not_a_c1z_file(tmp_path: Path, label: str, body: bytes) -> None:
    err = _expect(C1ZError, _c1z(tmp_path / f"{label}.c1z", body), tmp_path / "work")
    assert not isinstance(err, C1ZUnsupportedFormat)
    assert err.code == StatusCode.INVALID_ARGUMENT


def test_writer_rejects_non_c1z_content_but_not_an_empty_file(tmp_path: Path) -> None:
    _expect(C1ZError, _c1z(tmp_path / "junk.c1z", b"hello world"), tmp_path / "work", C1ZWriter.open)
    empty = _c1z(tmp_path / "empty.c1z", b"")
    with C1ZWriter.open(empty, tmp_dir=tmp_path / "work") as writer:
        writer.abort()
    assert empty.read_bytes() == b""


def test_directory_is_not_a_c1z_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.c1z"
    folder.mkdir()
    _expect(C1ZError, folder, tmp_path / "work")


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_copy_of_a_real_file(tmp_path: Path, cut: float) -> None:
    data = fixture("small-expanded.c1z").read_bytes()
    err = _expect(C1ZError, _c1z(tmp_path / "cut.c1z", data[: int(len(data) * cut)]), tmp_path / "work")
    assert "truncated" in str(err)


def test_missing_checksum_bytes_are_truncation(tmp_path: Path) -> None:
    data = fixture("file-template-sdk-v0.25.0.c1z").read_bytes()
    _expect(C1ZError, _c1z(tmp_path / "cut.c1z", data[:-2]), tmp_path / "work")


def test_corrupted_bytes_are_detected(tmp_path: Path) -> None:
    data = bytearray(fixture("small-expanded.c1z").read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0x5A
    _expect(C1ZError, _c1z(tmp_path / "flipped.c1z", bytes(data)), tmp_path / "work")


def test_trailing_garbage_after_the_frame(tmp_path: Path) -> None:
    data = fixture("demo-sdk-v0.2.51.c1z").read_bytes()
    _expect(C1ZError, _c1z(tmp_path / "tail.c1z", data + b"garbage!"), tmp_path / "work")


def test_zstd_of_something_that_is_not_sqlite(tmp_path: Path) -> None:
    body = b"C1ZF\x00" + zstandard.ZstdCompressor().compress(b"hello world " * 100)
    err = _expect(C1ZError, _c1z(tmp_path / "text.c1z", body), tmp_path / "work")
    assert "SQLite" in str(err)


def test_sqlite_header_followed_by_garbage(tmp_path: Path) -> None:
    fake = b"SQLite format 3\x00" + random.Random(7).randbytes(8192)
    body = b"C1ZF\x00" + zstandard.ZstdCompressor().compress(fake)
    _expect(C1ZError, _c1z(tmp_path / "badpages.c1z", body), tmp_path / "work")


def _bomb(path: Path, size: int) -> Path:
    cctx = zstandard.ZstdCompressor(write_content_size=True, write_checksum=True)
    return _c1z(path, b"C1ZF\x00" + cctx.compress(b"SQLite format 3\x00" + bytes(size)))


def test_declared_content_size_over_the_cap_fails_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DECODER_MAX_DECODED_SIZE_MB", "1")
    bomb = _bomb(tmp_path / "bomb.c1z", 2 * MIB)
    assert bomb.stat().st_size < 1024  # highly compressible: the point of a bomb
    err = _expect(C1ZError, bomb, tmp_path / "work")
    assert "declared" in str(err) and "BATON_DECODER_MAX_DECODED_SIZE_MB" in str(err)


def test_decoded_size_cap_holds_without_fail_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DECODER_MAX_DECODED_SIZE_MB", "1")
    monkeypatch.setenv("BATON_DISABLE_FCS_FAIL_FAST", "1")
    err = _expect(C1ZError, _bomb(tmp_path / "bomb.c1z", 2 * MIB), tmp_path / "work")
    assert "declared" not in str(err) and "exceeds the limit" in str(err)


def test_bomb_without_declared_size_hits_the_streaming_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DECODER_MAX_DECODED_SIZE_MB", "1")
    stream = zstandard.ZstdCompressor().compressobj()  # streaming: no content size in the header
    payload = stream.compress(b"SQLite format 3\x00" + bytes(3 * MIB)) + stream.flush()
    assert zstandard.get_frame_parameters(payload).content_size == zstandard.CONTENTSIZE_UNKNOWN
    err = _expect(C1ZError, _c1z(tmp_path / "nofcs.c1z", b"C1ZF\x00" + payload), tmp_path / "work")
    assert "exceeds the limit" in str(err)


def test_window_larger_than_the_memory_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DECODER_MAX_MEMORY_MB", "1")
    # Upstream's 8 MiB window (descriptor 0x68) is over a 1 MiB cap.
    err = _expect(C1ZError, fixture("small-expanded.c1z"), tmp_path / "work")
    assert "window" in str(err) and "BATON_DECODER_MAX_MEMORY_MB" in str(err)


def test_unusable_limit_values_fall_back_to_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DECODER_MAX_DECODED_SIZE_MB", "lots")
    monkeypatch.setenv("BATON_DECODER_MAX_MEMORY_MB", "-5")
    with C1ZReader.open(fixture("demo-sdk-v0.2.51.c1z"), tmp_dir=tmp_path) as reader:
        assert reader.pick_sync().finished


def test_concatenated_frames_and_skippable_frames_decode(tmp_path: Path) -> None:
    # Upstream's reader is a plain streaming decoder, so multi-frame bodies are valid c1z files.
    db = _sqlite_bytes(tmp_path)
    cctx = zstandard.ZstdCompressor()
    half = len(db) // 2
    skippable = (0x184D2A50).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"xyz"
    body = b"C1ZF\x00" + cctx.compress(db[:half]) + skippable + cctx.compress(db[half:])
    with C1ZReader.open(_c1z(tmp_path / "multi.c1z", body), tmp_dir=tmp_path) as reader:
        assert "t" in reader.table_names()


def test_unknown_sync_id_and_empty_file_have_no_sync(tmp_path: Path) -> None:
    body = b"C1ZF\x00" + zstandard.ZstdCompressor().compress(_sqlite_bytes(tmp_path))
    with C1ZReader.open(_c1z(tmp_path / "nosync.c1z", body), tmp_dir=tmp_path) as reader:
        with pytest.raises(NotFoundError, match=r"nosync\.c1z"):
            reader.pick_sync()
        with pytest.raises(NotFoundError, match="no-such-sync"):
            reader.pick_sync("no-such-sync")
