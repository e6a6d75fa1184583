from __future__ import annotations

import json

import pytest

from baton_cli.connector.api import Entitlement, Grant, Page, Resource
from baton_cli.core.cancel import CancelToken
from baton_cli.core.progress import Phase, RowKind
from baton_cli.core.sync import SyncEngine
from baton_cli.core.sync_state import Action, SyncState
from baton_cli.errors import CancelledError, ConnectorError
from tests.core.fakes import FakeConnector, MemoryStore, OrgSyncer, TeamSyncer


class RecordingObserver:
    def __init__(self) -> None:
        self.events: list[str] = []

    def phase_started(self, phase: Phase) -> None:
        self.events.append(f"phase:{phase.value}")

    def page_stored(self, kind: RowKind, rows: int) -> None:
        self.events.append(f"{kind.value}:{rows}")

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        self.events.append(f"progress:{phase.value}:{done}/{total}")

    def note(self, message: str) -> None:
        self.events.append(f"note:{message}")


def test_children_are_listed_depth_first_before_the_parents_next_page() -> None:
    store = MemoryStore()
    engine = SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer()), store)  # type: ignore[arg-type]
    result = engine.run()
    order = [f"{r.id.resource_type}:{r.id.resource}" for r in store.resources]
    assert order == ["org:o1", "team:o1-t", "org:o2", "team:o2-t"]
    assert result.counts == {"resource_types": 2, "resources": 4, "entitlements": 2, "grants": 0}
    assert [e.id for e in store.entitlements] == ["org:o1:admin", "org:o2:admin"]
    assert store.ended


def test_phases_are_reported_in_upstream_order() -> None:
    observer = RecordingObserver()
    SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer()), MemoryStore(), observer=observer).run()  # type: ignore[arg-type]
    phases = [e for e in observer.events if e.startswith("phase:")]
    assert phases == [
        "phase:validate",
        "phase:list-resource-types",
        "phase:list-resources",
        "phase:list-entitlements",
        "phase:list-grants",
        "phase:finalize",
    ]
    assert "resources:1" in observer.events


def test_missing_declared_trait_fails_the_sync_naming_the_resource() -> None:
    engine = SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer(with_trait=False)), MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(ConnectorError, match=r"team:o1-t lacks the GroupTrait annotation"):
        engine.run()


def test_connector_failure_names_phase_type_and_resource() -> None:
    engine = SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer(fail_grants=True)), MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(ConnectorError) as info:
        engine.run()
    message = str(info.value)
    assert "list-grants for resource type 'team'" in message
    assert "resource 'o1-t'" in message
    assert "upstream API said 500" in message


def test_cancel_stops_between_pages() -> None:
    token = CancelToken()
    token.cancel("user pressed Ctrl-C")
    store = MemoryStore()
    with pytest.raises(CancelledError, match="Ctrl-C"):
        SyncEngine(FakeConnector(OrgSyncer()), store, cancel=token).run()  # type: ignore[arg-type]
    assert not store.ended


def test_checkpoint_writes_the_action_stack_when_the_interval_passed() -> None:
    ticks = iter(range(0, 10_000, 11))  # every clock read is 11 s later
    store = MemoryStore()
    SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer()), store, clock=lambda: float(next(ticks))).run()  # type: ignore[arg-type]
    assert store.checkpoints > 0
    mid = json.loads(store.tokens[0])
    assert mid["version"] == 1 and mid["action_order"]
    final = json.loads(store.tokens[-1])
    assert "action_order" not in final  # finished: empty stack


def test_sync_state_token_round_trips() -> None:
    state = SyncState(needs_expansion=True, completed_actions=7)
    state.push(Action("list-resources", resource_type_id="user", page_token="abc"), Action("list-grants"))
    again = SyncState.from_token(state.to_token())
    assert again.actions == state.actions
    assert again.needs_expansion and again.completed_actions == 7
    assert again.pop() == Action("list-resources", resource_type_id="user", page_token="abc")


def test_v0_token_keeps_its_current_action_on_top() -> None:
    token = '{"actions":[{"operation":"list-grants"}],"current_action":{"operation":"grant-expansion"}}'
    state = SyncState.from_token(token)
    assert state.pop() == Action("grant-expansion")
    assert state.pop() == Action("list-grants")


