"""What the connector knows about the directory's layout and the entries it has seen.

Group members are DNs (``member``, ``uniqueMember``) or login names
(``memberUid``); a DN may name a user or a nested group. The kind of each DN is
learned while listing (both types are listed before any grants) and looked up
in the directory for DNs seen nowhere else.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from baton_cli.plugins.ldap.client import LdapClient
from baton_cli.plugins.ldap.dn import canonical_dn

USER_CLASSES = ("inetOrgPerson", "posixAccount")
GROUP_CLASSES = ("groupOfNames", "groupOfUniqueNames", "posixGroup")
USER_FILTER = "(|" + "".join(f"(objectClass={c})" for c in USER_CLASSES) + ")"
GROUP_FILTER = "(|" + "".join(f"(objectClass={c})" for c in GROUP_CLASSES) + ")"
MEMBER_ATTRIBUTES = ("member", "uniqueMember", "memberUid")


def escape_filter_value(value: str) -> str:
    """RFC 4515 escaping of a value inside a search filter."""
    out = []
    for char in value:
        if char in "*()\\\0":
            out.append(f"\\{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


@dataclass
class Directory:
    client: LdapClient
    base_dn: str
    user_search_dn: str
    group_search_dn: str
    _kinds: dict[str, str] = field(default_factory=dict)  # canonical DN (lowercased) -> "user" | "group"
    _uids: dict[str, str] = field(default_factory=dict)  # memberUid -> canonical user DN ("" if none)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, dn: str, kind: str) -> None:
        with self._lock:
            self._kinds[canonical_dn(dn).lower()] = kind

    def forget(self, dn: str) -> None:
        with self._lock:
            self._kinds.pop(canonical_dn(dn).lower(), None)
            self._uids = {uid: d for uid, d in self._uids.items() if d.lower() != canonical_dn(dn).lower()}

    def kind_of(self, dn: str) -> str:
        """ "user", "group" or "" (neither, or gone)."""
        key = canonical_dn(dn).lower()
        with self._lock:
            known = self._kinds.get(key)
        if known is not None:
            return known
        entry = self.client.read(dn, ["objectClass"])
        kind = ""
        if entry is not None:
            classes = entry.object_classes()
            if classes & {c.lower() for c in GROUP_CLASSES}:
                kind = "group"
            elif classes & {c.lower() for c in USER_CLASSES}:
                kind = "user"
        with self._lock:
            self._kinds[key] = kind
        return kind

    def user_dn_for_uid(self, uid: str) -> str:
        """The user whose ``uid`` is a posixGroup's memberUid value, or ''."""
        with self._lock:
            if uid in self._uids:
                return self._uids[uid]
        entries, _token = self.client.search_page(
            self.user_search_dn, f"(&{USER_FILTER}(uid={escape_filter_value(uid)}))", ["uid"], "", page_size=2
        )
        dn = canonical_dn(entries[0].dn) if len(entries) == 1 else ""
        with self._lock:
            self._uids[uid] = dn
        return dn

    def remember_uid(self, uid: str, dn: str) -> None:
        if uid:
            with self._lock:
                self._uids[uid] = canonical_dn(dn)
