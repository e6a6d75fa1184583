"""Check the generated protobuf descriptors against the tables of wire.md.

wire.md (``/work/shared/spec/wire.md`` relative to the repository's parent) is the
authoritative, mechanically produced tabulation of the upstream ``.proto`` files.
This module parses it with its own small parser (nothing from the project is
imported except the generated ``*_pb2`` modules themselves) and compares every
message, enum and service of ``baton_cli.pb`` with it:

* messages: field names, numbers, types (scalar name, full message/enum name,
  ``map<K, V>``), labels (singular / repeated / map / optional) and oneof names;
* enums: value names and numbers;
* services: methods, full gRPC paths, request/response types, streaming kind;
* coverage: everything tabulated for a file we compile exists, nothing we define
  is missing from wire.md, and each definition lives in the same file.

Mismatch lines read ``<full.name>.<field>: <aspect> <ours> != <wire.md> (wire.md)``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    ServiceDescriptor,
)

from tests.external import require_shared, shared_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
WIRE_MD = shared_dir() / "spec" / "wire.md"
PB_PACKAGE = "baton_cli.pb"

# Files tabulated in wire.md that we deliberately do not compile, with the reason.
EXCLUDED_FILES: dict[str, str] = {
    "c1/connector/v2/config.proto": "needs protoc-gen-validate's validate.StringRules as a data type",
}

# Files wire.md does not tabulate because subprocess.md §1 specifies them (the child-process
# launch messages); tests/transport/test_child_protos.py checks them against that table.
SUBPROCESS_MD_FILES = frozenset(
    {
        "c1/connector_wrapper/v1/connector_wrapper.proto",
        "c1/ratelimit/v1/ratelimit.proto",
        "c1/utls/v1/tls.proto",
    }
)

# Files wire.md does not tabulate because c1z-v3.md and c1z.md §11 specify them (the v3 c1z
# envelope and records), compiled and checked against those instead.
_V3_RECORDS = "tests/c1z/test_v3_protos.py, against the descriptors upstream embeds in each v3 c1z"
CHECKED_ELSEWHERE: dict[str, str] = {
    "c1/storage/v3/records.proto": _V3_RECORDS,
    "c1/storage/v3/refs.proto": _V3_RECORDS,
    "c1/c1z/v3/manifest.proto": "tests/c1z/test_v3_protos.py, against c1z.md §11 and the v3 samples",
}

MISSING_WIRE_MD = "<wire.md missing>"


# --------------------------------------------------------------------------- wire.md model


@dataclasses.dataclass(frozen=True)
class SpecField:
    number: int
    name: str
    type: str
    label: str  # singular | repeated | map | optional
    oneof: str  # "" when not in a (real) oneof


@dataclasses.dataclass(frozen=True)
class SpecMessage:
    full_name: str
    file: str
    fields: tuple[SpecField, ...]


@dataclasses.dataclass(frozen=True)
class SpecEnum:
    full_name: str
    file: str
    values: tuple[tuple[str, int], ...]


@dataclasses.dataclass(frozen=True)
class SpecMethod:
    name: str
    path: str
    request: str
    response: str
    kind: str  # unary | client streaming | server streaming | bidi streaming


@dataclasses.dataclass(frozen=True)
class SpecService:
    full_name: str
    file: str
    methods: tuple[SpecMethod, ...]


@dataclasses.dataclass(frozen=True)
class Spec:
    files: frozenset[str]
    messages: dict[str, SpecMessage]
    enums: dict[str, SpecEnum]
    services: dict[str, SpecService]


# --------------------------------------------------------------------------- wire.md parser

_FILE_RE = re.compile(r"^### File `([^`]+\.proto)`")
_HEADING_RE = re.compile(r"^(#{1,6}) ")
# A message heading may carry a parenthetical remark, e.g. "(message marked deprecated)".
_MESSAGE_RE = re.compile(r"^#{4,6} `([A-Za-z_][\w.]*)`(?: \([^)]*\))?\s*$")
_SERVICE_RE = re.compile(r"^#### Service `([A-Za-z_][\w.]*)`\s*$")
_ENUM_RE = re.compile(r"^Enum `([A-Za-z_][\w.]*)`:\s*$")
_NO_FIELDS = "_(no fields)_"
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")

_FIELD_HEADER = ["#", "field", "type", "label", "oneof", "notes / validation"]
_ENUM_HEADER = ["value", "number"]
_SERVICE_HEADER = ["rpc", "full gRPC method path", "request", "response", "kind"]
_LABELS = {
    "singular": "singular",
    "repeated": "repeated",
    "map": "map",
    "optional (explicit presence)": "optional",
}
_KINDS = {"unary", "client streaming", "server streaming", "bidi streaming"}


class WireSpecParseError(Exception):
    pass


def _cells(line: str) -> list[str]:
    inner = line.strip()
    assert inner.startswith("|") and inner.endswith("|"), line
    parts = _CELL_SPLIT_RE.split(inner[1:-1])
    return [p.strip().replace("\\|", "|") for p in parts]


def _code(cell: str) -> str:
    if len(cell) >= 2 and cell.startswith("`") and cell.endswith("`"):
        return cell[1:-1]
    return cell


def parse_wire_md(text: str) -> Spec:
    """Parse the per-file message / enum / service tables of wire.md."""
    files: set[str] = set()
    messages: dict[str, SpecMessage] = {}
    enums: dict[str, SpecEnum] = {}
    services: dict[str, SpecService] = {}

    current_file: str | None = None
    # The object whose table is expected next: (kind, full_name, line number).
    pending: tuple[str, str, int] | None = None
    rows: list[list[str]] = []
    errors: list[str] = []

    def flush() -> None:
        nonlocal pending, rows
        if pending is None:
            return
        kind, name, lineno = pending
        assert current_file is not None
        if kind == "message":
            fields: list[SpecField] = []
            for r in rows:
                label = _LABELS.get(r[3])
                if label is None:
                    errors.append(f"line {lineno}: {name}: unknown label {r[3]!r}")
                    continue
                fields.append(SpecField(int(r[0]), _code(r[1]), _code(r[2]), label, _code(r[4])))
            if name in messages:
                errors.append(f"line {lineno}: message {name} tabulated twice")
            messages[name] = SpecMessage(name, current_file, tuple(fields))
        elif kind == "enum":
            if not rows:
                errors.append(f"line {lineno}: enum {name} has no values table")
            if name in enums:
                errors.append(f"line {lineno}: enum {name} tabulated twice")
            enums[name] = SpecEnum(name, current_file, tuple((_code(r[0]), int(r[1])) for r in rows))
        else:
            methods: list[SpecMethod] = []
            for r in rows:
                if r[4] not in _KINDS:
                    errors.append(f"line {lineno}: {name}: unknown rpc kind {r[4]!r}")
                methods.append(SpecMethod(_code(r[0]), _code(r[1]), _code(r[2]), _code(r[3]), r[4]))
            if not methods:
                errors.append(f"line {lineno}: service {name} has no methods table")
            if name in services:
                errors.append(f"line {lineno}: service {name} tabulated twice")
            services[name] = SpecService(name, current_file, tuple(methods))
        pending, rows = None, []

    lines = text.splitlines()
    i = 0
    table_seen = False  # whether the pending object already got its table / no-fields marker
    while i < len(lines):
        line = lines[i].rstrip()
        lineno = i + 1
        heading = _HEADING_RE.match(line)
        enum_m = _ENUM_RE.match(line)
        if heading or enum_m:
            if pending is not None and not table_seen:
                errors.append(f"line {pending[2]}: {pending[1]} has neither a table nor {_NO_FIELDS}")
            flush()
            table_seen = False
            file_m = _FILE_RE.match(line)
            if file_m:
                current_file = file_m.group(1)
                files.add(current_file)
            elif heading and len(heading.group(1)) <= 3:
                current_file = None  # a prose section between files
            elif current_file is not None:
                svc_m = _SERVICE_RE.match(line)
                msg_m = _MESSAGE_RE.match(line)
                if svc_m:
                    pending = ("service", svc_m.group(1), lineno)
                elif enum_m:
                    pending = ("enum", enum_m.group(1), lineno)
                elif msg_m:
                    pending = ("message", msg_m.group(1), lineno)
                else:
                    errors.append(f"line {lineno}: unrecognised heading inside a file section: {line!r}")
            i += 1
            continue

        if line.strip() == _NO_FIELDS and pending is not None:
            if pending[0] != "message" or table_seen:
                errors.append(f"line {lineno}: unexpected {_NO_FIELDS}")
            table_seen = True
            i += 1
            continue

        if line.startswith("|"):
            # Collect the whole table.
            table: list[str] = []
            while i < len(lines) and lines[i].startswith("|"):
                table.append(lines[i].rstrip())
                i += 1
            header = _cells(table[0])
            if pending is None or table_seen:
                if header in (_FIELD_HEADER, _ENUM_HEADER, _SERVICE_HEADER) and current_file is not None:
                    errors.append(f"line {lineno}: definition table without a heading")
                continue  # a prose table
            expected = {"message": _FIELD_HEADER, "enum": _ENUM_HEADER, "service": _SERVICE_HEADER}[
                pending[0]
            ]
            if header != expected:
                errors.append(f"line {lineno}: {pending[1]}: unexpected table header {header}")
                continue
            if not set(table[1].replace("|", "")) <= {"-", ":", " "}:
                errors.append(f"line {lineno}: {pending[1]}: missing separator row")
                continue
            for row_line in table[2:]:
                row = _cells(row_line)
                if len(row) != len(expected):
                    errors.append(f"line {lineno}: {pending[1]}: row with {len(row)} cells: {row_line!r}")
                    continue
                rows.append(row)
            table_seen = True
            continue
        i += 1

    if pending is not None and not table_seen:
        errors.append(f"line {pending[2]}: {pending[1]} has neither a table nor {_NO_FIELDS}")
    flush()
    if errors:
        raise WireSpecParseError("\n".join(errors))
    return Spec(frozenset(files), messages, enums, services)


@functools.cache
def _wire_text() -> str | None:
    try:
        return WIRE_MD.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@functools.cache
def _spec_or_none() -> Spec | None:
    text = _wire_text()
    return None if text is None else parse_wire_md(text)


def load_spec() -> Spec:
    spec = _spec_or_none()
    if spec is None:
        require_shared("spec/wire.md")  # skips, or fails under BATON_REQUIRE_EXTERNALS
        raise AssertionError(f"{WIRE_MD} appeared while the tests ran")
    return spec


# --------------------------------------------------------------------------- our descriptors


def _pb2_module_names() -> list[str]:
    pkg = importlib.import_module(PB_PACKAGE)
    names = [
        info.name
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{PB_PACKAGE}.")
        if info.name.endswith("_pb2")
    ]
    return sorted(names)


@dataclasses.dataclass(frozen=True)
class Ours:
    files: dict[str, FileDescriptor]
    messages: dict[str, Descriptor]
    enums: dict[str, EnumDescriptor]
    services: dict[str, ServiceDescriptor]


def _walk_messages(desc: Descriptor) -> Iterator[Descriptor]:
    yield desc
    for nested in desc.nested_types:
        yield from _walk_messages(nested)


@functools.cache
def load_ours() -> Ours:
    files: dict[str, FileDescriptor] = {}
    messages: dict[str, Descriptor] = {}
    enums: dict[str, EnumDescriptor] = {}
    services: dict[str, ServiceDescriptor] = {}
    for name in _pb2_module_names():
        module: ModuleType = importlib.import_module(name)
        fd: FileDescriptor = module.DESCRIPTOR
        if fd.name in SUBPROCESS_MD_FILES or fd.name in CHECKED_ELSEWHERE:
            continue
        files[fd.name] = fd
        for top in fd.message_types_by_name.values():
            for msg in _walk_messages(top):
                if msg.GetOptions().map_entry:
                    continue  # synthesized by protoc for map<K, V>; wire.md shows the map field instead
                messages[msg.full_name] = msg
                for enum in msg.enum_types:
                    enums[enum.full_name] = enum
        for enum in fd.enum_types_by_name.values():
            enums[enum.full_name] = enum
        for svc in fd.services_by_name.values():
            services[svc.full_name] = svc
    return Ours(files, messages, enums, services)


_SCALAR_NAMES: dict[int, str] = {
    getattr(FieldDescriptor, attr): attr.removeprefix("TYPE_").lower()
    for attr in dir(FieldDescriptor)
    if attr.startswith("TYPE_") and attr not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")
}


def _type_name(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        return str(field.message_type.full_name)
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return str(field.enum_type.full_name)
    return _SCALAR_NAMES.get(field.type, f"<type {field.type}>")


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The synthesized entry message when `field` is a map<K, V>, else None."""
    entry = field.message_type
    if field.is_repeated and entry is not None and entry.GetOptions().map_entry:
        return entry
    return None


