"""The connector's logger: ``baton_cli.connector.logger(name)``.

Connector code logs here instead of printing, so its lines go through the
runner's logging pipeline (level, format, destination) and never into the
daemon's standard output.
"""

from __future__ import annotations

import logging

LOGGER_PREFIX = "baton_cli.connector.plugins"


def logger(name: str) -> logging.Logger:
    """The logger for connector ``name`` (a child of the runner's ``baton_cli`` logger)."""
    return logging.getLogger(f"{LOGGER_PREFIX}.{name}")
