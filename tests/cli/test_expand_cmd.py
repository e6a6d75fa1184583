"""`baton expand`: finishing a paused grant expansion offline, and refusing files with nothing to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader
from baton_cli.core.sync_options import SyncOptions
from baton_cli.core.sync_state import SyncState
from baton_cli.errors import FailedPreconditionError, NotFoundError, StatusCode
from baton_cli.wiring import PluginRequest, run_expand, run_local_sync
from tests.c1z.helpers import fixture
from tests.cli.invoke import baton_here

ROOT = Path(__file__).resolve().parents[2]
PAUSED_SYNC = "36zfOAoWMxQdISbixanQCRBiX7E"  # small-unexpanded.c1z, stopped at grant expansion


def grant_ids(path: Path, sync_id: str) -> set[str]:
    with C1ZReader.open(path) as reader:
        return {g.id for g in reader.grants(sync_id)}


def demo_sync(out: Path, *args: str, options: SyncOptions | None = None) -> str:
    request = PluginRequest(
        spec="demo", args=["--users", "20", "--groups", "4", "--memberships", "40", *args]
    )
    return run_local_sync(request, out, options=options).sync_id


def test_expand_finishes_the_paused_upstream_sync(tmp_path: Path) -> None:
    target = tmp_path / "paused.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)

    result = baton_here("expand", "-f", str(target), "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sync_id"] == PAUSED_SYNC
    assert summary["grants_created"] == 14_981 - 2_909
    assert (summary["edges"], summary["dropped_edges"], summary["layers"]) == (799, 0, 20)
    assert summary["bytes"] == target.stat().st_size
    assert grant_ids(target, PAUSED_SYNC) == grant_ids(fixture("small-expanded.c1z"), PAUSED_SYNC)
    with C1ZReader.open(target) as reader:
        (run,) = reader.syncs()
        assert run.finished
        assert run.stats is not None and run.stats["grants"] == 14_981
        assert SyncState.from_token(run.sync_token).actions == []
        assert reader.pending_expansion_sync_ids() == set()
    assert [p.name for p in tmp_path.iterdir()] == ["paused.c1z"]  # no temp file left behind

    again = baton_here("expand", "-f", str(target), cwd=tmp_path)
    assert again.returncode == StatusCode.FAILED_PRECONDITION
    assert again.stdout == ""
    assert again.stderr == f"baton: error: {target} has no sync with a pending grant expansion\n"


def test_text_summary_names_what_was_added(tmp_path: Path) -> None:
    target = tmp_path / "paused.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)
    result = baton_here("expand", "--file", str(target), "--sync-id", PAUSED_SYNC, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Expanded sync {PAUSED_SYNC} in {target}: 12,072 grants created, ")
    assert "from 799 edges in 20 layers;" in result.stdout


def test_a_file_without_pending_expansion_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "plain.c1z"
    demo_sync(out, "--roles", "0")  # no role grants: nothing is expandable
    before = out.read_bytes()

    result = baton_here("expand", "-f", str(out), cwd=tmp_path)

    assert result.returncode == StatusCode.FAILED_PRECONDITION
    assert result.stderr == f"baton: error: {out} has no sync with a pending grant expansion\n"
    assert out.read_bytes() == before


def test_a_sync_still_collecting_is_not_sealed(tmp_path: Path) -> None:
    target = tmp_path / "collecting.c1z"
    shutil.copyfile(fixture("sync-in-progress.c1z"), target)
    result = baton_here("expand", "-f", str(target), cwd=tmp_path)
    assert result.returncode == StatusCode.FAILED_PRECONDITION
    assert "stopped in list-entitlements, before grant expansion" in result.stderr
    assert result.stderr.count("\n") == 1
    assert target.read_bytes() == fixture("sync-in-progress.c1z").read_bytes()


def test_missing_file_and_unknown_sync_id(tmp_path: Path) -> None:
    missing = baton_here("expand", "-f", str(tmp_path / "nope.c1z"), cwd=tmp_path)
    assert missing.returncode == StatusCode.NOT_FOUND
    assert not (tmp_path / "nope.c1z").exists()
    target = tmp_path / "paused.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)
    with pytest.raises(NotFoundError, match="sync 2a not found"):
        run_expand(target, "2a", tmp_dir=tmp_path)


def test_a_finished_sync_with_grants_left_for_expansion(tmp_path: Path) -> None:
    # skip_expand_grants leaves the GrantExpandable grants marked, as for ConductorOne to expand.
    out = tmp_path / "later.c1z"
    sync_id = demo_sync(out, "--roles", "2", options=SyncOptions(skip_expand_grants=True))
    with C1ZReader.open(out) as reader:
        assert reader.pending_expansion_sync_ids() == {sync_id}
        ended = reader.pick_sync(sync_id).ended_at
        before = {g.id for g in reader.grants(sync_id)}

    summary = run_expand(out, tmp_dir=tmp_path)

    assert (summary.sync_id, summary.was_finished) == (sync_id, True)
    # Groups 0 and 2 both hold users 0-9 (groups 1 and 3: users 10-19); role 0 goes to groups 0 and 2,
    # role 1 to groups 1 and 3, so each user gains exactly one role.
    assert summary.grants_created == 20
    with C1ZReader.open(out) as reader:
        run = reader.pick_sync(sync_id)
        assert run.ended_at == ended  # re-sealing keeps the original end time
        assert reader.pending_expansion_sync_ids() == set()
        assert len({g.id for g in reader.grants(sync_id)} - before) == 20
    with pytest.raises(FailedPreconditionError, match=f"sync {sync_id} in .* has no pending grant expansion"):
        run_expand(out, sync_id, tmp_dir=tmp_path)


def test_an_upstream_file_that_was_already_expanded_is_refused(tmp_path: Path) -> None:
    from baton_cli.cli.app import main

    copy = tmp_path / "expanded.c1z"
    shutil.copyfile(fixture("small-expanded.c1z"), copy)
    before = copy.read_bytes()
    with pytest.raises(SystemExit) as info:
        main(["expand", "-f", str(copy)])
    assert info.value.code == 9
    assert copy.read_bytes() == before


class ProgressRecorder:
    def __init__(self) -> None:
        self.progress: list[tuple[str, int, int]] = []
        self.phases: list[str] = []

    def phase_started(self, phase: object) -> None:
        self.phases.append(str(phase))

    def page_stored(self, kind: object, rows: int) -> None:
        pass

    def phase_progress(self, phase: object, done: int, total: int) -> None:
        self.progress.append((str(phase), done, total))

    def note(self, message: str) -> None:
        pass


def test_expansion_reports_its_progress_over_entitlement_pairs(tmp_path: Path) -> None:
    target = tmp_path / "paused.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)
    recorder = ProgressRecorder()
    run_expand(target, observer=recorder)  # type: ignore[arg-type]
    assert recorder.progress, "no progress during a 20-layer expansion"
    phases = {phase for phase, _done, _total in recorder.progress}
    assert phases == {"grant-expansion"}
    dones = [done for _phase, done, _total in recorder.progress]
    assert dones == sorted(dones) and recorder.progress[-1][1] == recorder.progress[-1][2] > 0


def test_expand_prints_plain_progress_lines(tmp_path: Path) -> None:
    target = tmp_path / "paused.c1z"
    shutil.copyfile(fixture("small-unexpanded.c1z"), target)
    result = baton_here("expand", "-f", str(target), "--progress", "plain", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("expand: phase grant-expansion;") for line in lines), result.stderr
    assert lines[-1].startswith("expand: done in ") and "12,072 grants" in lines[-1]
