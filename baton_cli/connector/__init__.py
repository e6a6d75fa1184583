"""The plugin-author side of baton_cli: everything a connector needs, from one import.

A connector package exposes a :class:`Plugin` through the ``baton.connectors``
entry point group; see ``baton_cli.connector.demo`` for a complete example and
docs/connector-guide.md for a walk-through.

Errors are named by what the runner does with them:

- ``RetryableError``: retried with backoff (or until ``reset_at`` for rate limits);
- ``NotFoundError``: the listing is skipped with a warning (a targeted sync skips silently);
- ``InvalidArgumentError``, ``PermissionDeniedError``, ``UnauthenticatedError``,
  ``AlreadyExistsError``, ``UnimplementedError``, ``FailedPreconditionError``:
  not retried; the task fails with that status code (and the CLI exits with it);
- ``ConnectorError``: any other failure (INTERNAL). Other exceptions are treated as
  bugs: one line, or the traceback with ``BATON_DEBUG=1`` / ``--log-level debug``.
"""

from __future__ import annotations

from baton_cli.connector import builders
from baton_cli.connector.api import (
    AccountManager,
    AccountRequest,
    AccountResult,
    ConfigValue,
    Connector,
    ConnectorMetadata,
    Credential,
    CredentialIssuer,
    CredentialRotator,
    Entitlement,
    Grant,
    IssuedCredential,
    IssueRequest,
    Page,
    Provisioner,
    Resource,
    ResourceCreator,
    ResourceDeleter,
    ResourceGetter,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.connector.capabilities import (
    capability_name,
    capability_names,
    connector_metadata_with_capabilities,
)
from baton_cli.connector.config import Config, parse_bool, resolve_config
from baton_cli.connector.loader import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    installed_plugins,
    load_plugin,
    plugin_names,
)
from baton_cli.connector.log import logger
from baton_cli.connector.plugin import ConfigField, Plugin
from baton_cli.connector.services import (
    ActionManager,
    BulkTicketManager,
    EventFeedProvider,
    EventPage,
    TicketManager,
)
from baton_cli.errors import (
    AlreadyExistsError,
    ConnectorError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnimplementedError,
)
from baton_cli.errors import RetryableConnectorError as RetryableError

__all__ = [
    "ENTRY_POINT_GROUP",
    "AccountManager",
    "AccountRequest",
    "AccountResult",
    "ActionManager",
    "AlreadyExistsError",
    "BulkTicketManager",
    "Config",
    "ConfigField",
    "ConfigValue",
    "Connector",
    "ConnectorError",
    "ConnectorMetadata",
    "Credential",
    "CredentialIssuer",
    "CredentialRotator",
    "Entitlement",
    "EventFeedProvider",
    "EventPage",
    "FailedPreconditionError",
    "Grant",
    "InvalidArgumentError",
    "IssueRequest",
    "IssuedCredential",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "Plugin",
    "PluginInfo",
    "Provisioner",
    "Resource",
    "ResourceCreator",
    "ResourceDeleter",
    "ResourceGetter",
    "ResourceId",
    "ResourceSyncer",
    "ResourceType",
    "RetryableError",
    "TicketManager",
    "UnauthenticatedError",
    "UnimplementedError",
    "builders",
    "capability_name",
    "capability_names",
    "connector_metadata_with_capabilities",
    "installed_plugins",
    "load_plugin",
    "logger",
    "parse_bool",
    "plugin_names",
    "resolve_config",
]