def test_phase_changes_checkpoint_even_without_time_passing() -> None:
    store = MemoryStore()
    SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer()), store, clock=lambda: 0.0).run()  # type: ignore[arg-type]
    tops = [
        json.loads(t)["actions_map"][json.loads(t)["action_order"][-1]]["operation"]
        for t in store.tokens[:-1]
    ]
    assert tops == ["list-resources", "list-entitlements", "list-grants", "grant-expansion"][: len(tops)]
    assert "list-entitlements" in tops and "list-grants" in tops


class TickingClock:
    """Each reading is a second later: every throttled progress report goes out."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_entitlement_and_grant_walks_report_done_of_the_resources_stored() -> None:
    observer = RecordingObserver()
    SyncEngine(
        FakeConnector(OrgSyncer(), TeamSyncer()),  # type: ignore[arg-type]
        MemoryStore(),
        observer=observer,
        clock=TickingClock(),
    ).run()
    progress = [e for e in observer.events if e.startswith("progress:")]
    walk = [f"{done}/4" for done in range(5)]
    assert progress == [f"progress:list-entitlements:{p}" for p in walk] + [
        f"progress:list-grants:{p}" for p in walk
    ]


class ResumingStore(MemoryStore):
    """A store whose unfinished sync stopped in the grants walk, after resource 2 of 4."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def unfinished_sync(self, sync_type: str = "full") -> object:  # type: ignore[override]
        return type("Run", (), {"sync_id": "old", "started_at": "2026-01-01T00:00:00Z"})()

    def resume_sync(self, run: object) -> str:
        return self.token


def test_a_resumed_walk_starts_part_way() -> None:
    first = MemoryStore()
    SyncEngine(FakeConnector(OrgSyncer(), TeamSyncer()), first).run()  # type: ignore[arg-type]
    # Left to do: resource 3's grants, then the walk from row 3 on (resource 4).
    state = SyncState(completed_actions=12)
    rid = first.resources[2].id
    state.push(
        Action("list-grants", resource_type_id=rid.resource_type, resource_id=rid.resource),
        Action("list-grants", page_token="3"),
    )
    store = ResumingStore(state.to_token())
    store.resources = list(first.resources)
    observer = RecordingObserver()
    SyncEngine(
        FakeConnector(OrgSyncer(), TeamSyncer()),  # type: ignore[arg-type]
        store,
        observer=observer,
        clock=TickingClock(),
    ).run()
    progress = [e for e in observer.events if e.startswith("progress:")]
    assert progress == ["progress:list-grants:2/4", "progress:list-grants:3/4", "progress:list-grants:4/4"]


class SyncAwareConnector(FakeConnector):
    def __init__(self, *syncers: object) -> None:
        super().__init__(*syncers)
        self.calls: list[str] = []

    def sync_started(self, sync_id: str) -> None:
        self.calls.append(f"started:{sync_id}")

    def sync_finished(self, sync_id: str) -> None:
        self.calls.append(f"finished:{sync_id}")


def test_sync_aware_connector_learns_the_sync_id_and_its_end() -> None:
    store = MemoryStore()
    connector = SyncAwareConnector(OrgSyncer(), TeamSyncer())
    result = SyncEngine(connector, store).run()  # type: ignore[arg-type]
    assert connector.calls == [f"started:{result.sync_id}", f"finished:{result.sync_id}"]


class _RepeatingOrgSyncer(OrgSyncer):
    """Lists each org's admin entitlement twice in one page, and a grant of it twice too."""

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        page = super().entitlements(resource, page_token)
        return Page([*page.items, *page.items])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        admin = super().entitlements(resource, "").items[0]
        grant = Grant(id=f"{admin.id}:org:{resource.id.resource}", entitlement=admin, principal=resource)
        return Page([grant, grant])


def test_an_id_listed_twice_in_a_page_is_a_warning_naming_the_listing() -> None:
    store = MemoryStore()
    result = SyncEngine(FakeConnector(_RepeatingOrgSyncer()), store).run()  # type: ignore[arg-type]
    assert (
        "entitlement id 'org:o1:admin' appears twice in one page listed for 'org:o1'; the last one is kept"
        in (result.warnings)
    )
    assert (
        "grant id 'org:o2:admin:org:o2' appears twice in one page listed for 'org:o2'; the last one is kept"
        in (result.warnings)
    )


def test_an_id_listed_twice_in_a_page_fails_a_strict_sync() -> None:
    engine = SyncEngine(FakeConnector(_RepeatingOrgSyncer()), MemoryStore(), duplicate_ids="error")  # type: ignore[arg-type]
    with pytest.raises(ConnectorError, match=r"entitlement id 'org:o1:admin' appears twice .* for 'org:o1'$"):
        engine.run()
