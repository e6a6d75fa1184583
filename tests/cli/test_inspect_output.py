"""The output layer: plain and Rich tables, paging, streamed JSON envelopes, protobuf JSON."""

from __future__ import annotations

import io
import json
import pydoc
import re

import pytest
from google.protobuf import any_pb2

from baton_cli.cli.inspect_grants import GrantJson
from baton_cli.cli.inspect_output import ConsoleTable, JsonList, to_dict, to_json
from baton_cli.cli.inspect_syncs import timestamp_json
from baton_cli.pb.c1.connector.v2 import annotation_trait_pb2, grant_pb2, resource_pb2
from tests.cli.test_inspect_support import grant, member, resource

ADMINS = resource("group", "admins", "Admins")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_table_aligns_columns_and_streams() -> None:
    stream = io.StringIO()
    table = ConsoleTable(("ID", "Name"), stream=stream)
    table.add(("a", "Alpha"))
    table.add(("longer-id", "B"))
    table.close()
    assert stream.getvalue() == "ID         Name\na          Alpha\nlonger-id  B\n"

    big = io.StringIO()
    table = ConsoleTable(("N", "Text"), stream=big)
    for i in range(1000):
        table.add((str(i % 10), "x"))
    # Widths are fixed by the first 1000 rows, and those rows are already written out.
    assert big.getvalue().count("\n") == 1001
    table.add(("wider-than-before", "y"))
    table.close()
    assert big.getvalue().splitlines()[-1] == "wider-than-before  y"


def test_rich_table_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "40")
    paged: list[str] = []
    monkeypatch.setattr(pydoc, "pager", paged.append)
    stream = Terminal()
    table = ConsoleTable(("ID", "Name"), stream=stream, title="Things")
    table.add(("[bold]a", "Alpha"))  # cells are text, never Rich markup
    table.close()
    text = stream.getvalue()
    assert "Things" in text and "[bold]a" in text and "─" in text
    visible = re.sub(r"\x1b\[[0-9;]*m", "", text)  # a terminal gets colour codes
    assert max(len(line) for line in visible.splitlines()) <= 60
    assert paged == []


def test_rich_table_pages_when_taller_than_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINES", "20")
    paged: list[str] = []
    monkeypatch.setattr(pydoc, "pager", paged.append)
    stream = Terminal()
    table = ConsoleTable(("N",), stream=stream)
    for i in range(50):
        table.add((f"row-{i}",))
    table.close()
    assert len(paged) == 1 and "row-49" in paged[0]
    assert stream.getvalue() == ""


def test_json_list_envelope_is_valid_when_empty_or_full() -> None:
    stream = io.StringIO()
    JsonList(stream, "grants").close()
    assert json.loads(stream.getvalue()) == {"grants": []}
    stream = io.StringIO()
    out = JsonList(stream, "access", {"principal": {"id": 1}})
    out.add('{"a":1}')
    out.add('{"a":2}')
    out.close()
    assert json.loads(stream.getvalue()) == {"principal": {"id": 1}, "access": [{"a": 1}, {"a": 2}]}
    assert stream.getvalue().count("\n") == 4  # one element per line: greppable, diffable


def test_protobuf_json_uses_camel_case_and_renders_annotations() -> None:
    user = resource("user", "alice", "Alice")
    user.annotations.add().Pack(annotation_trait_pb2.UserTrait(login="alice"))
    body = to_dict(user)
    assert body["id"] == {"resourceType": "user", "resource": "alice"}
    assert body["displayName"] == "Alice"
    assert body["annotations"][0]["@type"] == "type.googleapis.com/c1.connector.v2.UserTrait"
    assert body["annotations"][0]["login"] == "alice"


def test_unknown_annotation_types_render_opaquely_instead_of_failing() -> None:
    user = resource("user", "alice")
    user.annotations.append(any_pb2.Any(type_url="type.googleapis.com/c1.future.v9.Thing", value=b"\x08\x01"))
    known = user.annotations.add()
    known.Pack(annotation_trait_pb2.UserTrait(login="alice"))
    body = to_dict(user)
    opaque = body["annotations"][0]["value"]
    assert opaque == {"unresolvedType": "type.googleapis.com/c1.future.v9.Thing", "base64": "CAE="}
    assert body["annotations"][1]["login"] == "alice"
    assert user.annotations[0].type_url.endswith("c1.future.v9.Thing")  # the input is left as it was


