"""``baton capabilities``: what a plugin can do, as upstream's ``capabilities`` subcommand prints it.

Upstream prints the connector's ``c1.connector.v2.ConnectorCapabilities`` as the protobuf JSON of
an ``Any`` (with ``@type``), indented two spaces (cli.md §5); ``--metadata`` prints the whole
``ConnectorMetadata`` (display name, description, capabilities, ...) the same way.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.options import OutputFormat


def register(app: typer.Typer) -> None:
    @app.command(
        "capabilities",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help=(
            "Print a plugin's ConnectorCapabilities as upstream does (protobuf JSON of an Any); "
            "plugin fields follow the runner's options, as for `baton sync`."
        ),
    )
    def capabilities(
        ctx: typer.Context,
        plugin: opt.Plugin,
        config: opt.Config = None,
        metadata: Annotated[
            bool, opt.option("--metadata", envvar=None, help="Print the whole ConnectorMetadata instead.")
        ] = False,
        output: opt.Output = OutputFormat.json,
    ) -> None:
        from google.protobuf import any_pb2

        from baton_cli.cli.inspect_output import to_dict
        from baton_cli.connector.capabilities import capability_names, connector_metadata_with_capabilities
        from baton_cli.wiring import PluginRequest, open_connector

        request = PluginRequest(spec=plugin, args=list(ctx.args), config_file=config)
        with open_connector(request) as connector:
            found = connector_metadata_with_capabilities(connector)
        if output is OutputFormat.console:
            typer.echo(", ".join(capability_names(found)))
            return
        packed = any_pb2.Any()
        packed.Pack(found if metadata else found.capabilities)
        typer.echo(json.dumps(to_dict(packed), indent=2))
