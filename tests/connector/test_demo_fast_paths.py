"""The demo's speed-ups give exactly what the plain builders give."""

from __future__ import annotations

import pytest

from baton_cli.connector import builders
from baton_cli.connector.api import Resource, ResourceId
from baton_cli.connector.demo.connector import DemoConnector
from baton_cli.connector.demo.model import Sizes
from baton_cli.connector.demo.world import generated_user
from baton_cli.errors import UsageError


@pytest.mark.parametrize("index", [0, 1, 7, 99_999, 1_234_567, 12_345_678])
def test_generated_user_equals_the_builder(index: int) -> None:
    built = builders.user_resource(
        "user",
        f"u{index:07d}",
        f"User {index}",
        email=f"user{index}@example.com",
        login=f"user{index}",
        status=builders.STATUS_ENABLED,
    )
    fast = generated_user(index)
    assert fast == built
    assert fast.SerializeToString(deterministic=True) == built.SerializeToString(deterministic=True)


def test_users_have_no_entitlements_and_still_check_page_tokens() -> None:
    users = DemoConnector(Sizes(users=3, groups=1, memberships=3, roles=0), page_size=2).resource_syncers()[0]
    for resource in (generated_user(1), Resource(id=ResourceId(resource_type="group", resource="g000000"))):
        page = users.entitlements(resource, "")
        assert (list(page.items), page.next_token) == ([], "")
    with pytest.raises(UsageError, match="invalid page token"):
        users.entitlements(generated_user(1), "not-a-token")