def describe_message(desc: Descriptor) -> dict[str, SpecField]:
    """Our message, in wire.md's vocabulary."""
    proto = descriptor_pb2.DescriptorProto()
    desc.CopyToProto(proto)
    proto3_optional = {f.name for f in proto.field if f.proto3_optional}
    out: dict[str, SpecField] = {}
    for field in desc.fields:
        oneof = field.containing_oneof
        synthetic = field.name in proto3_optional
        if synthetic:
            # A proto3 `optional` lives alone in a synthetic oneof named `_<field>`.
            assert oneof is not None and oneof.name == f"_{field.name}" and len(oneof.fields) == 1, field
            assert field.has_presence, field
        entry = _map_entry(field)
        if entry is not None:
            key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
            type_name, label = f"map<{_type_name(key)}, {_type_name(value)}>", "map"
        else:
            type_name = _type_name(field)
            if field.is_repeated:
                label = "repeated"
            elif synthetic:
                label = "optional"
            elif field.is_required:
                label = "required"
            else:
                label = "singular"
        real_oneof = "" if oneof is None or synthetic else str(oneof.name)
        out[field.name] = SpecField(field.number, field.name, type_name, label, real_oneof)
    return out


# --------------------------------------------------------------------------- comparisons


def compare_message(spec_msg: SpecMessage, desc: Descriptor) -> list[str]:
    """One line per difference between a wire.md message table and our descriptor."""
    name = spec_msg.full_name
    problems: list[str] = []
    if desc.full_name != name:
        problems.append(f"{name}: compared with descriptor {desc.full_name}")
    if desc.file.name != spec_msg.file:
        problems.append(f"{name}: defined in {desc.file.name} != {spec_msg.file} (wire.md)")
    ours = describe_message(desc)
    theirs: dict[str, SpecField] = {}
    for f in spec_msg.fields:
        if f.name in theirs:
            problems.append(f"{name}.{f.name}: tabulated twice in wire.md")
        theirs[f.name] = f
    for fname in sorted(theirs.keys() - ours.keys(), key=lambda n: theirs[n].number):
        f = theirs[fname]
        problems.append(f"{name}.{fname}: missing (wire.md: #{f.number} {f.label} {f.type})")
    for fname in sorted(ours.keys() - theirs.keys(), key=lambda n: ours[n].number):
        f = ours[fname]
        problems.append(f"{name}.{fname}: not in wire.md (ours: #{f.number} {f.label} {f.type})")
    for fname in sorted(ours.keys() & theirs.keys(), key=lambda n: theirs[n].number):
        o, t = ours[fname], theirs[fname]
        for aspect in ("number", "type", "label", "oneof"):
            ov, tv = getattr(o, aspect), getattr(t, aspect)
            if ov != tv:
                problems.append(f"{name}.{fname}: {aspect} {ov or '(none)'} != {tv or '(none)'} (wire.md)")
    return problems


