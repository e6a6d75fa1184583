"""Exactly once under faults: 20 seeded tasks through a real daemon and a misbehaving emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault_scenario import run_fault_scenario


@pytest.mark.timeout(300)
def test_every_task_is_done_exactly_once_under_faults(tmp_path: Path) -> None:
    report = run_fault_scenario(tmp_path, tasks=20, seed=7)
    detail = f"{report.table()}\nfaults: {report.faults_fired}\n{report.problems}\n{report.stderr_tail}"
    total = report.total
    assert report.problems == [], detail
    assert (total.tasks, total.done, total.failed) == (20, 20, 0), detail
    provisioning = total.tasks - report.rows["sync_full"].tasks
    assert total.effects_once == provisioning and total.effects_twice == 0, detail
    assert total.uploads_verified == report.rows["sync_full"].tasks, detail
    assert report.exit_code == 0, detail
    fired = dict(report.faults_fired)
    # The seed must actually exercise the paths this test is about.
    assert fired["FinishTask: UNAVAILABLE @ 0.2"] > 0 and fired["FinishTask: lose answer @ 0.1"] > 0, detail
    assert fired["UploadAsset: cut after 4096 bytes @ 0.3"] > 0, detail
    assert fired["token: RESOURCE_EXHAUSTED @ 0.2"] > 0, detail
