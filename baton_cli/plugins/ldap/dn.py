"""Distinguished names as resource ids: one spelling per entry, whatever the server returned.

A directory returns ``UID=alice,OU=People`` or ``uid=alice, ou=people`` for the
same entry depending on how a value was written; ids must not depend on that.
Attribute types are case-insensitive and lowercased; values are kept as written
(their matching rules are the schema's business), with the spaces around
separators dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

# Most DNs have no escapes, quotes or multi-valued RDNs: those are split on commas directly,
# which is ~30x faster than a full RFC 4514 parse (a sync canonicalizes every member value).
_SIMPLE = re.compile(r"[^\\\"+;<>#]*")
_SIMPLE_RDN = re.compile(r"\s*([A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)\s*=\s*(\S(?:.*\S)?)\s*")
CACHE_SIZE = 1 << 17


@lru_cache(maxsize=CACHE_SIZE)
def canonical_dn(dn: str) -> str:
    """``UID=alice, OU=people,dc=example`` -> ``uid=alice,ou=people,dc=example``."""
    if _SIMPLE.fullmatch(dn):
        rdns = [_SIMPLE_RDN.fullmatch(part) for part in dn.split(",")]
        if all(rdns):
            return ",".join(f"{m.group(1).lower()}={m.group(2)}" for m in rdns if m)
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPInvalidDnError:
        return dn.strip()
    out = []
    for attribute, value, separator in parts:
        out.append(f"{attribute.lower()}={value}{'+' if separator == '+' else ','}")
    return "".join(out).rstrip(",+")


@lru_cache(maxsize=CACHE_SIZE)
def is_dn(value: str) -> bool:
    """memberUid holds login names; member and uniqueMember hold DNs (a name may slip in)."""
    if "=" not in value:
        return False
    if _SIMPLE.fullmatch(value):
        return all(_SIMPLE_RDN.fullmatch(part) for part in value.split(","))
    try:
        return bool(parse_dn(value))
    except LDAPInvalidDnError:
        return False


def first_rdn_value(dn: str) -> str:
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPInvalidDnError:
        return ""
    return str(parts[0][1]) if parts else ""


def is_under(dn: str, base: str) -> bool:
    entry, root = canonical_dn(dn).lower(), canonical_dn(base).lower()
    return entry == root or entry.endswith("," + root)
