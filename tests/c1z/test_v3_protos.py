"""Our c1.storage.v3 and c1.c1z.v3 protos against their authorities (wire.md does not tabulate them).

* Records: the FileDescriptorSet every v3 c1z carries in its manifest is upstream's own
  compiled records.proto/refs.proto; each of our messages, fields and enums must match it.
* Envelope: c1z.md §11 lists the manifest, index and summary fields by name and number.
"""

from __future__ import annotations

import re
import struct

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor

from baton_cli.pb.c1.c1z.v3 import manifest_pb2
from baton_cli.pb.c1.storage.v3 import records_pb2, refs_pb2
from tests.external import fixture_path, require_shared

FDP = descriptor_pb2.FieldDescriptorProto
SAMPLES = ("file-template-sdk-v0.25.0-pebble.c1z", "pebble-unexpanded-sdk-test.c1z")


def _embedded(name: str) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    data = fixture_path(name).read_bytes()
    (length,) = struct.unpack(">I", data[5:9])
    manifest = manifest_pb2.C1ZManifestV3.FromString(data[9 : 9 + length])
    return {f.name: f for f in manifest.descriptors.file}


def _ours(fd: FileDescriptor) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    fd.CopyToProto(proto)
    return proto


def _fields(message: descriptor_pb2.DescriptorProto) -> dict[str, tuple[object, ...]]:
    return {f.name: (f.number, f.type, f.type_name, f.label, f.proto3_optional) for f in message.field}


def _messages(
    messages: list[descriptor_pb2.DescriptorProto], prefix: str = ""
) -> dict[str, descriptor_pb2.DescriptorProto]:
    out = {}
    for m in messages:
        out[prefix + m.name] = m
        out.update(_messages(list(m.nested_type), f"{prefix}{m.name}."))
    return out


def _enums(proto: descriptor_pb2.FileDescriptorProto) -> dict[str, list[tuple[str, int]]]:
    out = {e.name: [(v.name, v.number) for v in e.value] for e in proto.enum_type}
    for name, m in _messages(list(proto.message_type)).items():
        out.update({f"{name}.{e.name}": [(v.name, v.number) for v in e.value] for e in m.enum_type})
    return out


@pytest.mark.parametrize("module", [records_pb2, refs_pb2], ids=["records", "refs"])
def test_records_match_the_descriptors_upstream_embeds(module: object) -> None:
    """The newest sample (SDK v0.25.0, pebble3) carries the schema we follow: all of it, exactly."""
    ours = _ours(module.DESCRIPTOR)  # type: ignore[attr-defined]
    theirs = _embedded(SAMPLES[0])[ours.name]
    assert ours.package == theirs.package == "c1.storage.v3"
    our_messages = _messages(list(ours.message_type))
    their_messages = _messages(list(theirs.message_type))
    assert our_messages.keys() == their_messages.keys()
    for name, message in our_messages.items():
        assert _fields(message) == _fields(their_messages[name]), name
        assert message.options.map_entry == their_messages[name].options.map_entry, name
    assert _enums(ours) == _enums(theirs)


@pytest.mark.parametrize("module", [records_pb2, refs_pb2], ids=["records", "refs"])
def test_older_sample_schema_is_a_subset_of_ours(module: object) -> None:
    """The pebble2 sample's older schema: every field it has, we read the same way."""
    ours = _messages(list(_ours(module.DESCRIPTOR).message_type))  # type: ignore[attr-defined]
    theirs = _messages(list(_embedded(SAMPLES[1])[module.DESCRIPTOR.name].message_type))  # type: ignore[attr-defined]
    assert theirs.keys() <= ours.keys()
    for name, message in theirs.items():
        assert _fields(message).items() <= _fields(ours[name]).items(), name


def test_the_comparison_notices_a_changed_field() -> None:
    theirs = _embedded(SAMPLES[0])["c1/storage/v3/records.proto"]
    grant = _messages(list(theirs.message_type))["GrantRecord"]
    changed = descriptor_pb2.DescriptorProto()
    changed.CopyFrom(grant)
    changed.field[0].number += 100
    assert _fields(changed) != _fields(grant)


def _c1z_md_fields() -> dict[str, dict[str, int]]:
    """Message name -> {field: number} from c1z.md §11's table and ``Name{field=N, ...}`` facts."""
    text = require_shared("spec/c1z.md").read_text()
    section = text[text.index("## 11.") : text.index("## 12.")]
    out: dict[str, dict[str, int]] = {"C1ZManifestV3": {}}
    for field, number in re.findall(r"^\| (\w+) \((\d+)\)", section, re.MULTILINE):
        out["C1ZManifestV3"][field] = int(number)
    for field, number in re.findall(r"(\w+) \((\d+): UNSPECIFIED", section):
        out["C1ZManifestV3"][field] = int(number)
    for name, body in re.findall(r"`?(\w+)\{([^}]*)\}", section):
        out.setdefault(name, {}).update({f: int(n) for f, n in re.findall(r"(\w+)=(\d+)", body)})
    return out


def _enum_values(section_text: str, prefix: str) -> dict[str, int]:
    return {f"{prefix}_{n}": int(v) for n, v in re.findall(r"([A-Z][A-Z0-9_]+)=(\d+)", section_text)}


def test_envelope_messages_match_c1z_md() -> None:
    spec = _c1z_md_fields()
    for message in (
        manifest_pb2.C1ZManifestV3,
        manifest_pb2.IndexedFrameIndex,
        manifest_pb2.IndexedFrameEntry,
        manifest_pb2.SyncRunSummary,
    ):
        desc: Descriptor = message.DESCRIPTOR
        ours = {f.name: f.number for f in desc.fields}
        documented = spec[desc.name]
        # We declare only what a reader uses; each one must be in the spec under its number.
        assert ours.items() <= documented.items(), desc.name
    assert {"engine", "payload_encoding", "descriptors", "sync_runs"} <= set(
        f.name for f in manifest_pb2.C1ZManifestV3.DESCRIPTOR.fields
    )


def test_envelope_enums_match_c1z_md() -> None:
    text = require_shared("spec/c1z.md").read_text()
    section = text[text.index("## 11.") : text.index("## 12.")]
    payload_row = next(line for line in section.splitlines() if line.startswith("| payload_encoding (4)"))
    id_format = section[section.index("pebble_id_index_format (42:") :].split(")", 1)[0]
    expected: dict[str, dict[str, int]] = {
        "PayloadEncoding": _enum_values(
            payload_row.split("`PayloadEncoding`:")[1].split("(")[0], "PAYLOAD_ENCODING"
        ),
        "PebbleIdIndexFormat": _enum_values(id_format, "PEBBLE_ID_INDEX_FORMAT"),
    }
    for name, values in expected.items():
        enum: EnumDescriptor = manifest_pb2.DESCRIPTOR.enum_types_by_name[name]
        assert {v.name: v.number for v in enum.values} == values, name


def test_sync_type_enum_matches_c1z_v3_md() -> None:
    text = require_shared("spec/c1z-v3.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| SyncRunRecord |"))
    documented = dict(re.findall(r"(\d+) (\w+)", row.split("type 2 (")[1].split(")")[0]))
    ours = {
        str(v.number): v.name.removeprefix("SYNC_TYPE_").lower()
        for v in records_pb2.SyncType.DESCRIPTOR.values
    }
    assert {k: ours[k] for k in documented} == documented
