"""The small directory the LDAP tests run against, and the ids upstream's layout gives it."""

from __future__ import annotations

SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def _person(uid: str, name: str, *, posix_number: int = 0) -> str:
    classes = "objectClass: inetOrgPerson\n"
    posix = ""
    if posix_number:
        classes += "objectClass: posixAccount\n"
        posix = f"uidNumber: {posix_number}\ngidNumber: 5000\nhomeDirectory: /home/{uid}\n"
    first, last = name.split()
    return (
        f"dn: {user_dn(uid)}\n{classes}uid: {uid}\ncn: {name}\ngivenName: {first}\nsn: {last}\n"
        f"mail: {uid}@example.org\nuserPassword: {uid}-pw\n{posix}\n"
    )


SEED = "".join(
    [
        _person("alice", "Alice Archer"),
        _person("bob", "Bob Baker"),
        _person("carol", "Carol Cooper"),
        _person("dave", "Dave Dyer", posix_number=1001),
        _person("erin", "Erin Evans"),
        # A nested group and a member DN spelled in upper case, as directories return them.
        f"dn: {group_dn('engineers')}\nobjectClass: groupOfNames\ncn: engineers\n"
        f"description: Builds things\nmember: {user_dn('alice')}\n"
        f"member: UID=bob,OU=people,{SUFFIX}\nmember: {group_dn('seniors')}\n\n",
        f"dn: {group_dn('seniors')}\nobjectClass: groupOfNames\ncn: seniors\nmember: {user_dn('carol')}\n\n",
        f"dn: {group_dn('ops')}\nobjectClass: groupOfUniqueNames\ncn: ops\n"
        f"uniqueMember: {user_dn('dave')}\n\n",
        f"dn: {group_dn('posix-devs')}\nobjectClass: posixGroup\ncn: posix-devs\ngidNumber: 5000\n"
        "memberUid: dave\nmemberUid: alice\n\n",
    ]
)

USERS = {user_dn(u) for u in ("alice", "bob", "carol", "dave", "erin")}
GROUP_DNS = {group_dn(g) for g in ("engineers", "seniors", "ops", "posix-devs")}


def member(group: str) -> str:
    return f"group:{group_dn(group)}:member"


def user_grant(group: str, uid: str) -> str:
    return f"{member(group)}:user:{user_dn(uid)}"


def group_grant(group: str, child: str) -> str:
    return f"{member(group)}:group:{group_dn(child)}"


# Direct memberships as listed (before expansion), in upstream's grant id layout.
DIRECT_GRANTS = {
    user_grant("engineers", "alice"),
    user_grant("engineers", "bob"),
    group_grant("engineers", "seniors"),
    user_grant("seniors", "carol"),
    user_grant("ops", "dave"),
    user_grant("posix-devs", "dave"),
    user_grant("posix-devs", "alice"),
}
# What expansion adds: seniors' members become engineers' members.
EXPANDED_GRANTS = {user_grant("engineers", "carol")}
