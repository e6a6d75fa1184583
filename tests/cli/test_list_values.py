"""List-valued options (upstream string slices) are read as CSV: a quoted item may hold commas."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.cli.options import csv_list
from baton_cli.cli.sync_cmd import sync_options
from baton_cli.errors import UsageError
from tests.cli.process import baton


def test_plain_items_are_split_on_commas_and_trimmed() -> None:
    assert csv_list("user, group ,,repo") == ["user", "group", "repo"]
    assert csv_list("") == [] and csv_list("  ") == []


def test_a_quoted_item_keeps_its_commas() -> None:
    assert csv_list('"group:cn=admins,ou=groups,dc=example,dc=org",user:u1') == [
        "group:cn=admins,ou=groups,dc=example,dc=org",
        "user:u1",
    ]
    assert csv_list('user:u1, "group:cn=a,dc=x"') == ["user:u1", "group:cn=a,dc=x"]


def test_an_ldap_dn_can_be_a_sync_target() -> None:
    options = sync_options(
        '"group:cn=admins,ou=groups,dc=example,dc=org","bid:r:user/uid=alice\\,dc=org"',
        "",
        skip_entitlements_and_grants=False,
        skip_grants=False,
        skip_expand_grants=False,
    )
    assert [(t.resource_type, t.resource) for t in options.targets] == [
        ("group", "cn=admins,ou=groups,dc=example,dc=org"),
        ("user", "uid=alice,dc=org"),
    ]


def test_an_unterminated_quote_names_the_flag() -> None:
    with pytest.raises(UsageError, match="--sync-resources"):
        sync_options('"group:cn=a,dc=x', "", False, False, False)


def test_the_real_command_refuses_a_broken_list_in_one_line(tmp_path: Path) -> None:
    result = baton("sync", "--plugin", "demo", "--sync-resources", '"group:g1', cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "--sync-resources" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "sync.c1z").exists()