def compare_enum(spec_enum: SpecEnum, desc: EnumDescriptor) -> list[str]:
    name = spec_enum.full_name
    problems: list[str] = []
    if desc.file.name != spec_enum.file:
        problems.append(f"{name}: defined in {desc.file.name} != {spec_enum.file} (wire.md)")
    theirs = dict(spec_enum.values)
    if len(theirs) != len(spec_enum.values):
        problems.append(f"{name}: duplicate value names in wire.md")
    ours = {v.name: v.number for v in desc.values}
    for vname in sorted(theirs.keys() - ours.keys(), key=theirs.__getitem__):
        problems.append(f"{name}.{vname}: missing (wire.md: {theirs[vname]})")
    for vname in sorted(ours.keys() - theirs.keys(), key=ours.__getitem__):
        problems.append(f"{name}.{vname}: not in wire.md (ours: {ours[vname]})")
    for vname in sorted(ours.keys() & theirs.keys(), key=theirs.__getitem__):
        if ours[vname] != theirs[vname]:
            problems.append(f"{name}.{vname}: number {ours[vname]} != {theirs[vname]} (wire.md)")
    return problems


def _kind(client_streaming: bool, server_streaming: bool) -> str:
    return {
        (False, False): "unary",
        (True, False): "client streaming",
        (False, True): "server streaming",
        (True, True): "bidi streaming",
    }[(client_streaming, server_streaming)]


