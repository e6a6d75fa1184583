"""`baton run` with BATON_GET_TASKS: the same tasks, fetched in GetTasks batches."""

from __future__ import annotations

from pathlib import Path

from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import grant_pb2
from tests.cli.daemon_support import emulator, response_of, run_daemon

__all__ = ["emulator"]


def test_batch_mode_serves_sync_and_grant_through_get_tasks(emulator: EmulatorServer, tmp_path: Path) -> None:
    queue = emulator.queue
    sync_id = queue.enqueue(tb.sync_task(skip_entitlements_and_grants=True))
    grant_id = queue.enqueue(tb.grant_task("group:g000001:member", "user:u0000049"))
    result = run_daemon(emulator, tmp_path, env={"BATON_GET_TASKS": "true"})
    assert result.returncode == 0, result.stderr
    assert queue.get(sync_id).state == "done" and queue.get(grant_id).state == "done"
    assert queue.get(sync_id).upload_counts == {
        "resource_types": 3,
        "resources": 58,
        "entitlements": 0,
        "grants": 0,
    }
    response = response_of(emulator, grant_id, grant_pb2.GrantManagerServiceGrantResponse())
    assert [g.id for g in response.grants] == ["group:g000001:member:user:u0000049"]
    leases = [e.text for e in emulator.events.last(100) if "leased to" in e.text]
    assert len(leases) == 2 and all(text.endswith("(GetTasks)") for text in leases), leases
    assert "batch polling" in result.stderr
