"""The issue-8 fault run: 50 mixed tasks through a real `baton run` and a misbehaving emulator.

    PYTHONPATH=. .venv/bin/python bench/fault_run.py [--tasks 50] [--seed 7] [--keep DIR]

Faults (seeded): 20 % UNAVAILABLE on GetTask, Heartbeat and FinishTask; 10 % of FinishTask
answers lost after the result was recorded; 30 % of uploads cut after 4 KiB; 20 % of token
requests answered 429; 5-second tokens. Prints one row per task kind: how many were done, how
many provisioning tasks left their change in the demo's state file exactly once (and how many
more than once), how many were re-delivered, and how many sync uploads matched their SHA-256.
Exit status 0 when every task was done exactly once. The suite runs the same scenario with 10
tasks (tests/cli/test_fault_run.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.fault_scenario import run_fault_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-fault-run-") as scratch:
        workdir = args.keep or Path(scratch)
        report = run_fault_scenario(workdir, tasks=args.tasks, seed=args.seed, timeout=900)
    print(report.table())
    print(f"\n{report.seconds:.1f} s to final states; exit {report.exit_code} ({report.stop} stop)")
    print("faults fired: " + ", ".join(f"{name} x{n}" for name, n in report.faults_fired))
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    total = report.total
    clean = (
        not report.problems
        and total.done == total.tasks
        and total.effects_twice == 0
        and total.effects_once == total.tasks - report.rows.get("sync_full", total).tasks
        and (report.stop, report.exit_code) in (("graceful", 0), ("forced", 1))
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
