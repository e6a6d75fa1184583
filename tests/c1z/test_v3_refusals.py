"""Damaged or unsupported v3 files are refused with one line naming the file and what was found.

Damage (a failed checksum, a truncated file) is INVALID_ARGUMENT (3), like a damaged v1 file;
something we do not read (a non-empty WAL, an unknown table version, blob files...) is
UNIMPLEMENTED (12). The files are built from the template sample with tests/c1z/v3_support.py.
"""

from __future__ import annotations

import io
import struct
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash
import zstandard

from baton_cli.c1z import C1ZReader, DecodeLimits
from baton_cli.errors import BatonError, C1ZError, C1ZUnsupportedFormat, StatusCode
from baton_cli.pb.c1.c1z.v3 import manifest_pb2
from tests.c1z import v3_support as v3
from tests.external import fixture_path

TEMPLATE = "file-template-sdk-v0.25.0-pebble.c1z"
LARGER = "pebble-unexpanded-sdk-test.c1z"
TABLE = "000021.sst"  # the sync run's table: one data block, uncompressed index block
Files = dict[str, bytes]


@pytest.fixture
def template() -> tuple[manifest_pb2.C1ZManifestV3, Files]:
    return v3.unpack(fixture_path(TEMPLATE))


def _refused(path: Path, work: Path, error: type[BatonError] = C1ZError, **kwargs: object) -> str:
    work.mkdir(exist_ok=True)
    with pytest.raises(error) as info:
        C1ZReader.open(path, tmp_dir=work, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and path.name in message
    expected = StatusCode.UNIMPLEMENTED if error is C1ZUnsupportedFormat else StatusCode.INVALID_ARGUMENT
    assert info.value.code == expected, message
    if error is C1ZError:
        assert not isinstance(info.value, C1ZUnsupportedFormat), message
    assert list(work.iterdir()) == [], "a refused file leaves no work directory behind"
    return message


def _variant(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], change: Callable[[Files], None]
) -> Path:
    manifest, files = template
    changed = dict(files)
    change(changed)
    return v3.write(tmp_path / "variant.c1z", manifest, changed)


def test_the_rebuilt_template_still_opens(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]
) -> None:
    # The builder is sound: without a change, the file reads as the original.
    path = _variant(tmp_path, template, lambda files: None)
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        assert reader.counts(reader.pick_sync().sync_id).grants == 40


# -- damage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", ["header", "manifest", "half", "no-footer-magic", "last-byte"])
def test_truncated_file(tmp_path: Path, keep: str) -> None:
    data = fixture_path(TEMPLATE).read_bytes()
    (length,) = struct.unpack(">I", data[5:9])
    size = {
        "header": 7,
        "manifest": 9 + length // 2,
        "half": len(data) // 2,
        "no-footer-magic": len(data) - 4,
        "last-byte": len(data) - 1,
    }[keep]
    path = tmp_path / "cut.c1z"
    path.write_bytes(data[:size])
    message = _refused(path, tmp_path / "work")
    assert "truncated" in message or "footer" in message or "manifest" in message


def test_index_checksum(tmp_path: Path) -> None:
    data = bytearray(fixture_path(TEMPLATE).read_bytes())
    data[-40] ^= 0x01  # inside the frame index
    path = tmp_path / "index.c1z"
    path.write_bytes(bytes(data))
    assert "frame index checksum (XXH64) mismatch" in _refused(path, tmp_path / "work")


def _with_index(data: bytes, mutate: Callable[[manifest_pb2.IndexedFrameIndex], None]) -> bytes:
    offset, length = struct.unpack(">QI", data[-28:-16])
    index = manifest_pb2.IndexedFrameIndex.FromString(data[offset : offset + length])
    mutate(index)
    raw = index.SerializeToString()
    footer = struct.pack(">QIQ", offset, len(raw), xxhash.xxh64_intdigest(raw)) + v3.FOOTER_MAGIC
    return data[:offset] + raw + footer


def test_file_sha256(tmp_path: Path) -> None:
    def wrong_hash(index: manifest_pb2.IndexedFrameIndex) -> None:
        entry = next(e for e in index.entries if e.name == TABLE)
        entry.raw_sha256 = bytes(32)

    path = tmp_path / "sha.c1z"
    path.write_bytes(_with_index(fixture_path(TEMPLATE).read_bytes(), wrong_hash))
    assert f"payload file '{TABLE}': checksum (SHA-256) mismatch" in _refused(path, tmp_path / "work")


