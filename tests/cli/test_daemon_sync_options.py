"""`baton run --skip-full-sync` and `--sync-resource-types`, against the emulator (cli.md §3.1, §3.2)."""

from __future__ import annotations

from pathlib import Path

from baton_cli.c1z import C1ZReader
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from tests.cli.daemon_support import emulator, run_daemon

__all__ = ["emulator"]


def test_skip_full_sync_uploads_an_empty_finished_full_sync(emulator: EmulatorServer, tmp_path: Path) -> None:
    task_id = emulator.queue.enqueue(tb.sync_task())
    result = run_daemon(emulator, tmp_path, "--skip-full-sync")
    assert result.returncode == 0, result.stderr
    record = emulator.queue.get(task_id)
    assert record.state == "done"
    assert record.upload_counts == {"resource_types": 0, "resources": 0, "entitlements": 0, "grants": 0}
    with C1ZReader.open(Path(record.upload_path)) as reader:
        [run] = reader.syncs()
        assert run.finished and run.sync_type == "full"


def test_sync_resource_types_restrict_sync_tasks_unless_a_task_has_its_own(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    plain = emulator.queue.enqueue(tb.sync_task(skip_entitlements_and_grants=True))
    own = emulator.queue.enqueue(tb.sync_task(resource_type_ids=["group"], skip_entitlements_and_grants=True))
    result = run_daemon(emulator, tmp_path, "--sync-resource-types", "user")
    assert result.returncode == 0, result.stderr
    counts = emulator.queue.get(plain).upload_counts
    assert counts is not None and (counts["resource_types"], counts["resources"]) == (1, 50)
    counts = emulator.queue.get(own).upload_counts
    assert counts is not None and (counts["resource_types"], counts["resources"]) == (1, 5)  # the task wins