def compare_service(spec_svc: SpecService, desc: ServiceDescriptor) -> list[str]:
    name = spec_svc.full_name
    problems: list[str] = []
    if desc.file.name != spec_svc.file:
        problems.append(f"{name}: defined in {desc.file.name} != {spec_svc.file} (wire.md)")
    theirs = {m.name: m for m in spec_svc.methods}
    ours = {m.name: m for m in desc.methods}
    for mname in sorted(theirs.keys() - ours.keys()):
        problems.append(f"{name}.{mname}: missing rpc (wire.md: {theirs[mname].path})")
    for mname in sorted(ours.keys() - theirs.keys()):
        problems.append(f"{name}.{mname}: rpc not in wire.md")
    for mname in sorted(ours.keys() & theirs.keys()):
        m, t = ours[mname], theirs[mname]
        got = {
            "path": f"/{desc.full_name}/{m.name}",
            "request": m.input_type.full_name,
            "response": m.output_type.full_name,
            "kind": _kind(m.client_streaming, m.server_streaming),
        }
        for aspect, ov in got.items():
            tv = getattr(t, aspect)
            if ov != tv:
                problems.append(f"{name}.{mname}: {aspect} {ov} != {tv} (wire.md)")
    return problems


def _report(problems: list[str]) -> str:
    return f"{len(problems)} mismatch(es) between baton_cli.pb and wire.md:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- parametrization


