"""``baton access -p TYPE:ID``: everything one principal can do, and why.

A grant is *direct* when the connector reported it, and *expanded* when grant
expansion derived it: its ``sources`` map names the entitlements it came from
(the grant's own entitlement among them means it is also direct). For an
expanded grant we show the path: the entitlement the principal holds directly,
then each entitlement it unlocks, ending at the granted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from baton_cli.c1z.inspect_queries import GrantFilter, GrantRecord
from baton_cli.cli.inspect_grants import entitlement_of, resource_of
from baton_cli.cli.inspect_options import DEFAULT_FILE, FileOption, OutputOption, SyncIdOption, open_session
from baton_cli.cli.inspect_output import console_table, dumps, json_list, to_dict, to_json
from baton_cli.cli.inspect_render import element, entitlement_name, is_direct, name, sources_of
from baton_cli.cli.options import OutputFormat
from baton_cli.errors import NotFoundError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

RequiredPrincipal = Annotated[str, typer.Option("--principal", "-p", help="The principal, as TYPE:ID.")]


@dataclass(frozen=True, slots=True)
class Access:
    grant: grant_pb2.Grant
    entitlement: entitlement_pb2.Entitlement
    resource: resource_pb2.Resource
    direct: bool
    paths: list[list[str]]  # entitlement ids, from one held directly to this grant's


def register(app: typer.Typer) -> None:
    app.command("access")(access)


def access_paths(grants: dict[str, grant_pb2.Grant], grant: grant_pb2.Grant) -> list[list[str]]:
    """One path per source entitlement of ``grant``.

    ``grants`` maps each entitlement id the principal holds to its grant.
    """

    def chain(entitlement_id: str, seen: frozenset[str]) -> list[str]:
        held = grants.get(entitlement_id)
        # Stop at a direct holding, or at an entitlement the principal holds no grant for
        # (then the source is all we know); `seen` keeps a malformed cyclic file from looping.
        if held is None or is_direct(held):
            return [entitlement_id]
        upstream = [s for s in sources_of(held) if s not in seen]
        if not upstream:
            return [entitlement_id]
        return [*chain(upstream[0], seen | {entitlement_id}), entitlement_id]

    target = grant.entitlement.id
    return [[*chain(source, frozenset({target})), target] for source in sources_of(grant)]


def access(
    principal: RequiredPrincipal,
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
) -> None:
    """Effective access of one principal: direct grants and grants inherited through expansion."""
    with open_session(file, sync_id) as session:
        type_id, object_id = session.require_ref(principal, "--principal")
        who = session.queries.resource(session.sync_id, type_id, object_id)
        records = list(
            session.queries.grants(
                session.sync_id, GrantFilter(principal_type_id=type_id, principal_id=object_id)
            )
        )
        if who is None and not records:
            raise NotFoundError(f"principal {principal} not found in sync {session.sync_id}")
        items = _accesses(records)
        if who is None:
            who = items[0].grant.principal
        if output is OutputFormat.json:
            head = {"principal": to_dict(who), "resourceType": to_dict(session.resource_type(type_id))}
            with json_list("access", extra=head) as out:
                for item in items:
                    out.add(
                        element(
                            entitlement=to_json(item.entitlement),
                            resource=to_json(item.resource),
                            resourceType=session.type_json(item.resource.id.resource_type),
                            grant=to_json(item.grant),
                            direct=dumps(item.direct),
                            paths=dumps(item.paths),
                        )
                    )
            return
        title = f"Access of {type_id}:{object_id} ({name(who)}) in sync {session.sync_id}"
        with console_table(("Resource Type", "Resource", "Entitlement", "How"), title=title) as table:
            for item in items:
                how = ["direct"] if item.direct else []
                how += ["via " + " -> ".join(path) for path in item.paths]
                table.add(
                    (
                        item.resource.id.resource_type,
                        name(item.resource),
                        entitlement_name(item.entitlement),
                        "; ".join(how),
                    )
                )


def _accesses(records: list[GrantRecord]) -> list[Access]:
    decoded = [(record, grant_pb2.Grant.FromString(record.grant)) for record in records]
    by_entitlement = {grant.entitlement.id: grant for _, grant in decoded}
    items = [
        Access(
            grant=grant,
            entitlement=entitlement_of(record, grant),
            resource=resource_of(record, grant),
            direct=is_direct(grant),
            paths=access_paths(by_entitlement, grant),
        )
        for record, grant in decoded
    ]
    items.sort(key=lambda a: (a.resource.id.resource_type, a.resource.id.resource, a.entitlement.id))
    return items
