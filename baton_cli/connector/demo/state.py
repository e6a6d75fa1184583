"""The demo's provisioning state: a small JSON file of changes to the generated data.

Grants, revocations, created accounts and deletions are recorded here so the
next sync (possibly by another process) sees them. The file is rewritten
atomically (temp file + rename) and re-read whenever it changes on disk.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from baton_cli.connector.demo.model import Sizes
from baton_cli.errors import ConnectorError, FailedPreconditionError

T = TypeVar("T")

STATE_VERSION = 1
NEEDS_STATE_FILE = "demo: set --state-file to provision"


@dataclass(frozen=True, slots=True)
class CreatedUser:
    id: str
    login: str
    email: str
    display_name: str


class DemoState:
    """Changes on top of the generated data.

    Readers get the store's current instance and must not mutate it; writers
    mutate a private copy that then replaces it (see ``StateStore.update``).
    """

    __slots__ = (
        "actions",
        "created",
        "deleted",
        "events",
        "granted",
        "issued",
        "next_user",
        "revoked",
        "sizes",
        "tickets",
    )

    def __init__(self, sizes: dict[str, int] | None = None, next_user: int | None = None) -> None:
        self.sizes = sizes
        self.next_user = next_user
        self.created: dict[str, CreatedUser] = {}
        self.deleted: set[str] = set()  # "<type>:<id>" of deleted generated objects
        self.revoked: set[str] = set()  # ids of revoked generated grants
        # entitlement id -> principals (type, id) granted through provisioning, in order.
        self.granted: dict[str, list[tuple[str, str]]] = {}
        # The ticket system, actions and event feed (demo/tickets.py, actions.py, events.py) keep
        # plain JSON records: tickets as protobuf JSON, in creation order.
        self.tickets: list[dict[str, Any]] = []
        self.actions: dict[str, dict[str, Any]] = {}  # action id -> {"name", "steps", "polls"}
        self.events: list[dict[str, Any]] = []  # provisioning changes, oldest first
        self.issued: list[str] = []  # request ids of issued credentials

    def record_event(self, kind: str, **fields: str) -> None:
        """Note a provisioning change for the event feed (``kind``: grant, revoke or change)."""
        self.events.append({"id": f"ev{len(self.events) + 1:07d}", "at": time.time(), "kind": kind, **fields})

    def is_deleted(self, type_id: str, object_id: str) -> bool:
        return bool(self.deleted) and f"{type_id}:{object_id}" in self.deleted

    def added_grants(self, entitlement_id: str) -> list[tuple[str, str]]:
        return self.granted.get(entitlement_id, [])

    def forget(self, type_id: str, object_id: str) -> None:
        """Drop every recorded change that mentions a deleted object."""
        if type_id == "user":
            self.created.pop(object_id, None)
        prefix = f"{type_id}:{object_id}:"
        suffix = f":{type_id}:{object_id}"
        self.revoked = {g for g in self.revoked if not g.startswith(prefix) and not g.endswith(suffix)}
        self.granted = {
            ent: kept
            for ent, principals in self.granted.items()
            if not ent.startswith(prefix) and (kept := [p for p in principals if p != (type_id, object_id)])
        }

    def to_json(self) -> dict[str, object]:
        return {
            "version": STATE_VERSION,
            "sizes": self.sizes,
            "next_user": self.next_user,
            "created_users": [
                {"id": u.id, "login": u.login, "email": u.email, "display_name": u.display_name}
                for u in self.created.values()
            ],
            "deleted": sorted(self.deleted),
            "revoked": sorted(self.revoked),
            "granted": [
                {"entitlement": ent, "principal_type": ptype, "principal_id": pid}
                for ent, principals in self.granted.items()
                for ptype, pid in principals
            ],
            "tickets": self.tickets,
            "actions": self.actions,
            "events": self.events,
            "issued": self.issued,
        }

    @classmethod
    def from_json(cls, data: object) -> DemoState:
        """Parse what ``to_json`` wrote; ValueError names the first bad part."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError(f"expected a JSON object with version {STATE_VERSION}")
        sizes = data.get("sizes")
        if sizes is not None and not (
            isinstance(sizes, dict) and all(isinstance(v, int) for v in sizes.values())
        ):
            raise ValueError("'sizes' must map names to integers")
        next_user = data.get("next_user")
        if next_user is not None and not isinstance(next_user, int):
            raise ValueError("'next_user' must be an integer")
        state = cls(sizes, next_user)
        for user in _records(data, "created_users", ("id", "login", "email", "display_name")):
            state.created[user["id"]] = CreatedUser(**user)
        state.deleted = set(_strings(data, "deleted"))
        state.revoked = set(_strings(data, "revoked"))
        for record in _records(data, "granted", ("entitlement", "principal_type", "principal_id")):
            principal = (record["principal_type"], record["principal_id"])
            state.granted.setdefault(record["entitlement"], []).append(principal)
        state.tickets = _typed(data, "tickets", list, dict)
        state.actions = _typed(data, "actions", dict, dict)
        state.events = _typed(data, "events", list, dict)
        state.issued = _strings(data, "issued")
        return state

    def copy(self) -> DemoState:
        return DemoState.from_json(self.to_json())