def _checked_names(kind: str) -> list[str]:
    """Union of what wire.md tabulates for compiled files and what we define."""
    spec = _spec_or_none()
    if spec is None:
        return [MISSING_WIRE_MD]
    ours = load_ours()
    spec_items: dict[str, Any] = getattr(spec, kind)
    our_items: dict[str, Any] = getattr(ours, kind)
    tabulated = {n for n, item in spec_items.items() if item.file in ours.files}
    return sorted(tabulated | our_items.keys())


def _lookup(kind: str, name: str) -> tuple[Any, Any]:
    spec = load_spec()
    ours = load_ours()
    spec_item = getattr(spec, kind).get(name)
    our_item = getattr(ours, kind).get(name)
    if spec_item is None:
        pytest.fail(
            f"{name}: defined by us ({our_item.file.name}) but not in wire.md (invented?)", pytrace=False
        )
    if our_item is None:
        pytest.fail(
            f"{name}: tabulated in wire.md ({spec_item.file}) but missing from baton_cli.pb", pytrace=False
        )
    return spec_item, our_item


# --------------------------------------------------------------------------- tests


def test_wire_md_present_and_parses() -> None:
    spec = load_spec()
    text = _wire_text()
    assert text is not None
    # Parser self-check against plain line counts, so a parser bug cannot silently drop definitions.
    lines = text.splitlines()
    n_files = sum(1 for ln in lines if _FILE_RE.match(ln))
    n_services = sum(1 for ln in lines if _SERVICE_RE.match(ln))
    n_enums = sum(1 for ln in lines if _ENUM_RE.match(ln))
    n_messages = sum(1 for ln in lines if re.match(r"^#{4,6} `[\w.]+`", ln))
    n_field_rows = sum(1 for ln in lines if re.match(r"^\| \d+ \| `\w+` \| `", ln))
    n_rpc_rows = sum(1 for ln in lines if re.match(r"^\| `\w+` \| `/[\w.]+/\w+` \|", ln))
    assert len(spec.files) == n_files
    assert len(spec.services) == n_services
    assert len(spec.enums) == n_enums
    assert len(spec.messages) == n_messages
    assert sum(len(m.fields) for m in spec.messages.values()) == n_field_rows
    # Section 1.1 repeats the BatonService rows in a prose table; only per-file tables are parsed.
    quick_ref = sum(1 for ln in lines if re.match(r"^\| \w+ \| `/[\w.]+/\w+` \|", ln))
    assert sum(len(s.methods) for s in spec.services.values()) == n_rpc_rows
    assert quick_ref == len(spec.services["c1.connectorapi.baton.v1.BatonService"].methods)
    # Every definition's full name starts with its file's package.
    packages = dict(re.findall(r"^### File `([^`]+)` \(package `([\w.]+)`\)", text, re.MULTILINE))
    for items in (spec.messages, spec.enums, spec.services):
        for full_name, item in items.items():
            assert full_name.startswith(packages[item.file] + "."), (full_name, item.file)


