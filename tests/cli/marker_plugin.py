"""A plugin that leaves a marker file the moment a connector is built from it: tests use it
to prove a command refused before it ever reached the connector."""

from __future__ import annotations

from pathlib import Path

from baton_cli.connector.config import Config
from baton_cli.connector.plugin import ConfigField, Plugin


def _build(config: Config) -> object:
    Path(config.get_str("marker")).touch()
    raise RuntimeError("the marker plugin has no connector")


plugin = Plugin(
    name="marker",
    description="Touches --marker when a connector is built",
    fields=(ConfigField("marker", "string", required=True, description="file to create"),),
    factory=_build,  # type: ignore[arg-type]
)