def test_grant_json_splices_shared_parts_exactly() -> None:
    renderer = GrantJson()
    for _ in range(2):  # second time from the cache
        g = grant(member(ADMINS), resource("user", "bob"), sources=["group:other:member"])
        g.annotations.add().Pack(annotation_trait_pb2.UserTrait(login="x"))
        expected = to_json(g)
        assert renderer.render(g) == expected
    empty = grant_pb2.Grant(id="g")
    assert renderer.render(grant_pb2.Grant(id="g")) == to_json(empty)
    assert renderer.render(grant_pb2.Grant()) == "{}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-17 16:31:25.057185", "2025-12-17T16:31:25.057185Z"),
        ("2026-11-28 03:50:32.431720123", "2026-11-28T03:50:32.431720123Z"),
        ("2026-11-28 03:51:14.23586799", "2026-11-28T03:51:14.235867990Z"),
        ("2026-01-02 03:04:05", "2026-01-02T03:04:05Z"),
        (None, None),
    ],
)
def test_stored_times_print_as_upstream_does(text: str | None, expected: str | None) -> None:
    assert timestamp_json(text) == expected


def test_resource_type_traits_print_as_enum_names() -> None:
    rt = resource_pb2.ResourceType(id="user", traits=[resource_pb2.ResourceType.TRAIT_USER])
    assert to_dict(rt) == {"id": "user", "traits": ["TRAIT_USER"]}


def _odd_encodings() -> list[bytes]:
    g = grant(member(ADMINS), resource("user", "bob"), sources=["group:other:member"])
    g.annotations.add().Pack(annotation_trait_pb2.UserTrait(login="x"))
    plain = g.SerializeToString(deterministic=True)
    unicode_id = grant_pb2.Grant(id="grant:ü:✓", principal=resource("user", "ü")).SerializeToString()
    entitlement_twice = plain + grant_pb2.Grant(entitlement=member(ADMINS)).SerializeToString()
    unknown_varint = plain + b"\x38\x01"  # field 7, varint: not a Grant field
    unknown_bytes = plain + b"\x4a\x02hi"  # field 9, length-delimited
    fields_reversed = (
        grant_pb2.Grant(id="late").SerializeToString()
        + grant_pb2.Grant(entitlement=member(ADMINS)).SerializeToString()
    )
    return [
        plain,
        unicode_id,
        entitlement_twice,
        unknown_varint,
        unknown_bytes,
        fields_reversed,
        b"",
        grant_pb2.Grant(id="only").SerializeToString(),
        grant_pb2.Grant(entitlement=grant_pb2.Grant().entitlement).SerializeToString(),
        b"\x0a\x00",  # an entitlement that is present and empty
    ]


@pytest.mark.parametrize("data", _odd_encodings())
def test_grant_json_from_stored_bytes_equals_the_message_json(data: bytes) -> None:
    renderer = GrantJson()
    expected = to_json(grant_pb2.Grant.FromString(data))
    assert renderer.render_stored(data) == expected
    assert renderer.render_stored(data) == expected  # from the caches


@pytest.mark.parametrize("name", ["small-expanded.c1z", "file-template-sdk-v0.25.0.c1z"])
def test_grant_json_from_stored_bytes_matches_on_upstream_files(name: str) -> None:
    """Go-written grant blobs, expanded ones (sources, annotations) included, render as the messages do."""
    from baton_cli.c1z import C1ZReader
    from baton_cli.c1z.inspect_queries import InspectQueries
    from tests.external import fixture_path

    renderer = GrantJson()
    with C1ZReader.open(fixture_path(name)) as reader:
        sync = reader.pick_sync()
        checked = 0
        for record in InspectQueries(reader).grants(sync.sync_id):  # the stored bytes, as Go wrote them
            expected = to_json(grant_pb2.Grant.FromString(record.grant))
            assert renderer.render_stored(record.grant) == expected
            checked += 1
    assert checked >= 40
