"""The LDAP connector passes the connector kit against a real slapd (its own server: the kit provisions)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from baton_cli.connector.api import ConfigValue
from baton_cli.plugins.ldap import plugin
from baton_cli.testing import connector_tests
from tests.ldap.slapd import Slapd


@pytest.fixture(scope="module")
def connector_config(slapd: Slapd) -> Mapping[str, ConfigValue]:
    return {k: v for k, v in slapd.config(**{"page-size": 2}).items() if isinstance(v, str | int | bool)}


TestLdapConnector = connector_tests(plugin)