def test_parser_handles_escaped_pipes() -> None:
    spec = load_spec()
    task_id = {f.name: f for f in spec.messages["c1.connectorapi.baton.v1.BatonServiceHelloRequest"].fields}
    assert task_id["task_id"] == SpecField(2, "task_id", "string", "singular", "")


@pytest.mark.parametrize("full_name", _checked_names("messages"))
def test_message_matches_wire_md(full_name: str) -> None:
    spec_msg, desc = _lookup("messages", full_name)
    problems = compare_message(spec_msg, desc)
    assert not problems, _report(problems)


@pytest.mark.parametrize("full_name", _checked_names("enums"))
def test_enum_matches_wire_md(full_name: str) -> None:
    spec_enum, desc = _lookup("enums", full_name)
    problems = compare_enum(spec_enum, desc)
    assert not problems, _report(problems)


@pytest.mark.parametrize("full_name", _checked_names("services"))
def test_service_matches_wire_md(full_name: str) -> None:
    spec_svc, desc = _lookup("services", full_name)
    problems = compare_service(spec_svc, desc)
    assert not problems, _report(problems)


def test_compiled_files_match_wire_md() -> None:
    spec = load_spec()
    ours = load_ours()
    stale = EXCLUDED_FILES.keys() - spec.files
    assert not stale, f"EXCLUDED_FILES names files wire.md does not tabulate: {sorted(stale)}"
    compiled_excluded = EXCLUDED_FILES.keys() & ours.files.keys()
    assert not compiled_excluded, f"files listed as deliberately excluded are compiled: {compiled_excluded}"
    not_in_spec = sorted(ours.files.keys() - spec.files)
    missing = sorted(spec.files - EXCLUDED_FILES.keys() - ours.files.keys())
    assert not not_in_spec and not missing, (
        f"compiled files not in wire.md: {not_in_spec}\nwire.md files not compiled: {missing}"
    )


def test_files_checked_elsewhere_are_compiled_and_not_in_wire_md() -> None:
    spec = load_spec()
    compiled = {importlib.import_module(n).DESCRIPTOR.name for n in _pb2_module_names()}
    assert CHECKED_ELSEWHERE.keys() <= compiled
    assert not CHECKED_ELSEWHERE.keys() & spec.files, "wire.md tabulates them now: check them here"


