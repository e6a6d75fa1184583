"""Concurrent leasing: threads and separate processes drain one queue, each task handed out once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

from baton_cli.emulator.queue import TaskQueue
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

ROOT = Path(__file__).resolve().parents[2]
TASKS = 200


def fill(data_dir: Path) -> set[str]:
    with TaskQueue.open(data_dir) as queue:
        return {queue.enqueue(baton_pb2.Task(sync_full=baton_pb2.Task.SyncFullTask())) for _ in range(TASKS)}


def drain(queue: TaskQueue, host: str) -> list[str]:
    taken = []
    while (task := queue.lease(host)) is not None:
        taken.append(task.id)
    return taken


def assert_each_handed_out_once(expected: set[str], taken: list[list[str]], data_dir: Path) -> None:
    counts = Counter(task_id for batch in taken for task_id in batch)
    assert [task_id for task_id, n in counts.items() if n > 1] == []
    assert set(counts) == expected
    with TaskQueue.open(data_dir) as queue:
        records = queue.tasks()
    assert {r.state for r in records} == {"running"}
    assert {r.attempts for r in records} == {1}
    by_host = Counter(r.host_id for r in records)
    assert sum(by_host.values()) == TASKS
    for i, batch in enumerate(taken):
        assert by_host[f"host-{i}"] == len(batch)


def run_threads(data_dir: Path, *, shared: bool) -> list[list[str]]:
    workers = 4
    barrier = threading.Barrier(workers)
    results: list[list[str]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []
    shared_queue = TaskQueue.open(data_dir) if shared else None

    def work(index: int) -> None:
        try:
            queue = shared_queue if shared_queue is not None else TaskQueue.open(data_dir)
            try:
                barrier.wait()
                results[index] = drain(queue, f"host-{index}")
            finally:
                if shared_queue is None:
                    queue.close()
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        if shared_queue is not None:
            shared_queue.close()
    assert errors == []
    return results


def test_threads_sharing_one_queue(tmp_path: Path) -> None:
    expected = fill(tmp_path)
    assert_each_handed_out_once(expected, run_threads(tmp_path, shared=True), tmp_path)


def test_threads_with_a_connection_each(tmp_path: Path) -> None:
    expected = fill(tmp_path)
    assert_each_handed_out_once(expected, run_threads(tmp_path, shared=False), tmp_path)


# Each process signals it is ready, waits for the gate so both lease at the same time, then
# prints the ids it was handed. The pause after each lease stands for the runner's work: without
# it the first process through the gate could drain the queue before the other one starts.
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from baton_cli.emulator.queue import TaskQueue

    data_dir, host, gate = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    with TaskQueue.open(data_dir) as queue:
        (gate / f"ready-{host}").touch()
        deadline = time.monotonic() + 60
        while not (gate / "go").exists():
            if time.monotonic() > deadline:
                sys.exit("gate never opened")
            time.sleep(0.005)
        while (task := queue.lease(host)) is not None:
            print(task.id, flush=True)
            time.sleep(0.002)
    """
)


def test_two_processes_lease_concurrently(tmp_path: Path) -> None:
    data_dir, gate = tmp_path / "emu", tmp_path / "gate"
    gate.mkdir()
    expected = fill(data_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(data_dir), f"host-{i}", str(gate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((gate / f"ready-host-{i}").exists() for i in range(2)):
            assert all(p.poll() is None for p in procs), "a worker exited early"
            assert time.monotonic() < deadline, "workers never became ready"
            time.sleep(0.01)
        (gate / "go").touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    taken = [out.split() for out, _ in outputs]
    assert all(taken), [len(t) for t in taken]  # both really leased, so they really competed
    assert_each_handed_out_once(expected, taken, data_dir)
