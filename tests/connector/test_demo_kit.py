"""The demo connector passes the connector kit (the kit's own dog food)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from baton_cli.connector.api import ConfigValue
from baton_cli.connector.demo import plugin
from baton_cli.testing import CHECKS, connector_tests


@pytest.fixture(scope="module")
def connector_config(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, ConfigValue]:
    state = tmp_path_factory.mktemp("demo-kit") / "state.json"
    # Small pages so every listing has several; a state file so provisioning is on.
    return {"users": 25, "groups": 4, "memberships": 40, "roles": 2, "page-size": 7, "state-file": str(state)}


TestDemoConnector = connector_tests(plugin)


def test_the_generated_suite_holds_every_check() -> None:
    assert [name for name in CHECKS if hasattr(TestDemoConnector, name)] == list(CHECKS)
