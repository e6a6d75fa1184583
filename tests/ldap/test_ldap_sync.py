"""`baton sync --plugin ldap` against a real slapd: ids, nested groups, TLS, paging, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from baton_cli.c1z import C1ZReader
from tests.cli.process import baton
from tests.ldap.seed import DIRECT_GRANTS, EXPANDED_GRANTS, GROUP_DNS, USERS, member
from tests.ldap.slapd import ADMIN_PASSWORD, Slapd, free_port


def flags(config: dict[str, object]) -> list[str]:
    out = []
    for name, value in config.items():
        out.append(f"--{name}={str(value).lower() if isinstance(value, bool) else value}")
    return out


def sync(tmp_path: Path, config: dict[str, object], name: str = "ldap.c1z") -> tuple[int, str, Path]:
    out = tmp_path / name
    result = baton(
        "sync",
        "--plugin",
        "ldap",
        "--out",
        str(out),
        "--progress",
        "off",
        *flags(config),
        cwd=tmp_path,
    )
    return result.returncode, result.stdout + result.stderr, out


def contents(path: Path) -> tuple[set[str], set[str], set[str], set[str]]:
    with C1ZReader.open(path) as reader:
        sync_id = reader.pick_sync().sync_id
        users = {r.id.resource for r in reader.resources(sync_id, "user")}
        groups = {r.id.resource for r in reader.resources(sync_id, "group")}
        entitlements = {e.id for e in reader.entitlements(sync_id)}
        grants = {g.id for g in reader.grants(sync_id)}
    return users, groups, entitlements, grants


def test_a_sync_has_upstreams_ids_and_expands_nested_groups(slapd: Slapd, tmp_path: Path) -> None:
    code, output, out = sync(tmp_path, slapd.config())
    assert code == 0, output
    users, groups, entitlements, grants = contents(out)
    assert users == USERS
    assert groups == GROUP_DNS
    assert entitlements == {member(dn.split(",")[0].removeprefix("cn=")) for dn in GROUP_DNS}
    # memberUid values resolve to DNs; an upper-case member DN is the same user id.
    assert grants == DIRECT_GRANTS | EXPANDED_GRANTS


def test_paged_results_give_the_same_sync_with_small_pages(slapd: Slapd, tmp_path: Path) -> None:
    code, output, out = sync(tmp_path, slapd.config(**{"page-size": 1}))
    assert code == 0, output
    users, groups, _entitlements, grants = contents(out)
    assert (users, groups, grants) == (USERS, GROUP_DNS, DIRECT_GRANTS | EXPANDED_GRANTS)


def test_ldaps_with_the_ca_file_verifies_the_server(slapd: Slapd, tmp_path: Path) -> None:
    code, output, out = sync(tmp_path, slapd.config(url=slapd.ldaps_url, **{"ca-file": str(slapd.ca_file)}))
    assert code == 0, output
    assert contents(out)[0] == USERS


def test_starttls_with_the_ca_file(slapd: Slapd, tmp_path: Path) -> None:
    code, output, out = sync(tmp_path, slapd.config(starttls=True, **{"ca-file": str(slapd.ca_file)}))
    assert code == 0, output
    assert contents(out)[0] == USERS


def test_an_untrusted_certificate_is_refused_in_one_line(slapd: Slapd, tmp_path: Path) -> None:
    code, output, out = sync(tmp_path, slapd.config(url=slapd.ldaps_url))
    assert code != 0 and not out.exists()
    errors = [line for line in output.splitlines() if line.startswith("baton: error:")]
    assert len(errors) == 1 and "certificate is not trusted" in errors[0] and "--ca-file" in errors[0]


def test_a_wrong_password_is_unauthenticated_and_never_shown(slapd: Slapd, tmp_path: Path) -> None:
    wrong = "not-the-right-pw-31337"
    code, output, _out = sync(tmp_path, slapd.config(password=wrong))
    assert code == 16, output
    assert "invalidCredentials" in output
    assert wrong not in output and ADMIN_PASSWORD not in output


def test_a_missing_base_dn_is_not_found(slapd: Slapd, tmp_path: Path) -> None:
    code, output, _out = sync(tmp_path, slapd.config(**{"base-dn": "dc=nowhere,dc=org"}))
    assert code == 5, output
    assert "dc=nowhere,dc=org" in output


def test_the_plugin_is_listed_with_its_fields(tmp_path: Path) -> None:
    result = baton("plugins", "show", "ldap", "--json", cwd=tmp_path)
    if result.returncode != 0:  # older `plugins show` without --json
        result = baton("plugins", "show", "ldap", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for field in (
        "url",
        "bind-dn",
        "password",
        "base-dn",
        "user-search-dn",
        "group-search-dn",
        "ca-file",
        "page-size",
    ):
        assert field in result.stdout
    try:
        payload = json.loads(result.stdout)
    except json.JSONDecodeError:
        return
    assert payload


def test_an_unreachable_server_fails_at_once_instead_of_retrying_forever(
    slapd: Slapd, tmp_path: Path
) -> None:
    nothing_there = f"ldap://127.0.0.1:{free_port()}"
    code, output, out = sync(tmp_path, slapd.config(url=nothing_there))
    assert code == 13, output
    errors = [line for line in output.splitlines() if line.startswith("baton: error:")]
    assert len(errors) == 1 and f"cannot connect to {nothing_there}" in errors[0]
    assert "retrying" not in output and not out.exists()
