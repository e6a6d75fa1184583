"""The bundled ``demo`` connector (entry point ``demo = baton_cli.connector.demo:plugin``).

It generates a deterministic directory sized by its settings:

- ``users`` users ``u0000000``.., named ``User i``, email ``user<i>@example.com``, login ``user<i>``;
- ``groups`` groups ``g000000``.., each with a ``member`` entitlement granted to users;
- ``memberships`` total memberships: group g's members are users ``(g*per + k) % users``
  for k < per, where per = min(memberships // groups, users);
- ``roles`` roles ``r00000``.., each with an ``assignment`` entitlement; role r is granted
  to every group g with ``g % roles == r``, expandable to the group's members.

All three resource types are always listed (user, group, role), even when a count is 0.
Every listing is paginated by ``page-size``; ``latency-ms`` makes every connector call sleep
that long first (a stand-in for an API's round trip, to try ``--workers``). Provisioning
(grant, revoke, create account or user resource, delete, rotate credentials, issue API keys)
needs ``state-file``, where changes are kept for later syncs. The same file holds the demo's
ticket system (``tickets.py``), the progress of its long-running action (``actions.py``) and
its event feed of provisioning changes (``events.py``).
"""

from __future__ import annotations

from pathlib import Path

from baton_cli import __version__
from baton_cli.connector.config import Config
from baton_cli.connector.demo.connector import DemoConnector
from baton_cli.connector.demo.model import Sizes
from baton_cli.connector.plugin import ConfigField, Plugin
from baton_cli.errors import UsageError

FIELDS = (
    # Bounds keep a typo (--users 99999999999999999999) from starting a sync that never ends.
    ConfigField(
        "users", "int", default=50, minimum=0, maximum=10_000_000, description="number of generated users"
    ),
    ConfigField(
        "groups", "int", default=5, minimum=0, maximum=1_000_000, description="number of generated groups"
    ),
    ConfigField(
        "memberships",
        "int",
        default=200,
        minimum=0,
        maximum=100_000_000,
        description="total group memberships, spread evenly",
    ),
    ConfigField(
        "roles",
        "int",
        default=3,
        minimum=0,
        maximum=100_000,
        description="number of roles, each granted to groups",
    ),
    ConfigField(
        "page-size",
        "int",
        default=100,
        minimum=1,
        maximum=100_000,
        description="items per page in every listing",
    ),
    ConfigField(
        "latency-ms",
        "int",
        default=0,
        description="milliseconds each connector call sleeps first, like an API round trip",
    ),
    ConfigField(
        "state-file",
        "string",
        default="",
        description="JSON file recording provisioning changes (required to provision)",
    ),
)


def _count(config: Config, name: str, minimum: int) -> int:
    value = config.get_int(name)
    if value < minimum:
        raise UsageError(f"invalid value for --{name}: must be at least {minimum}, got {value}")
    return value


def build(config: Config) -> DemoConnector:
    sizes = Sizes(
        users=_count(config, "users", 0),
        groups=_count(config, "groups", 0),
        memberships=_count(config, "memberships", 0),
        roles=_count(config, "roles", 0),
    )
    state_file = config.get_str("state-file")
    return DemoConnector(
        sizes,
        _count(config, "page-size", 1),
        Path(state_file).expanduser() if state_file else None,
        latency_ms=_count(config, "latency-ms", 0),
    )


plugin = Plugin(
    name="demo",
    description="Generated users, groups and roles for trying baton without a real system",
    fields=FIELDS,
    factory=build,
    version=__version__,
)

__all__ = ["FIELDS", "DemoConnector", "build", "plugin"]
