"""``baton grants``: who holds which entitlement, streamed row by row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated

import typer
from google.protobuf.message import Message

from baton_cli.c1z.inspect_queries import GrantFilter, GrantRecord
from baton_cli.cli.inspect_options import (
    DEFAULT_FILE,
    EntitlementOption,
    FileOption,
    OutputOption,
    ResourceOption,
    Session,
    SyncIdOption,
    TypeOption,
    open_session,
)
from baton_cli.cli.inspect_output import console_table, dumps, json_list, to_json
from baton_cli.cli.inspect_render import Lru, element, entitlement_name, name, via
from baton_cli.cli.options import OutputFormat
from baton_cli.errors import NotFoundError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

PrincipalOption = Annotated[
    str | None,
    typer.Option("--principal", "-p", help="Only grants to this principal: TYPE:ID (or a bare id)."),
]


def register(app: typer.Typer) -> None:
    app.command("grants")(grants)


def grants(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
    resource_type: TypeOption = None,
    resource: ResourceOption = None,
    entitlement: EntitlementOption = None,
    principal: PrincipalOption = None,
) -> None:
    """List grants, optionally filtered by resource, entitlement or principal."""
    with open_session(file, sync_id) as session:
        wanted = grant_filter(session, resource_type, resource, entitlement, principal)
        if principal is not None:
            require_principal(session, principal, wanted)
        records = session.queries.grants(session.sync_id, wanted)
        if output is OutputFormat.json:
            write_json(session, records)
        else:
            write_table(records)


def grant_filter(
    session: Session,
    resource_type: str | None,
    resource: str | None,
    entitlement: str | None,
    principal: str | None,
) -> GrantFilter:
    type_id = session.require_type(resource_type)
    resource_id = None
    if resource is not None:
        type_id, resource_id = session.split_ref(resource, resource_type)
    principal_type = principal_id = None
    if principal is not None:
        principal_type, principal_id = session.split_ref(principal, what="--principal")
    return GrantFilter(type_id, resource_id, entitlement, principal_type, principal_id)


def require_principal(session: Session, principal: str, wanted: GrantFilter) -> None:
    """A principal that is neither a resource nor holds any grant is an error, as for `access`."""
    if wanted.principal_type_id is None or wanted.principal_id is None:
        return
    if session.queries.resource(session.sync_id, wanted.principal_type_id, wanted.principal_id) is not None:
        return
    only_principal = GrantFilter(principal_type_id=wanted.principal_type_id, principal_id=wanted.principal_id)
    if next(iter(session.queries.grants(session.sync_id, only_principal)), None) is None:
        raise NotFoundError(f"principal {principal} not found in sync {session.sync_id}")


class GrantJson:
    """Protobuf JSON of grants, with the parts grants share rendered once.

    Converting a message to JSON is the slow step (pure Python, per field); a
    grant embeds its entitlement and principal, which repeat across thousands
    of grants, so those are rendered once per distinct bytes and spliced in.
    ``render_stored`` goes further: it splits the stored bytes into their
    top-level fields without decoding the grant, so a grant costs its id's JSON
    plus cache lookups. The output is what ``to_json(grant)`` gives, fields in
    the same order (MessageToDict writes fields in field-number order).
    """

    _EMBEDDED = ("entitlement", "principal")  # Grant fields 1 and 2: they lead the JSON object

    def __init__(self) -> None:
        self._cache: dict[str, Lru[bytes, str]] = {name: Lru() for name in self._EMBEDDED}
        self._tails: Lru[bytes, str] = Lru()  # fields 4 (annotations) and 5 (sources), by their bytes

    def render(self, grant: grant_pb2.Grant) -> str:
        """JSON of ``grant``, which is consumed (its embedded messages are cleared)."""
        parts = []
        for field in self._EMBEDDED:
            if grant.HasField(field):  # type: ignore[arg-type]
                sub = getattr(grant, field)
                key = sub.SerializeToString(deterministic=True)
                parts.append(f'"{field}":' + self._cache[field].get(key, to_json, sub))
                grant.ClearField(field)  # type: ignore[arg-type]
        rest = to_json(grant)
        if rest != "{}":
            parts.append(rest[1:-1])
        return "{" + ",".join(parts) + "}"

    def render_stored(self, data: bytes) -> str:
        """JSON of the serialized grant ``data``; unusual encodings go through ``render``."""
        fields = _length_delimited_fields(data)
        if fields is None:
            return self.render(grant_pb2.Grant.FromString(data))
        embedded: dict[int, bytes] = {}
        grant_id: bytes | None = None
        tail: list[bytes] = []
        for number, value, raw in fields:
            if number in (1, 2) and number not in embedded:
                embedded[number] = value
            elif number == 3 and grant_id is None:
                grant_id = value
            elif number >= 4:
                tail.append(raw)
            else:  # a singular field given twice merges: leave that to protobuf
                return self.render(grant_pb2.Grant.FromString(data))
        parts = []
        for number, field, message in ((1, "entitlement", _ENTITLEMENT), (2, "principal", _RESOURCE)):
            if number in embedded:
                value = embedded[number]
                parts.append(f'"{field}":' + self._cache[field].get(value, _json_of, message, value))
        if grant_id:
            parts.append('"id":' + dumps(grant_id.decode("utf-8")))
        if tail:
            rest = self._tails.get(b"".join(tail), _json_of, grant_pb2.Grant, b"".join(tail))
            if rest != "{}":
                parts.append(rest[1:-1])
        return "{" + ",".join(parts) + "}"


_ENTITLEMENT = entitlement_pb2.Entitlement
_RESOURCE = resource_pb2.Resource


def _json_of(message_type: type[Message], data: bytes) -> str:
    return to_json(message_type.FromString(data))


def _length_delimited_fields(data: bytes) -> list[tuple[int, bytes, bytes]] | None:
    """(field number, payload, raw field bytes) of each top-level field, if all are length-delimited.

    Every Grant field (1-5) is length-delimited; anything else (an unknown varint
    field, a malformed length) returns None and the caller decodes normally.
    """
    fields = []
    position, end = 0, len(data)
    while position < end:
        start = position
        tag, position = _varint(data, position)
        if tag is None or tag & 7 != 2:
            return None
        size, position = _varint(data, position)
        if size is None or position + size > end:
            return None
        fields.append((tag >> 3, data[position : position + size], data[start : position + size]))
        position += size
    return fields


def _varint(data: bytes, position: int) -> tuple[int | None, int]:
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
    return None, position


def write_json(session: Session, records: Iterable[GrantRecord]) -> None:
    # Grants share entitlements, resources and principals: each is rendered once per cache lifetime.
    entitlements: Lru[str, str] = Lru()
    resources: Lru[str, str] = Lru()
    principals: Lru[str, str] = Lru()
    grant_json = GrantJson()
    with json_list("grants") as out:
        for record in records:
            ent = entitlements.get(record.entitlement_id, _json, entitlement_of, record)
            res = resources.get(f"{record.resource_type_id}:{record.resource_id}", _json, resource_of, record)
            who = principals.get(
                f"{record.principal_type_id}:{record.principal_id}", _json, principal_of, record
            )
            out.add(
                element(
                    grant=grant_json.render_stored(record.grant),
                    entitlement=ent,
                    resource=res,
                    resourceType=session.type_json(record.resource_type_id),
                    principal=who,
                )
            )


def write_table(records: Iterable[GrantRecord]) -> None:
    with console_table(
        ("Resource Type", "Resource", "Entitlement", "Principal Type", "Principal", "Via")
    ) as table:
        for record in records:
            grant = grant_pb2.Grant.FromString(record.grant)
            table.add(
                (
                    record.resource_type_id,
                    name(resource_of(record, grant)),
                    entitlement_name(entitlement_of(record, grant)),
                    record.principal_type_id,
                    name(principal_of(record, grant)),
                    via(grant),
                )
            )


def _json(pick: Callable[[GrantRecord, grant_pb2.Grant], Message], record: GrantRecord) -> str:
    # Only a cache miss gets here: decoding the grant for the fallback costs nothing per row.
    return to_json(pick(record, grant_pb2.Grant.FromString(record.grant)))


# The stored rows are the full objects; a grant embeds only what the connector put in it.
def entitlement_of(record: GrantRecord, grant: grant_pb2.Grant) -> entitlement_pb2.Entitlement:
    if record.entitlement is not None:
        return entitlement_pb2.Entitlement.FromString(record.entitlement)
    return grant.entitlement


def resource_of(record: GrantRecord, grant: grant_pb2.Grant) -> resource_pb2.Resource:
    if record.resource is not None:
        return resource_pb2.Resource.FromString(record.resource)
    return grant.entitlement.resource


def principal_of(record: GrantRecord, grant: grant_pb2.Grant) -> resource_pb2.Resource:
    if record.principal is not None:
        return resource_pb2.Resource.FromString(record.principal)
    return grant.principal
