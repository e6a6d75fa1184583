"""Exactly once under faults: 10 seeded tasks through a real daemon and a misbehaving emulator.

Ten tasks hold every kind (2 grants, 2 revokes, 1 delete, 2 rotations, 1 account, 2 syncs); the
run's length comes from the product's retry backoff chains (upstream's errCount² polls, FinishTask
doubling to 30 s), so it grows with the number of chains: twenty tasks took 10-95 s on a loaded
2-core machine, ten take about half. The seed only picks which calls fail: with seed 7 (the
twenty-task run's) one FinishTask failed six times in a row in half the runs (61 s of backoff);
seed 6 took 5-12 s in every run we made, with eight faults or more. bench/fault_run.py runs 50.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.core.heartbeat import MAX_CONSECUTIVE_FAILURES
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.queue import TaskQueue
from baton_cli.errors import StatusCode
from tests.fault_scenario import (
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    QUIET_LEASE_SECONDS,
    run_fault_scenario,
)

TASKS = 10
SEED = 6


@pytest.mark.timeout(300)
def test_every_task_is_done_exactly_once_under_faults(tmp_path: Path) -> None:
    report = run_fault_scenario(tmp_path, tasks=TASKS, seed=SEED, timeout=150, poll_rate=0.1)
    detail = f"{report.table()}\nfaults: {report.faults_fired}\n{report.problems}\n{report.stderr_tail}"
    total = report.total
    assert report.problems == [], detail
    assert (total.tasks, total.done, total.failed) == (TASKS, TASKS, 0), detail
    assert set(report.rows) == {
        "grant", "revoke", "delete_resource", "rotate_credentials", "create_account", "sync_full"
    }, detail  # fmt: skip
    provisioning = total.tasks - report.rows["sync_full"].tasks
    assert total.effects_once == provisioning and total.effects_twice == 0, detail
    assert total.uploads_verified == report.rows["sync_full"].tasks, detail
    # Stopped by SIGTERM: cleanly (0), or at once by a second one (1) when a FinishTask retry
    # chain was still draining; either way every result had landed (checked above).
    assert (report.stop, report.exit_code) in (("graceful", 0), ("forced", 1)), detail
    fired = dict(report.faults_fired)
    # The always-first faults fired (the rate-based ones depend on the order of calls).
    assert (
        fired["FinishTask: lose answer @ 1"] == 1 and fired["UploadAsset: cut after 4096 bytes @ 1"] == 1
    ), detail
    # More than one fault for every two tasks, as with twenty tasks and more than ten faults.
    assert sum(fired.values()) > TASKS // 2, detail


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_scenario_never_takes_back_a_sync_whose_runner_still_heartbeats(tmp_path: Path) -> None:
    """The scenario's platform, on a hand-moved clock: a sync whose heartbeats fail as often in a
    row as the runner tolerates is not leased again, so faults cannot spend its attempts while it
    runs; one retryable failure then puts it back in the queue instead of failing it for good."""
    clock = Clock()
    with TaskQueue.open(
        tmp_path / "emu",
        clock=clock,
        lease_seconds=LEASE_SECONDS,
        quiet_lease_seconds=QUIET_LEASE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
    ) as queue:
        task_id = queue.enqueue(tb.sync_task())
        assert queue.lease("runner") is not None
        for _round in range(MAX_ATTEMPTS):
            # The longest streak the runner keeps going through: one beat short of its limit.
            for _failed in range(MAX_CONSECUTIVE_FAILURES - 1):
                clock.now += HEARTBEAT_SECONDS
                assert queue.lease("runner") is None, "a sync still heartbeating was leased again"
            clock.now += HEARTBEAT_SECONDS
            assert queue.heartbeat(task_id, "runner") is False  # the next beat gets through
        queue.finish(task_id, "runner", status_code=int(StatusCode.UNAVAILABLE), status_message="upload cut")
        record = queue.get(task_id)
        assert (record.state, record.attempts) == ("pending", 1), record