def test_coverage_counts() -> None:
    """Every definition tabulated for a compiled file is checked, and nothing else exists."""
    spec = load_spec()
    ours = load_ours()
    problems: list[str] = []
    counts: dict[str, int] = {}
    for kind in ("messages", "enums", "services"):
        spec_items: dict[str, Any] = getattr(spec, kind)
        our_items: dict[str, Any] = getattr(ours, kind)
        expected = {n for n, item in spec_items.items() if item.file not in EXCLUDED_FILES}
        checked = set(_checked_names(kind))
        counts[kind] = len(expected)
        problems += [
            f"{kind}: {n} tabulated in wire.md but not defined by us"
            for n in sorted(expected - set(our_items))
        ]
        problems += [
            f"{kind}: {n} defined by us but not in wire.md" for n in sorted(set(our_items) - set(spec_items))
        ]
        problems += [f"{kind}: {n} never checked" for n in sorted(expected - checked)]
    assert not problems, _report(problems)
    # Numbers derived from wire.md alone (all tabulated definitions minus the excluded files);
    # the floors guard against a parser that silently finds nothing.
    assert counts["messages"] > 300, counts
    assert counts["enums"] > 20, counts
    assert counts["services"] > 15, counts
    excluded_messages = sum(1 for m in spec.messages.values() if m.file in EXCLUDED_FILES)
    assert counts["messages"] + excluded_messages == len(spec.messages)
    print(f"wire.md coverage: {counts} (excluded files: {sorted(EXCLUDED_FILES)})")


# --------------------------------------------------------------------------- the checks can fail


def _mutated(spec_msg: SpecMessage, field_name: str, **changes: Any) -> SpecMessage:
    fields = tuple(dataclasses.replace(f, **changes) if f.name == field_name else f for f in spec_msg.fields)
    assert fields != spec_msg.fields, "mutation did not change the table"
    return dataclasses.replace(spec_msg, fields=fields)


def _first_field(spec: Spec, label: str) -> tuple[SpecMessage, SpecField]:
    ours = load_ours()
    for msg in sorted(spec.messages.values(), key=lambda m: m.full_name):
        if msg.full_name not in ours.messages:
            continue
        for f in msg.fields:
            if f.label == label:
                return msg, f
    raise AssertionError(f"no {label} field in wire.md")


def test_comparison_detects_mutated_number_type_label_oneof() -> None:
    spec = load_spec()
    grant = spec.messages["c1.connector.v2.Grant"]
    row = next(f for f in grant.fields if f.name == "sources")
    desc = load_ours().messages[grant.full_name]
    ours = describe_message(desc)["sources"]
    prefix = "c1.connector.v2.Grant.sources"
    bumped = max(row.number, ours.number) + 1
    assert f"{prefix}: number {ours.number} != {bumped} (wire.md)" in compare_message(
        _mutated(grant, "sources", number=bumped), desc
    )
    assert f"{prefix}: type {ours.type} != c1.connector.v2.Grant (wire.md)" in compare_message(
        _mutated(grant, "sources", type="c1.connector.v2.Grant"), desc
    )
    assert f"{prefix}: label {ours.label} != repeated (wire.md)" in compare_message(
        _mutated(grant, "sources", label="repeated"), desc
    )
    assert f"{prefix}: label {ours.label} != optional (wire.md)" in compare_message(
        _mutated(grant, "sources", label="optional"), desc
    )
    assert f"{prefix}: oneof (none) != kind (wire.md)" in compare_message(
        _mutated(grant, "sources", oneof="kind"), desc
    )
    renamed = compare_message(_mutated(grant, "sources", name="source"), desc)
    assert any(p.startswith("c1.connector.v2.Grant.source: missing") for p in renamed), renamed
    assert any(p.startswith(f"{prefix}: not in wire.md") for p in renamed), renamed
    dropped = dataclasses.replace(grant, fields=tuple(f for f in grant.fields if f.name != "sources"))
    assert any(p.startswith(f"{prefix}: not in wire.md") for p in compare_message(dropped, desc))
    moved = dataclasses.replace(grant, file="c1/connector/v2/resource.proto")
    assert any("defined in" in p for p in compare_message(moved, desc))


