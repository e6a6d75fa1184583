"""DN spelling as resource ids: the fast path agrees with the full RFC 4514 parse."""

from __future__ import annotations

import pytest
from ldap3.utils.dn import parse_dn

from baton_cli.plugins.ldap.dn import canonical_dn, first_rdn_value, is_dn, is_under


def slow_canonical(dn: str) -> str:
    parts = parse_dn(dn, escape=False, strip=True)
    return "".join(f"{a.lower()}={v}{'+' if s == '+' else ','}" for a, v, s in parts).rstrip(",+")


@pytest.mark.parametrize(
    "dn",
    [
        "uid=alice,ou=people,dc=example,dc=org",
        "UID=alice, OU=People,DC=example,dc=org",
        " uid = a , dc=x",
        "cn=Smith\\, John,ou=people,dc=x",
        "uid=a+cn=b,dc=x",
    ],
)
def test_every_spelling_gives_the_parsed_canonical_form(dn: str) -> None:
    assert canonical_dn(dn) == slow_canonical(dn)
    assert is_dn(dn)


def test_names_are_not_dns_and_helpers() -> None:
    assert not is_dn("alice")
    assert first_rdn_value("UID=bob,dc=x") == "bob"
    assert is_under("uid=a,OU=People,dc=x", "ou=People,dc=x") and not is_under("uid=a,dc=y", "dc=x")