def _strings(data: dict[str, object], key: str) -> list[str]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"{key!r} must be a list of strings")
    return items


def _typed(data: dict[str, object], key: str, container: type, item: type) -> Any:
    """An optional list or object of JSON objects (absent in files written before it existed)."""
    value = data.get(key, container())
    items: Iterable[object] = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    if not isinstance(value, container) or not all(isinstance(entry, item) for entry in items):
        raise ValueError(f"{key!r} must be a JSON {'list' if container is list else 'object'} of objects")
    return value


def _records(data: dict[str, object], key: str, fields: Iterable[str]) -> list[dict[str, str]]:
    items = data.get(key, [])
    names = tuple(fields)
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and set(item) == set(names) and all(isinstance(item[n], str) for n in names)
        for item in items
    ):
        raise ValueError(f"{key!r} must be a list of objects with string fields {', '.join(names)}")
    return cast("list[dict[str, str]]", items)


class StateStore:
    """Loads, caches and atomically rewrites the state file; no file means no changes."""

    def __init__(self, path: Path | None, sizes: Sizes) -> None:
        self.path = path
        self._sizes = sizes
        self._lock = threading.Lock()
        self._state = DemoState(sizes.as_dict(), sizes.users)
        self._stamp: tuple[int, int, int] | None = None

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def require(self) -> Path:
        if self.path is None:
            raise FailedPreconditionError(NEEDS_STATE_FILE)
        return self.path

    def current(self) -> DemoState:
        """The latest state, re-read only when the file changed since the last look."""
        if self.path is None:
            return self._state
        with self._lock:
            return self._refresh(self.path)

    def update(self, change: Callable[[DemoState], T]) -> T:
        """Apply ``change`` to a copy of the latest state and write it; returns what change returns."""
        path = self.require()
        with self._lock:
            state = self._refresh(path).copy()
            result = change(state)
            self._write(path, state)
            self._state = state
            self._stamp = _stamp(path)
            return result

    def _refresh(self, path: Path) -> DemoState:
        stamp = _stamp(path)
        if stamp != self._stamp:
            self._state = (
                self._read(path) if stamp is not None else DemoState(self._sizes.as_dict(), self._sizes.users)
            )
            self._stamp = stamp
        return self._state

    def _read(self, path: Path) -> DemoState:
        try:
            state = DemoState.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            # ValueError covers bad JSON too; its message names a position, not content.
            raise ConnectorError(f"demo: state file {path} is unreadable: {error}") from None
        expected = self._sizes.as_dict()
        if state.sizes is not None and state.sizes != expected:
            made = ", ".join(f"{k}={v}" for k, v in sorted(state.sizes.items()))
            raise FailedPreconditionError(
                f"demo: state file {path} was made for {made}; use the same sizes or a new state file"
            )
        state.sizes = expected
        if state.next_user is None:
            state.next_user = self._sizes.users
        return state

    def _write(self, path: Path, state: DemoState) -> None:
        text = json.dumps(state.to_json(), indent=1, sort_keys=True) + "\n"
        try:
            descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as error:
            raise ConnectorError(f"demo: cannot write state file {path}: {error.strerror}") from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
