"""The sync's action stack, serialised into the sync run's ``sync_token`` (c1z.md §7).

Upstream keeps a LIFO stack of actions; the top is the current one. We write
the same "V1" JSON layout so a file's resume state reads the same to both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from baton_cli.errors import C1ZError

OP_LIST_RESOURCE_TYPES = "list-resource-types"
OP_LIST_RESOURCES = "list-resources"
OP_LIST_ENTITLEMENTS = "list-entitlements"
OP_LIST_GRANTS = "list-grants"
OP_GRANT_EXPANSION = "grant-expansion"
OP_TARGETED = "targeted-resource-sync"

_ACTION_KEYS = (
    "operation",
    "page_token",
    "resource_type_id",
    "resource_id",
    "parent_resource_type_id",
    "parent_resource_id",
)


class Action(NamedTuple):
    # A NamedTuple rather than a frozen dataclass: a sync makes one or two per resource, and a
    # frozen dataclass's __init__ (object.__setattr__ per field) cost four times as much.
    operation: str
    page_token: str = ""
    resource_type_id: str = ""
    resource_id: str = ""
    parent_resource_type_id: str = ""
    parent_resource_id: str = ""

    def next_page(self, token: str) -> Action:
        return self._replace(page_token=token)


@dataclass(slots=True)
class SyncState:
    """Pending actions (last = current) plus the flags upstream keeps beside them."""

    actions: list[Action] = field(default_factory=list)
    needs_expansion: bool = False
    should_skip_entitlements_and_grants: bool = False
    should_skip_grants: bool = False
    completed_actions: int = 0

    def push(self, *actions: Action) -> None:
        """Push so that the first given action runs first."""
        self.actions.extend(reversed(actions))

    def pop(self) -> Action | None:
        return self.actions.pop() if self.actions else None

    def to_token(self) -> str:
        ids = [f"{i:010d}" for i in range(1, len(self.actions) + 1)]
        actions_map: dict[str, dict[str, Any]] = {}
        for action_id, action in zip(ids, self.actions, strict=True):
            entry: dict[str, Any] = {"id": action_id}
            for key in _ACTION_KEYS:
                value = getattr(action, key)
                if value:
                    entry[key] = value
            actions_map[action_id] = entry
        token: dict[str, Any] = {
            "actions_map": actions_map,
            "action_order": ids,
            "current_action_id": len(ids) + 1,
            "needs_expansion": self.needs_expansion,
            "should_skip_entitlements_and_grants": self.should_skip_entitlements_and_grants,
            "should_skip_grants": self.should_skip_grants,
            "completed_actions_count": self.completed_actions,
            "version": 1,
        }
        return json.dumps({k: v for k, v in token.items() if v or k == "version"}, separators=(",", ":"))

    @classmethod
    def from_token(cls, token: str) -> SyncState:
        """Read a V1 token (and the older V0 ``actions`` list form)."""
        if not token:
            return cls()
        try:
            raw = json.loads(token)
            if raw.get("version") in (1, 2):
                entries = [raw["actions_map"][i] for i in raw.get("action_order", [])]
            else:
                # V0: a stack in "actions" with the running action kept apart in "current_action".
                entries = list(raw.get("actions") or [])
                if raw.get("current_action"):
                    entries.append(raw["current_action"])
            actions = [Action(**{k: str(e.get(k, "")) for k in _ACTION_KEYS}) for e in entries]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise C1ZError(f"unreadable sync_token in c1z file: {exc}") from exc
        return cls(
            actions=actions,
            needs_expansion=bool(raw.get("needs_expansion", False)),
            should_skip_entitlements_and_grants=bool(raw.get("should_skip_entitlements_and_grants", False)),
            should_skip_grants=bool(raw.get("should_skip_grants", False)),
            completed_actions=int(raw.get("completed_actions_count", 0)),
        )
