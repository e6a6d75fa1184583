"""--workers: a parallel sync stores exactly a sequential sync's rows, and resumes exactly.

Real SQLite c1z files throughout; the interruption is triggered by a call count,
never by time.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.connector import builders
from baton_cli.connector.api import Entitlement, Grant, Page, Resource, ResourceId, ResourceType
from baton_cli.connector.demo.connector import DemoConnector
from baton_cli.connector.demo.model import Sizes
from baton_cli.core.cancel import CancelToken
from baton_cli.core.parallel import effective_workers
from baton_cli.core.sync import SyncEngine
from baton_cli.errors import CancelledError, ConnectorError, NotFoundError

Rows = dict[str, dict[str, bytes]]


class Directory:
    """Orgs (paged) with child teams; teams have paged grants to users; some calls say NOT_FOUND."""

    def __init__(self, orgs: int = 12, users: int = 9) -> None:
        self.orgs, self.users = orgs, users
        self.calls = 0
        self._lock = threading.Lock()
        self.after_call: list[object] = []  # hooks run after each counted call (the interrupt)

    def count(self) -> None:
        with self._lock:
            self.calls += 1
            calls = self.calls
        for hook in self.after_call:
            hook(calls)  # type: ignore[operator]

    def metadata(self) -> object:
        from baton_cli.connector.api import ConnectorMetadata

        return ConnectorMetadata(display_name="Directory")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> list[object]:
        return [_Users(self), _Orgs(self), _Teams(self)]


class _Users:
    def __init__(self, d: Directory) -> None:
        self.d = d

    @property
    def resource_type(self) -> ResourceType:
        return builders.resource_type("user", "User", [builders.TRAIT_USER])

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        start = int(page_token or 0)
        items = [
            builders.user_resource("user", f"u{i}", f"User {i}", email=f"u{i}@x")
            for i in range(start, min(start + 4, self.d.users))
        ]
        return Page(items, str(start + 4) if start + 4 < self.d.users else "")

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        self.d.count()
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        self.d.count()
        return Page([])


class _Orgs:
    def __init__(self, d: Directory) -> None:
        self.d = d

    @property
    def resource_type(self) -> ResourceType:
        return builders.resource_type("org", "Org")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        start = int(page_token or 0)
        items = [
            builders.resource("org", f"o{i}", f"Org {i}", children=["team"])
            for i in range(start, min(start + 5, self.d.orgs))
        ]
        return Page(items, str(start + 5) if start + 5 < self.d.orgs else "")

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        self.d.count()
        if resource.id.resource == "o3":
            raise NotFoundError("org o3 went away")  # a warning: the listing is skipped
        return Page([builders.permission_entitlement(resource, "admin")])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        self.d.count()
        return Page([])


class _Teams:
    def __init__(self, d: Directory) -> None:
        self.d = d

    @property
    def resource_type(self) -> ResourceType:
        return builders.resource_type("team", "Team", [builders.TRAIT_GROUP])

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if parent is None:
            return Page([])
        self.d.count()
        start = int(page_token or 0)
        teams = [
            builders.group_resource("team", f"{parent.resource}-t{i}", f"Team {i}", parent=parent)
            for i in range(start, min(start + 2, 3))
        ]
        return Page(teams, str(start + 2) if start + 2 < 3 else "")

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        self.d.count()
        return Page([builders.assignment_entitlement(resource, "member")])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        self.d.count()
        member = builders.assignment_entitlement(resource, "member")
        start = int(page_token or 0)
        stop = min(start + 2, self.d.users)
        grants = [builders.grant(member, builders.resource_id("user", f"u{i}")) for i in range(start, stop)]
        return Page(grants, str(stop) if stop < self.d.users else "")


def rows(path: Path) -> Rows:
    with C1ZReader.open(path) as reader:
        sync = reader.pick_sync()
        return {
            "resource_types": {
                t.id: t.SerializeToString(deterministic=True) for t in reader.resource_types(sync.sync_id)
            },
            "resources": {
                f"{r.id.resource_type}:{r.id.resource}": r.SerializeToString(deterministic=True)
                for r in reader.resources(sync.sync_id)
            },
            "entitlements": {
                e.id: e.SerializeToString(deterministic=True) for e in reader.entitlements(sync.sync_id)
            },
            "grants": {g.id: g.SerializeToString(deterministic=True) for g in reader.grants(sync.sync_id)},
        }


def sync(
    connector: object, out: Path, workers: int, cancel: CancelToken | None = None, checkpoint: float = 3600
) -> None:
    writer = C1ZWriter.open(out, tmp_dir=out.parent, resumable=True)
    with writer:
        engine = SyncEngine(connector, writer, workers=workers, cancel=cancel, checkpoint_interval=checkpoint)  # type: ignore[arg-type]
        engine.run()
        writer.save()


@pytest.mark.parametrize("workers", [2, 8])
def test_parallel_listing_stores_the_sequential_rows(tmp_path: Path, workers: int) -> None:
    sequential, parallel = tmp_path / "seq.c1z", tmp_path / "par.c1z"
    sync(Directory(), sequential, 1)
    sync(Directory(), parallel, workers)
    expected = rows(sequential)
    assert len(expected["grants"]) == 12 * 3 * 9  # every team's paged grants, children included
    assert rows(parallel) == expected


def test_parallel_demo_sync_with_expansion_matches_sequential(tmp_path: Path) -> None:
    sizes = Sizes(users=60, groups=12, memberships=240, roles=3)
    sync(DemoConnector(sizes, 7), tmp_path / "seq.c1z", 1)
    sync(DemoConnector(sizes, 7), tmp_path / "par.c1z", 4)
    assert rows(tmp_path / "par.c1z") == rows(tmp_path / "seq.c1z")


@pytest.mark.parametrize("stop_after", [5, 40, 90])
def test_interrupted_parallel_sync_resumes_exactly(tmp_path: Path, stop_after: int) -> None:
    sync(Directory(), tmp_path / "seq.c1z", 1)
    reference = Directory()
    sync(reference, tmp_path / "ref.c1z", 4)

    out = tmp_path / "par.c1z"
    first = Directory()
    cancel = CancelToken()
    first.after_call.append(lambda calls: calls == stop_after and cancel.cancel("test stops the sync"))
    with pytest.raises(CancelledError):
        sync(first, out, 4, cancel)
    assert not out.exists()  # the work is kept beside it for the resume
    second = Directory()
    sync(second, out, 4)

    assert rows(out) == rows(tmp_path / "seq.c1z")
    # Nothing is asked for twice: the pages in flight at the stop were stored before the
    # checkpoint, and the resumed run carried on from exactly there.
    assert first.calls >= stop_after
    assert first.calls + second.calls == reference.calls


def test_checkpoints_inside_a_parallel_phase_resume_exactly_after_a_failure(tmp_path: Path) -> None:
    """A checkpoint taken while listings are in flight records their tokens: a crash resumes from it."""
    sync(Directory(), tmp_path / "seq.c1z", 1)
    reference = Directory()
    sync(reference, tmp_path / "ref.c1z", 4)
    out = tmp_path / "par.c1z"
    first = Directory()

    def crash(calls: int) -> None:
        if calls == 150:  # in the grants phase, well past its first checkpoints
            raise ConnectorError("upstream API said 500")

    first.after_call.append(crash)
    with pytest.raises(ConnectorError, match="500"):
        sync(first, out, 4, checkpoint=0)
    second = Directory()
    sync(second, out, 4, checkpoint=0)
    assert rows(out) == rows(tmp_path / "seq.c1z")
    assert second.calls < reference.calls - 100  # carried on from the checkpoint, not from the start


def test_first_hard_error_fails_the_batch(tmp_path: Path) -> None:
    directory = Directory()

    def fail(calls: int) -> None:
        if calls == 30:
            raise ConnectorError("upstream API said 500")

    directory.after_call.append(fail)
    with pytest.raises(ConnectorError, match="500"):
        sync(directory, tmp_path / "par.c1z", 4)


@pytest.mark.parametrize(
    ("requested", "cpus", "expected"),
    [(-1, 2, 2), (-1, 16, 4), (-1, 1, 1), (0, 8, 1), (1, 8, 1), (6, 2, 6)],
)
def test_worker_count_follows_upstream(requested: int, cpus: int, expected: int) -> None:
    assert effective_workers(requested, cpus) == expected


def test_worker_count_below_auto_is_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        effective_workers(-2, 4)
