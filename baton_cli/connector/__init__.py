"""The plugin-author side of baton_cli: the connector API, configuration, builders and loading.

A connector package exposes a :class:`Plugin` through the ``baton.connectors``
entry point group; see ``baton_cli.connector.demo`` for a complete example.
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
    CredentialRotator,
    Entitlement,
    Grant,
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
from baton_cli.connector.plugin import ConfigField, Plugin

__all__ = [
    "ENTRY_POINT_GROUP",
    "AccountManager",
    "AccountRequest",
    "AccountResult",
    "Config",
    "ConfigField",
    "ConfigValue",
    "Connector",
    "ConnectorMetadata",
    "Credential",
    "CredentialRotator",
    "Entitlement",
    "Grant",
    "Page",
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
    "builders",
    "capability_name",
    "capability_names",
    "connector_metadata_with_capabilities",
    "installed_plugins",
    "load_plugin",
    "parse_bool",
    "plugin_names",
    "resolve_config",
]
