"""``connector_tests``: a generated pytest suite for one connector plugin.

::

    # tests/test_kit.py
    from baton_cli.testing import connector_tests
    from my_connector import plugin

    TestMyConnector = connector_tests(plugin, config={"api-url": "http://127.0.0.1:8080"})

Config that comes from other fixtures (a server's port, a temp file) goes in a
``connector_config`` fixture of the test module (or a conftest.py), which then
wins over ``config=``::

    @pytest.fixture(scope="module")
    def connector_config(my_server):
        return {"api-url": my_server.url}

    TestMyConnector = connector_tests(plugin)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import pytest

from baton_cli.connector.api import AccountRequest, ConfigValue
from baton_cli.connector.plugin import Plugin
from baton_cli.testing.kit import Kit, KitOptions, NotApplicable, default_account_request
from baton_cli.testing.walk import DEFAULT_MAX_PAGES

# Test name -> the Kit method it runs, in the order they run (provisioning last but one,
# the real engine last).
CHECKS: dict[str, str] = {
    "test_metadata_and_validate": "check_metadata_and_validate",
    "test_capabilities_match_protocols": "check_capabilities",
    "test_every_resource_type_lists": "check_resource_types_list",
    "test_every_listing_terminates": "check_listings_terminate",
    "test_resource_ids_are_unique": "check_resource_ids_unique",
    "test_resources_carry_their_types_trait": "check_resources_carry_traits",
    "test_parents_exist": "check_parents_exist",
    "test_child_resource_types_are_walked": "check_child_types_walked",
    "test_entitlements_belong_to_their_resource": "check_entitlements_belong",
    "test_grants_reference_listed_entitlements_and_principals": "check_grants_reference_known_objects",
    "test_grant_expandable_targets_exist": "check_expandable_targets_exist",
    "test_no_duplicate_grants": "check_no_duplicate_grants",
    "test_grant_then_revoke_round_trips": "check_grant_revoke_round_trip",
    "test_create_account_returns_a_declared_type": "check_create_account",
    "test_rotate_credentials_returns_credentials": "check_rotate_credentials",
    "test_sync_into_c1z_reads_back": "check_sync_into_c1z",
}


def _test(method: str) -> Callable[[Any, Kit], None]:
    def run(self: Any, baton_kit: Kit) -> None:
        try:
            getattr(baton_kit, method)()
        except NotApplicable as reason:
            pytest.skip(str(reason))

    run.__doc__ = getattr(Kit, method).__doc__
    return run


def connector_tests(
    plugin: Plugin,
    *,
    config: Mapping[str, ConfigValue] | None = None,
    skip: Collection[str] = (),
    external_principal_types: Collection[str] = (),
    max_pages: int = DEFAULT_MAX_PAGES,
    account_request: Callable[[str], AccountRequest] = default_account_request,
) -> type:
    """A test class (assign it to a ``Test...`` name) running every kit check on ``plugin``.

    ``skip`` leaves out checks by test name (or without the ``test_`` prefix).
    """
    unknown = [name for name in skip if name not in CHECKS and f"test_{name}" not in CHECKS]
    if unknown:
        raise ValueError(f"connector_tests: unknown check {unknown[0]!r}; the checks are {', '.join(CHECKS)}")
    left_out = {name if name.startswith("test_") else f"test_{name}" for name in skip}
    options = KitOptions(
        max_pages=max_pages,
        external_principal_types=tuple(external_principal_types),
        account_request=account_request,
    )
    fixed_config = dict(config or {})

    def baton_kit(
        cls: type,
        connector_config: Mapping[str, ConfigValue] | None,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> Iterator[Kit]:
        values = fixed_config if connector_config is None else connector_config
        kit = Kit(plugin, values, workdir=tmp_path_factory.mktemp("baton-kit"), options=options)
        yield kit
        kit.close()

    namespace: dict[str, object] = {
        "__doc__": f"The baton_cli connector kit's checks for plugin {plugin.name!r}.",
        # One connector per class: checks share its walk, as one sync would.
        "baton_kit": pytest.fixture(scope="class")(classmethod(baton_kit)),  # type: ignore[arg-type]
    }
    for test_name, method in CHECKS.items():
        if test_name not in left_out:
            namespace[test_name] = _test(method)
    return type(f"ConnectorTests_{plugin.name.replace('-', '_')}", (), namespace)
