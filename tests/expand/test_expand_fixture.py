"""Compatibility: our expansion of upstream's paused sync gives upstream's expanded grants.

small-unexpanded.c1z is an unfinished sync written by the Go SDK, stopped at
grant expansion; small-expanded.c1z is the same sync after the SDK expanded it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader, C1ZWriter, SyncRun
from baton_cli.core.expand import ExpansionResult, ExpansionStore, expand_grants, is_direct
from baton_cli.core.sync_state import SyncState
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, grant_pb2
from tests.external import fixture_path

SYNC_ID = "36zfOAoWMxQdISbixanQCRBiX7E"

Sources = dict[str, bool]


def fixture(name: str) -> Path:
    return fixture_path(name)


def grants_by_id(path: Path) -> dict[str, grant_pb2.Grant]:
    with C1ZReader.open(path) as reader:
        run = reader.pick_sync(SYNC_ID)
        return {g.id: g for g in reader.grants(run.sync_id)}


def paused_sync(writer: C1ZWriter) -> SyncRun:
    # Older than the 7-day resume window, so found by id rather than by unfinished_sync().
    run = writer.store.pick_sync(SYNC_ID)
    assert not run.finished
    assert [a.operation for a in SyncState.from_token(run.sync_token).actions] == ["grant-expansion"]
    return run


def sources(grant: grant_pb2.Grant) -> Sources:
    return {key: value.is_direct for key, value in grant.sources.sources.items()}


@pytest.fixture(scope="module")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ExpansionResult]]:
    work = tmp_path_factory.mktemp("expand")
    target = work / "sync.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)
    with C1ZWriter.open(target, tmp_dir=work) as writer:
        state = SyncState.from_token(writer.resume_sync(paused_sync(writer)))
        store: ExpansionStore = writer.expansion_store()  # the SQLite store satisfies core's Protocol
        result = expand_grants(store, env={})
        state.actions.clear()
        writer.set_sync_token(state.to_token())
        writer.end_sync()
        writer.save()
    yield target, result


@pytest.fixture(scope="module")
def ours(expanded: tuple[Path, ExpansionResult]) -> dict[str, grant_pb2.Grant]:
    """The grants of our expanded file, read once for the tests that only look at them."""
    return grants_by_id(expanded[0])


@pytest.fixture(scope="module")
def theirs() -> dict[str, grant_pb2.Grant]:
    """The grants of upstream's expanded file, read once."""
    return grants_by_id(fixture("small-expanded.c1z"))


def test_expansion_reports_the_graph(expanded: tuple[Path, ExpansionResult]) -> None:
    _, result = expanded
    # 409 expandable grants naming 799 source entitlements, 20 nested group levels, no cycles.
    assert (result.edges, result.dropped_edges, result.cycles_collapsed, result.layers) == (799, 0, 0, 20)
    assert result.grants_created == 14_981 - 2_909


def test_same_grant_ids_and_source_keys_as_upstream(
    ours: dict[str, grant_pb2.Grant], theirs: dict[str, grant_pb2.Grant]
) -> None:
    assert len(theirs) == 14_981
    assert ours.keys() == theirs.keys()
    mismatched = [gid for gid, g in theirs.items() if sources(g).keys() != sources(ours[gid]).keys()]
    assert mismatched == []
    for gid, g in theirs.items():
        assert ours[gid].entitlement.id == g.entitlement.id
        assert ours[gid].principal.id == g.principal.id


def test_upstream_file_predates_is_direct(theirs: dict[str, grant_pb2.Grant]) -> None:
    # The expected file was written by an SDK from before GrantSource.is_direct was filled in:
    # every flag is false, even the {D: {is_direct: true}} entries §7.5 requires. Its flags can
    # therefore not be compared; test_is_direct_follows_the_spec checks ours instead.
    assert {flag for g in theirs.values() for flag in sources(g).values()} == {False}


def test_is_direct_follows_the_spec(ours: dict[str, grant_pb2.Grant]) -> None:
    held: dict[tuple[str, str, str], list[grant_pb2.Grant]] = {}
    for g in ours.values():
        held.setdefault((g.entitlement.id, g.principal.id.resource_type, g.principal.id.resource), []).append(
            g
        )
    checked = 0
    for g in ours.values():
        principal = (g.principal.id.resource_type, g.principal.id.resource)
        for source_id, direct in sources(g).items():
            if source_id == g.entitlement.id:
                assert direct, g.id  # a grant held before expansion stays direct
                continue
            # Direct exactly when the principal's own grant on the source is direct for it.
            expected = any(is_direct(h, source_id) for h in held[(source_id, *principal)])
            assert direct == expected, (g.id, source_id)
            checked += 1
    assert checked == 26_670 - 1_199  # every source entry except the self-entries


def test_saved_file_is_finished_with_expansion_done(expanded: tuple[Path, ExpansionResult]) -> None:
    path = expanded[0]
    with C1ZReader.open(path) as reader:
        run = reader.pick_sync()
        assert (run.sync_id, run.finished) == (SYNC_ID, True)
        assert run.stats is not None and run.stats["grants"] == 14_981
        assert SyncState.from_token(run.sync_token).actions == []
        # Preserve-expansion writes kept every GrantExpandable in its column.
        expandable = [
            g.id
            for g in reader.grants(run.sync_id, with_expansion=True)
            if any(a.Is(annotation_grant_pb2.GrantExpandable.DESCRIPTOR) for a in g.annotations)
        ]
        assert len(expandable) == 409
        assert reader.pending_expansion_sync_ids() == set()


def test_unsaved_expansion_leaves_the_file_and_no_work_copy(tmp_path: Path) -> None:
    target = tmp_path / "sync.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(RuntimeError, match="interrupted"), C1ZWriter.open(target, tmp_dir=work) as writer:
        writer.resume_sync(paused_sync(writer))
        expand_grants(writer.expansion_store(), env={})
        raise RuntimeError("interrupted")
    assert target.read_bytes() == fixture("small-unexpanded.c1z").read_bytes()
    assert list(work.iterdir()) == []
