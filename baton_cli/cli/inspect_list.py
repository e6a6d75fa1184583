"""``baton resource-types | resources | entitlements | principals``: list what a sync saw."""

from __future__ import annotations

from collections.abc import Iterable

import typer

from baton_cli.c1z.inspect_queries import GrantFilter
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
from baton_cli.cli.inspect_render import (
    Lru,
    element,
    message_json,
    name,
    resource_key,
    traits,
)
from baton_cli.cli.options import OutputFormat
from baton_cli.pb.c1.connector.v2 import resource_pb2

_RESOURCE_COLUMNS = ("Resource Type", "ID", "Display Name", "Parent")


def register(app: typer.Typer) -> None:
    app.command("resource-types")(resource_types)
    app.command("resources")(resources)
    app.command("entitlements")(entitlements)
    app.command("principals")(principals)


def resource_types(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
) -> None:
    """List the resource types of a sync."""
    with open_session(file, sync_id) as session:
        if output is OutputFormat.json:
            with json_list("resourceTypes") as out:
                for item in session.types.values():
                    out.add(element(resourceType=to_json(item)))
            return
        with console_table(("ID", "Display Name", "Traits", "Description")) as table:
            for item in session.types.values():
                table.add((item.id, item.display_name, traits(item), item.description))


def resources(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
    resource_type: TypeOption = None,
) -> None:
    """List resources (users, groups, ...), optionally of one type."""
    with open_session(file, sync_id) as session:
        rows = session.reader.resources(session.sync_id, session.require_type(resource_type))
        _write_resources(session, rows, output)


def principals(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
    resource_type: TypeOption = None,
    resource: ResourceOption = None,
    entitlement: EntitlementOption = None,
) -> None:
    """List principals that hold at least one grant (optionally on one resource or entitlement)."""
    with open_session(file, sync_id) as session:
        where = GrantFilter(entitlement_id=entitlement)
        if resource is not None:
            type_id, resource_id = session.split_ref(resource, resource_type)
            where = GrantFilter(resource_type_id=type_id, resource_id=resource_id, entitlement_id=entitlement)
        elif resource_type is not None:
            where = GrantFilter(
                resource_type_id=session.require_type(resource_type), entitlement_id=entitlement
            )
        records = session.queries.principals(session.sync_id, where)
        rows = (
            resource_pb2.Resource.FromString(r.resource)
            if r.resource is not None
            # Principals with no resource row (e.g. from another connector) still get listed.
            else resource_pb2.Resource(
                id=resource_pb2.ResourceId(resource_type=r.resource_type_id, resource=r.resource_id)
            )
            for r in records
        )
        _write_resources(session, rows, output)


def _write_resources(session: Session, rows: Iterable[resource_pb2.Resource], output: OutputFormat) -> None:
    parents: Lru[str, resource_pb2.Resource | None] = Lru()

    def parent_of(item: resource_pb2.Resource) -> resource_pb2.Resource | None:
        if not item.HasField("parent_resource_id"):
            return None
        pid = item.parent_resource_id
        # Few distinct parents (orgs, workspaces), many children: look each parent up once.
        return parents.get(
            resource_key(pid), session.queries.resource, session.sync_id, pid.resource_type, pid.resource
        )

    if output is OutputFormat.json:
        with json_list("resources") as out:
            for item in rows:
                rt = session.type_json(item.id.resource_type)
                out.add(
                    element(resource=to_json(item), resourceType=rt, parent=message_json(parent_of(item)))
                )
        return
    with console_table(_RESOURCE_COLUMNS) as table:
        for item in rows:
            parent = parent_of(item)
            parent_text = f"{name(parent)} ({parent.id.resource_type})" if parent else ""
            table.add((item.id.resource_type, item.id.resource, item.display_name, parent_text))


def entitlements(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
    resource_type: TypeOption = None,
    resource: ResourceOption = None,
) -> None:
    """List entitlements (group membership, role assignment, ...)."""
    with open_session(file, sync_id) as session:
        type_id = session.require_type(resource_type)
        resource_id = None
        if resource is not None:
            type_id, resource_id = session.split_ref(resource, resource_type)
        rows = session.reader.entitlements(session.sync_id, type_id, resource_id)
        if output is OutputFormat.json:
            with json_list("entitlements") as out:
                for item in rows:
                    rt = session.type_json(item.resource.id.resource_type)
                    out.add(
                        element(entitlement=to_json(item), resource=to_json(item.resource), resourceType=rt)
                    )
            return
        with console_table(("ID", "Display Name", "Resource Type", "Resource", "Slug")) as table:
            for item in rows:
                table.add(
                    (
                        item.id,
                        item.display_name,
                        item.resource.id.resource_type,
                        name(item.resource),
                        item.slug,
                    )
                )
