"""The demo data set as arithmetic: ids and who is in what, without storing anything.

Everything is a pure function of the sizes, so a sync of a million memberships
never materialises them; provisioning changes live in the state file
(``state.py``) and are applied on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

USER = "user"
GROUP = "group"
ROLE = "role"
MEMBER = "member"
ASSIGNMENT = "assignment"

_ID_FORMATS = {USER: "u%07d", GROUP: "g%06d", ROLE: "r%05d"}
_ID_PATTERNS = {
    USER: re.compile(r"u([0-9]{7,})"),
    GROUP: re.compile(r"g([0-9]{6,})"),
    ROLE: re.compile(r"r([0-9]{5,})"),
}


def id_format(type_id: str) -> str:
    """The %-format of a type's ids; hot loops apply it directly."""
    return _ID_FORMATS[type_id]


def object_id(type_id: str, index: int) -> str:
    return _ID_FORMATS[type_id] % index


def parse_index(type_id: str, object_id_: str) -> int | None:
    """The index encoded in a demo id, or None if it is not one (``u0000007`` -> 7)."""
    pattern = _ID_PATTERNS.get(type_id)
    match = pattern.fullmatch(object_id_) if pattern else None
    if match is None:
        return None
    index = int(match.group(1))
    # Reject non-canonical spellings such as u00000007 so one object has one id.
    return index if _ID_FORMATS[type_id] % index == object_id_ else None


def entitlement_slug(type_id: str) -> str:
    return MEMBER if type_id == GROUP else ASSIGNMENT


def entitlement_id(type_id: str, object_id_: str) -> str:
    return f"{type_id}:{object_id_}:{entitlement_slug(type_id)}"


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big the generated data set is (the demo's --users/--groups/... settings)."""

    users: int
    groups: int
    memberships: int
    roles: int

    @property
    def members_per_group(self) -> int:
        if self.groups == 0:
            return 0
        return min(self.memberships // self.groups, self.users)

    def member(self, group: int, k: int) -> int:
        """The user index of member ``k`` (0 <= k < members_per_group) of ``group``."""
        return (group * self.members_per_group + k) % self.users

    def is_member(self, group: int, user: int) -> bool:
        """Whether the generated data makes generated ``user`` a member of ``group``."""
        per = self.members_per_group
        return per > 0 and (user - group * per) % self.users < per

    def role_group_count(self, role: int) -> int:
        """How many groups hold ``role``: those with ``group % roles == role``."""
        return len(range(role, self.groups, self.roles)) if self.roles else 0

    def role_group(self, role: int, k: int) -> int:
        return role + k * self.roles

    def has_role(self, group: int, role: int) -> bool:
        return self.roles > 0 and group % self.roles == role

    def count(self, type_id: str) -> int:
        return {USER: self.users, GROUP: self.groups, ROLE: self.roles}[type_id]

    def as_dict(self) -> dict[str, int]:
        return {
            "users": self.users,
            "groups": self.groups,
            "memberships": self.memberships,
            "roles": self.roles,
        }
