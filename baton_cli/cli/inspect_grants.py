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
from baton_cli.cli.inspect_output import console_table, json_list, to_json
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
    The output is what ``to_json(grant)`` gives, fields in the same order.
    """

    _EMBEDDED = ("entitlement", "principal")  # Grant fields 1 and 2: they lead the JSON object

    def __init__(self) -> None:
        self._cache: dict[str, Lru[bytes, str]] = {name: Lru() for name in self._EMBEDDED}

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


def write_json(session: Session, records: Iterable[GrantRecord]) -> None:
    # Grants share entitlements, resources and principals: each is rendered once per cache lifetime.
    entitlements: Lru[str, str] = Lru()
    resources: Lru[str, str] = Lru()
    principals: Lru[str, str] = Lru()
    grant_json = GrantJson()
    with json_list("grants") as out:
        for record in records:
            grant = grant_pb2.Grant.FromString(record.grant)
            ent = entitlements.get(record.entitlement_id, _json, entitlement_of, record, grant)
            res = resources.get(
                f"{record.resource_type_id}:{record.resource_id}", _json, resource_of, record, grant
            )
            who = principals.get(
                f"{record.principal_type_id}:{record.principal_id}", _json, principal_of, record, grant
            )
            out.add(
                element(
                    grant=grant_json.render(grant),
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


def _json(
    pick: Callable[[GrantRecord, grant_pb2.Grant], Message], record: GrantRecord, grant: grant_pb2.Grant
) -> str:
    return to_json(pick(record, grant))


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