def test_file_xxh64(tmp_path: Path) -> None:
    def wrong_hash(index: manifest_pb2.IndexedFrameIndex) -> None:
        next(e for e in index.entries if e.name == TABLE).raw_xxh64 ^= 1

    path = tmp_path / "xxh.c1z"
    path.write_bytes(_with_index(fixture_path(TEMPLATE).read_bytes(), wrong_hash))
    assert f"payload file '{TABLE}': checksum (XXH64) mismatch" in _refused(path, tmp_path / "work")


def test_manifest_checksum(tmp_path: Path) -> None:
    data = fixture_path(TEMPLATE).read_bytes()
    path = tmp_path / "manifest.c1z"
    path.write_bytes(data.replace(b"pebble3", b"pebble2", 1))  # still a valid engine name
    assert "manifest checksum (XXH64) mismatch" in _refused(path, tmp_path / "work")


def test_corrupt_frame(tmp_path: Path) -> None:
    data = bytearray(fixture_path(TEMPLATE).read_bytes())
    offset, length = struct.unpack(">QI", bytes(data[-28:-16]))
    index = manifest_pb2.IndexedFrameIndex.FromString(bytes(data[offset : offset + length]))
    entry = next(e for e in index.entries if e.name == "000007.sst")
    data[entry.frame_offset + entry.compressed_size // 2] ^= 0xFF
    path = tmp_path / "frame.c1z"
    path.write_bytes(bytes(data))
    assert "payload file '000007.sst'" in _refused(path, tmp_path / "work")


def test_block_crc(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def flip(files: Files) -> None:
        table = files[TABLE]
        _, (index_offset, _) = v3.table_handles(table)
        # The first data block starts at 0 and ends before the index: corrupt one of its bytes.
        files[TABLE] = v3.with_block_byte(table, (0, index_offset - 5), 10, table[10] ^ 0xFF, resign=False)

    message = _refused(_variant(tmp_path, template, flip), tmp_path / "work")
    assert f"table {TABLE}: data block at 0: checksum mismatch" in message


def test_footer_checksum(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def flip(files: Files) -> None:
        table = bytearray(files[TABLE])
        table[-61 + 41] ^= 0x01  # attributes, without re-signing the footer
        files[TABLE] = bytes(table)

    assert f"table {TABLE}: footer checksum mismatch" in _refused(
        _variant(tmp_path, template, flip), tmp_path / "work"
    )


def test_manifest_chunk_crc(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def flip(files: Files) -> None:
        name = v3.live_manifest_name(files)
        log = bytearray(files[name])
        log[10] ^= 0x01
        files[name] = bytes(log)

    assert "MANIFEST chunk at offset 0: checksum (CRC-32C) mismatch" in _refused(
        _variant(tmp_path, template, flip), tmp_path / "work"
    )


def test_missing_live_table(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    message = _refused(_variant(tmp_path, template, lambda f: f.pop(TABLE)), tmp_path / "work")
    assert f"live table {TABLE} is missing" in message


def test_no_manifest_marker(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def drop(files: Files) -> None:
        for name in [n for n in files if n.startswith("marker.manifest.")]:
            del files[name]

    assert "no manifest marker" in _refused(_variant(tmp_path, template, drop), tmp_path / "work")


def test_decode_budget(tmp_path: Path) -> None:
    limits = DecodeLimits(
        max_decoded_bytes=1024 * 1024, max_window_bytes=128 * 1024 * 1024, fcs_fail_fast=True
    )
    message = _refused(fixture_path(LARGER), tmp_path / "work", limits=limits)
    assert "exceeds the limit of 1048576 bytes" in message


# -- unsupported ------------------------------------------------------------------------------


def test_non_empty_wal(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def fill(files: Files) -> None:
        log = next(n for n in files if n.endswith(".log"))
        files[log] = b"\x00" * 7 + b"unreplayed write"

    message = _refused(_variant(tmp_path, template, fill), tmp_path / "work", C1ZUnsupportedFormat)
    assert "a non-empty write-ahead log (000020.log, 23 bytes)" in message


def test_blob_file(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def add(files: Files) -> None:
        files["000099.blob"] = b"blob"

    assert "blob files (000099.blob)" in _refused(
        _variant(tmp_path, template, add), tmp_path / "work", C1ZUnsupportedFormat
    )


@pytest.mark.parametrize("version", ["025", "018"])
def test_unknown_format_version_marker(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], version: str
) -> None:
    def rename(files: Files) -> None:
        old = next(n for n in files if n.startswith("marker.format-version."))
        files[old.rsplit(".", 1)[0] + "." + version] = files.pop(old)

    message = _refused(_variant(tmp_path, template, rename), tmp_path / "work", C1ZUnsupportedFormat)
    assert f"Pebble format major version {int(version)}" in message


@pytest.mark.parametrize("version", [8, 6])
def test_unknown_table_version(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], version: int
) -> None:
    def bump(files: Files) -> None:
        files[TABLE] = v3.with_footer_field(files[TABLE], 49, struct.pack("<I", version))

    message = _refused(_variant(tmp_path, template, bump), tmp_path / "work", C1ZUnsupportedFormat)
    assert f"table format version {version} in {TABLE}" in message


def test_rocksdb_table(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def foreign(files: Files) -> None:
        files[TABLE] = files[TABLE][:-8] + bytes.fromhex("f7cff485b741e288")

    assert f"a RocksDB table ({TABLE})" in _refused(
        _variant(tmp_path, template, foreign), tmp_path / "work", C1ZUnsupportedFormat
    )


def test_unknown_checksum_type(tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]) -> None:
    def change(files: Files) -> None:
        files[TABLE] = v3.with_footer_field(files[TABLE], 0, b"\x02")

    assert f"block checksum type 2 in {TABLE}" in _refused(
        _variant(tmp_path, template, change), tmp_path / "work", C1ZUnsupportedFormat
    )


@pytest.mark.parametrize(("byte", "name"), [(4, "lz4"), (8, "MinLZ"), (99, "unknown compression 99")])
def test_unsupported_compression(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], byte: int, name: str
) -> None:
    def change(files: Files) -> None:
        table = files[TABLE]
        _, index = v3.table_handles(table)
        files[TABLE] = v3.with_block_byte(table, index, index[1], byte, resign=True)

    message = _refused(_variant(tmp_path, template, change), tmp_path / "work", C1ZUnsupportedFormat)
    assert f"{name} block compression ({TABLE})" in message


def test_unknown_columnar_block_version(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]
) -> None:
    def change(files: Files) -> None:
        table = files[TABLE]
        _, index = v3.table_handles(table)  # uncompressed, no custom header: byte 0 is the version
        assert table[index[0] + index[1]] == 0
        files[TABLE] = v3.with_block_byte(table, index, 0, 2, resign=True)

    assert "columnar block version 2" in _refused(
        _variant(tmp_path, template, change), tmp_path / "work", C1ZUnsupportedFormat
    )


@pytest.mark.parametrize(
    ("edit", "found"),
    [
        (v3.encode_uvarint(200) + v3.encode_uvarint(1), "unknown MANIFEST tag 200"),
        (v3.encode_uvarint(104) + b"\x00\x01", "range keys (MANIFEST tag 104)"),
        (v3.encode_uvarint(107) + b"\x01\x01", "blob files (MANIFEST tag 107)"),
        (b"\x01" + v3.encode_uvarint(9) + b"other.cmp", "key comparer 'other.cmp'"),
    ],
)
def test_unknown_manifest_tags(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], edit: bytes, found: str
) -> None:
    def append(files: Files) -> None:
        name = v3.live_manifest_name(files)
        files[name] = files[name] + v3.manifest_chunk(edit)

    assert found in _refused(_variant(tmp_path, template, append), tmp_path / "work", C1ZUnsupportedFormat)


def _new_table_4(custom: bytes) -> bytes:
    key = b"\x03\x09" + struct.pack("<Q", (5 << 8) | 1)
    body = b"\x00" + v3.encode_uvarint(77) + v3.encode_uvarint(100)
    body += v3.encode_uvarint(len(key)) + key + v3.encode_uvarint(len(key)) + key + b"\x05\x05"
    return v3.encode_uvarint(103) + body + custom + b"\x01"


@pytest.mark.parametrize(
    ("custom", "found"),
    [
        (b"\x43\x01p", "synthetic key prefixes/suffixes (MANIFEST custom field 67)"),
        (b"\x41\x01", "table path ids (MANIFEST custom field 65)"),
        (b"\x45\x01\x01\x01\x01", "blob references (MANIFEST custom field 69)"),
        (b"\x50\x00", "unknown MANIFEST custom field 80"),
    ],
)
def test_refused_custom_fields(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], custom: bytes, found: str
) -> None:
    def append(files: Files) -> None:
        name = v3.live_manifest_name(files)
        files[name] = files[name] + v3.manifest_chunk(_new_table_4(custom))

    assert found in _refused(_variant(tmp_path, template, append), tmp_path / "work", C1ZUnsupportedFormat)


def test_skippable_custom_field_is_skipped(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]
) -> None:
    """Custom fields without bit 64 are skipped: the extra table (file 77) is then simply missing."""

    def append(files: Files) -> None:
        name = v3.live_manifest_name(files)
        files[name] = files[name] + v3.manifest_chunk(_new_table_4(b"\x02\x01\x01"))

    assert "live table 000077.sst is missing" in _refused(
        _variant(tmp_path, template, append), tmp_path / "work"
    )


def test_unknown_engine_and_encoding(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files]
) -> None:
    manifest, files = template
    for field, value, found in (
        ("engine", "rocksdb", "storage engine 'rocksdb'"),
        ("payload_encoding", 3, "payload encoding 3"),
    ):
        changed = manifest_pb2.C1ZManifestV3()
        changed.CopyFrom(manifest)
        setattr(changed, field, value)
        path = v3.write(tmp_path / f"{field}.c1z", changed, files)
        assert found in _refused(path, tmp_path / "work", C1ZUnsupportedFormat)