def test_comparison_detects_mutated_map_optional_and_oneof_rows() -> None:
    spec = load_spec()
    ours = load_ours()
    msg, row = _first_field(spec, "map")
    desc = ours.messages[msg.full_name]
    bad_type = row.type.replace("map<string,", "map<int64,")
    assert bad_type != row.type
    got = compare_message(_mutated(msg, row.name, type=bad_type), desc)
    assert any(p.startswith(f"{msg.full_name}.{row.name}: type map<") for p in got), got
    got = compare_message(_mutated(msg, row.name, label="repeated"), desc)
    assert any(p.startswith(f"{msg.full_name}.{row.name}: label ") for p in got), got

    msg, row = _first_field(spec, "optional")
    desc = ours.messages[msg.full_name]
    got = compare_message(_mutated(msg, row.name, label="singular"), desc)
    assert any(p.startswith(f"{msg.full_name}.{row.name}: label ") for p in got), got

    task = spec.messages["c1.connectorapi.baton.v1.Task"]
    desc = ours.messages[task.full_name]
    got = compare_message(_mutated(task, "hello", oneof=""), desc)
    assert any(p.startswith(f"{task.full_name}.hello: oneof ") for p in got), got
    got = compare_message(_mutated(task, "hello", number=99), desc)
    assert any(p.startswith(f"{task.full_name}.hello: number ") for p in got), got


def test_comparison_detects_mutated_enum_and_service() -> None:
    spec = load_spec()
    ours = load_ours()
    status = spec.enums["c1.connectorapi.baton.v1.Task.Status"]
    desc = ours.enums[status.full_name]
    (first_name, first_number), *rest = status.values
    bumped = dataclasses.replace(status, values=((first_name, first_number + 7), *rest))
    assert any(p.startswith(f"{status.full_name}.{first_name}: number ") for p in compare_enum(bumped, desc))
    dropped = dataclasses.replace(status, values=tuple(rest))
    assert any("not in wire.md" in p for p in compare_enum(dropped, desc))

    svc = spec.services["c1.connectorapi.baton.v1.BatonService"]
    sdesc = ours.services[svc.full_name]
    upload = next(m for m in svc.methods if m.name == "UploadAsset")
    for aspect, value in (
        ("kind", "unary"),
        ("path", "/c1.connectorapi.baton.v1.BatonService/Upload"),
        ("request", "c1.connectorapi.baton.v1.BatonServiceHelloRequest"),
        ("response", "c1.connectorapi.baton.v1.BatonServiceHelloResponse"),
    ):
        changed = dataclasses.replace(upload, **{aspect: value})
        mutated = dataclasses.replace(
            svc, methods=tuple(changed if m.name == "UploadAsset" else m for m in svc.methods)
        )
        got = compare_service(mutated, sdesc)
        assert any(p.startswith(f"{svc.full_name}.UploadAsset: {aspect} ") for p in got), (aspect, got)


# --------------------------------------------------------------------------- no grpc for messages


def test_message_modules_import_without_grpc() -> None:
    script = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        pkg = importlib.import_module({PB_PACKAGE!r})
        names = [i.name for i in pkgutil.walk_packages(pkg.__path__, prefix={PB_PACKAGE + "."!r})
                 if i.name.endswith("_pb2")]
        assert names, "no _pb2 modules found"
        for name in names:
            importlib.import_module(name)
        leaked = sorted(m for m in sys.modules if m == "grpc" or m.startswith("grpc."))
        assert not leaked, f"importing message modules pulled in {{leaked}}"
        print(len(names))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == len(load_ours().files) + len(SUBPROCESS_MD_FILES) + len(
        CHECKED_ELSEWHERE
    )
