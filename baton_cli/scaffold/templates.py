"""The files of a new connector package; ``$name``-style placeholders (string.Template)."""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A baton connector for $title"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["baton_cli"]

[project.optional-dependencies]
# The connector kit (baton_cli.testing) is a pytest plugin.
test = ["baton_cli[testing]", "pytest>=8"]

# `baton sync --plugin $plugin` finds the connector through this entry point.
[project.entry-points."baton.connectors"]
$plugin = "$package.connector:plugin"

[tool.setuptools.packages.find]
include = ["$package*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

README = """\
# $dist

A [baton](https://github.com/conductorone/baton) connector for $title, run by baton_cli.

```sh
pip install -e '.[test]'        # the connector, baton_cli and the test kit
pytest                          # the connector kit's checks
baton sync --plugin $plugin --out sync.c1z
baton resources -f sync.c1z
```

## What is where

- `$package/client.py`: the remote API. It serves sample data now: replace its methods with calls
  to your system, keeping their signatures (pages in, pages out).
- `$package/connector.py`: resource types `user` and `team`, a `member` entitlement on teams,
  team membership grants, grant/revoke, and the plugin's config fields.
- `tests/test_connector.py`: the generated kit suite (`baton_cli.testing.connector_tests`).

## Configuration

| flag | env | meaning |
|---|---|---|
| `--api-url` | `BATON_API_URL` | base URL of the API |
| `--api-token` | `BATON_API_TOKEN` | API token (a secret: never printed) |
| `--page-size` | `BATON_PAGE_SIZE` | items per page |

See baton_cli's docs/connector-guide.md for pagination, expansion, provisioning, errors and logging.
"""

CLIENT = '''\
"""The remote system's API, as the connector sees it.

It serves sample data so the package works (and passes its tests) as generated;
replace the bodies with calls to your system. Raise baton_cli.connector errors by
what should happen: RetryableError (retried), NotFoundError, PermissionDeniedError...
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class User:
    id: str
    name: str
    email: str


@dataclass
class Team:
    id: str
    name: str
    member_ids: set[str] = field(default_factory=set)


class Client:
    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url
        self._token = token  # send it with each request; never log it
        self._users = [User(f"u{i}", f"User {i}", f"user{i}@example.com") for i in range(1, 8)]
        self._teams = {
            "t1": Team("t1", "Engineering", {"u1", "u2", "u3"}),
            "t2": Team("t2", "Support", {"u4"}),
        }

    def users(self, offset: int, limit: int) -> tuple[list[User], int | None]:
        """One page of users and the next offset (None at the end)."""
        page = self._users[offset : offset + limit]
        end = offset + len(page)
        return page, (end if end < len(self._users) else None)

    def teams(self, offset: int, limit: int) -> tuple[list[Team], int | None]:
        teams = sorted(self._teams.values(), key=lambda t: t.id)
        page = teams[offset : offset + limit]
        end = offset + len(page)
        return page, (end if end < len(teams) else None)

    def team(self, team_id: str) -> Team | None:
        return self._teams.get(team_id)

    def add_member(self, team_id: str, user_id: str) -> None:
        self._teams[team_id].member_ids.add(user_id)

    def remove_member(self, team_id: str, user_id: str) -> None:
        self._teams[team_id].member_ids.discard(user_id)
'''

CONNECTOR = '''\
"""The $title connector: users, teams, and team membership."""

from __future__ import annotations

from collections.abc import Sequence

from baton_cli.connector import (
    Config,
    ConfigField,
    ConnectorMetadata,
    Entitlement,
    Grant,
    NotFoundError,
    Page,
    Plugin,
    Resource,
    ResourceId,
    ResourceSyncer,
    builders,
    logger,
)

from $package.client import Client

log = logger("$plugin")

MEMBER = "member"


def _offset(page_token: str) -> int:
    return int(page_token) if page_token else 0


def _token(next_offset: int | None) -> str:
    return "" if next_offset is None else str(next_offset)


class UserSyncer:
    resource_type = builders.resource_type("user", "User", traits=[builders.TRAIT_USER])

    def __init__(self, client: Client, page_size: int) -> None:
        self.client, self.page_size = client, page_size

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        users, next_offset = self.client.users(_offset(page_token), self.page_size)
        resources = [
            builders.user_resource("user", u.id, u.name, email=u.email, login=u.email) for u in users
        ]
        return Page(resources, _token(next_offset))

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])


class TeamSyncer:
    resource_type = builders.resource_type("team", "Team", traits=[builders.TRAIT_GROUP])

    def __init__(self, client: Client, page_size: int) -> None:
        self.client, self.page_size = client, page_size

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        teams, next_offset = self.client.teams(_offset(page_token), self.page_size)
        return Page([builders.group_resource("team", t.id, t.name) for t in teams], _token(next_offset))

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        member = builders.assignment_entitlement(
            resource, MEMBER, display_name=f"{resource.display_name} member", grantable_to=["user"]
        )
        return Page([member])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        team = self.client.team(resource.id.resource)
        if team is None:
            raise NotFoundError(f"team {resource.id.resource!r} no longer exists")
        member = builders.assignment_entitlement(resource, MEMBER, grantable_to=["user"])
        members = sorted(team.member_ids)
        return Page([builders.grant(member, builders.resource_id("user", uid)) for uid in members])

    # Provisioning: having grant() and revoke() is what declares the capability.
    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]:
        self.client.add_member(entitlement.resource.id.resource, principal.id.resource)
        log.info("added %s to team %s", principal.id.resource, entitlement.resource.id.resource)
        return [builders.grant(entitlement, principal.id)]

    def revoke(self, grant: Grant) -> None:
        self.client.remove_member(grant.entitlement.resource.id.resource, grant.principal.id.resource)


class $cls:
    def __init__(self, config: Config) -> None:
        client = Client(config.get_str("api-url"), config.get_str("api-token"))
        page_size = config.get_int("page-size")
        self.syncers: list[ResourceSyncer] = [UserSyncer(client, page_size), TeamSyncer(client, page_size)]

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="$title", description="Users and teams of $title")

    def validate(self) -> None:
        """Check the API answers with these credentials; raise a baton_cli.connector error if not."""

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return self.syncers


plugin = Plugin(
    name="$plugin",
    description="Users and teams of $title",
    fields=(
        ConfigField("api-url", "string", default="https://api.example.com", description="the API's base URL"),
        ConfigField("api-token", "string", default="", secret=True, description="API token"),
        ConfigField("page-size", "int", default=50, description="items per page"),
    ),
    factory=$cls,
)
'''

TESTS = '''\
"""The connector kit's checks (baton_cli.testing): what the platform relies on, by id."""

from __future__ import annotations

from baton_cli.testing import connector_tests

from $package.connector import plugin

# Small pages, so every listing has several. Drop an entry from `skip` once the connector
# implements it (create_account, rotate_credentials on a resource type).
TestConnector = connector_tests(
    plugin,
    config={"api-url": "https://api.example.com", "page-size": 3},
    skip=("create_account_returns_a_declared_type", "rotate_credentials_returns_credentials"),
)
'''

PACKAGE_INIT = '''\
"""A baton connector for $title."""
'''

GITIGNORE = """\
*.c1z
.baton-work*
__pycache__/
*.egg-info/
"""

FILES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    ".gitignore": GITIGNORE,
    "$package/__init__.py": PACKAGE_INIT,
    "$package/client.py": CLIENT,
    "$package/connector.py": CONNECTOR,
    "tests/test_connector.py": TESTS,
}