# -- the other payload encodings ---------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["tar", "tar-zstd"])
def test_tar_payloads_open(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], compressed: bool
) -> None:
    manifest, files = template
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    payload = buffer.getvalue()
    encoding = manifest_pb2.PAYLOAD_ENCODING_TAR
    if compressed:
        payload = zstandard.ZstdCompressor().compress(payload)
        encoding = manifest_pb2.PAYLOAD_ENCODING_TAR_ZSTD
    changed = manifest_pb2.C1ZManifestV3()
    changed.CopyFrom(manifest)
    changed.payload_encoding = encoding
    body = changed.SerializeToString()
    path = tmp_path / "tar.c1z"
    path.write_bytes(v3.MAGIC + struct.pack(">I", len(body)) + body + payload)
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        counts = reader.counts(reader.pick_sync().sync_id)
    assert (counts.resource_types, counts.resources, counts.entitlements, counts.grants) == (4, 15, 11, 40)
    path.write_bytes(path.read_bytes()[: -len(payload) // 2])
    message = _refused(path, tmp_path / "work")
    assert "payload is not a valid tar stream" in message


def test_an_unwritable_scratch_directory_is_one_line(tmp_path: Path) -> None:
    from baton_cli.c1z.v3 import V3File

    not_a_directory = tmp_path / "scratch"
    not_a_directory.write_bytes(b"")  # unpacking into it fails as a full or read-only disk would
    with pytest.raises(C1ZError, match=r"cannot unpack c1z file .*file-template-sdk-v0\.25\.0-pebble\.c1z: "):
        V3File.open(fixture_path(TEMPLATE), not_a_directory)


@pytest.mark.parametrize("name", ["../escape.sst", "/abs/000021.sst", "a/../../b", "", "x\\\\y"])
def test_payload_names_cannot_leave_the_work_directory(
    tmp_path: Path, template: tuple[manifest_pb2.C1ZManifestV3, Files], name: str
) -> None:
    manifest, files = template
    indexed = v3.write(tmp_path / "indexed.c1z", manifest, {**files, name: b"x"})
    assert "is not a plain relative path" in _refused(indexed, tmp_path / "work")

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in [*sorted(files), name]:
            info = tarfile.TarInfo(entry)
            body = files.get(entry, b"x")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    changed = manifest_pb2.C1ZManifestV3()
    changed.CopyFrom(manifest)
    changed.payload_encoding = manifest_pb2.PAYLOAD_ENCODING_TAR
    body = changed.SerializeToString()
    tarred = tmp_path / "tar.c1z"
    tarred.write_bytes(v3.MAGIC + struct.pack(">I", len(body)) + body + buffer.getvalue())
    if name:  # tar cannot hold an empty name
        assert "is not a plain relative path" in _refused(tarred, tmp_path / "work")
    assert not (tmp_path / "escape.sst").exists() and not Path("/abs").exists()
