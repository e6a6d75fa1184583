"""The fault run of issue 8: a real `baton run` against a misbehaving emulator, checked for exactly-once.

The emulator (in this process, TLS on 127.0.0.1) fails a fifth of GetTask, Heartbeat and
FinishTask calls, loses a tenth of FinishTask answers after recording them, cuts a third of the
uploads, answers 429 to a fifth of token requests and issues 5-second tokens. One daemon (a
child process, the demo connector with a state file) works through a mix of syncs and
provisioning tasks until every task is final, then gets SIGTERM.

Exactly once is read from the demo's state file: every provisioning task targets its own object,
so each must have left exactly one change event there; every upload's SHA-256 is checked against
the stored file. ``tests/cli/test_fault_run.py`` runs 10 tasks; ``bench/fault_run.py`` runs 50
and prints the table.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from baton_cli.core.heartbeat import MAX_CONSECUTIVE_FAILURES
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.faults import FaultPlan, FaultRule
from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.service import Pacing
from baton_cli.errors import StatusCode
from tests.cli.process import baton_env

FINAL_STATES = ("done", "failed", "cancelled")
HEARTBEAT_SECONDS = 1.0  # the emulator's next_heartbeat: the runner beats this often
# The platform takes a sync back once it has heard no heartbeat for this long, and every lease
# spends one of the task's MAX_ATTEMPTS. Longer than the runner's own limit of failed
# heartbeats in a row (it cancels the task itself after that): a streak of injected heartbeat
# faults, stretched by a loaded machine, then cannot hand a sync that is still running back
# out (to the same runner, which ignores the repeat) until its attempts are spent and one
# retryable upload failure is final. A 3 s lease did that under load. A sync whose first
# heartbeat failed (no FinishTask, as upstream) still comes back after this lease.
LEASE_SECONDS = (MAX_CONSECUTIVE_FAILURES + 1) * HEARTBEAT_SECONDS
QUIET_LEASE_SECONDS = 60.0  # longer than any provisioning task plus its FinishTask retries
MAX_ATTEMPTS = 5
# Share of each kind in the mix (the rest are syncs).
MIX = (("grant", 0.2), ("revoke", 0.15), ("delete_resource", 0.1), ("rotate_credentials", 0.15))
CREATE_SHARE = 0.1


def fault_plan(seed: int, poll_rate: float = 0.2) -> FaultPlan:
    """The issue's rates; ``poll_rate`` (GetTask and token faults) is lowered for the suite's run,
    because upstream's errCount² poll backoff (up to 60 s) turns a streak of poll faults into
    minutes of waiting, which a bounded test cannot afford. The rest stay at the issue's rates."""
    return FaultPlan(
        [
            # Whatever the random draws do, the first FinishTask answer is lost and the first upload
            # cut, so every run exercises both (rules with a limit fire at most that often).
            FaultRule("FinishTask", lose_answer=True, limit=1),
            FaultRule("UploadAsset", cut_after_bytes=4096, limit=1),
            FaultRule("GetTask", error=StatusCode.UNAVAILABLE, rate=poll_rate),
            FaultRule("Heartbeat", error=StatusCode.UNAVAILABLE, rate=0.2),
            FaultRule("FinishTask", error=StatusCode.UNAVAILABLE, rate=0.2),
            FaultRule("FinishTask", lose_answer=True, rate=0.1),
            FaultRule("UploadAsset", cut_after_bytes=4096, rate=0.3),
            FaultRule("token", error=StatusCode.RESOURCE_EXHAUSTED, rate=poll_rate),
        ],
        seed=seed,
    )


@dataclass(frozen=True, slots=True)
class Planned:
    kind: str
    target: str  # what the task changes: "ENTITLEMENT PRINCIPAL", a user id or a login; "" for syncs


def _user(index: int) -> str:
    return f"u{index:07d}"


def plan_tasks(count: int) -> list[Planned]:
    """``count`` tasks over the demo's default data (50 users, 5 groups of 40 members), each
    provisioning task on its own object, so effects can be counted per task."""
    counts = {kind: round(count * share) for kind, share in MIX}
    counts["create_account"] = round(count * CREATE_SHARE)
    counts["sync_full"] = count - sum(counts.values())
    planned: list[Planned] = []
    # Group g's members are users (g*40 + k) % 50 for k < 40: grant to the 10 that are not.
    grants = [(g, (g * 40 + 40 + j) % 50) for j in range(5) for g in range(5)]
    revokes = [(g, (g * 40 + k) % 50) for k in range(8) for g in range(5)]
    for g, u in grants[: counts["grant"]]:
        planned.append(Planned("grant", f"group:g{g:06d}:member user:{_user(u)}"))
    for g, u in revokes[: counts["revoke"]]:
        planned.append(Planned("revoke", f"group:g{g:06d}:member user:{_user(u)}"))
    planned += [Planned("delete_resource", _user(49 - i)) for i in range(counts["delete_resource"])]
    planned += [Planned("rotate_credentials", _user(35 + i)) for i in range(counts["rotate_credentials"])]
    planned += [Planned("create_account", f"faultuser{i}") for i in range(counts["create_account"])]
    planned += [Planned("sync_full", "") for _ in range(counts["sync_full"])]
    # Interleave kinds so syncs and changes run side by side.
    return [planned[i] for i in sorted(range(len(planned)), key=lambda i: (i * 7919) % len(planned))]


def _task(planned: Planned) -> object:
    if planned.kind in ("grant", "revoke"):
        entitlement, principal = planned.target.split()
        builder = tb.grant_task if planned.kind == "grant" else tb.revoke_task
        return builder(entitlement, principal)
    if planned.kind == "delete_resource":
        return tb.delete_resource_task(f"user:{planned.target}")
    if planned.kind == "rotate_credentials":
        return tb.rotate_credentials_task(f"user:{planned.target}")
    if planned.kind == "create_account":
        return tb.create_account_task(planned.target, emails=[f"{planned.target}@example.com"])
    return tb.sync_task()


@dataclass(slots=True)
class KindRow:
    kind: str
    tasks: int = 0
    done: int = 0
    failed: int = 0
    effects_once: int = 0  # provisioning tasks whose change is in the state file exactly once
    effects_twice: int = 0  # ... more than once (an action that ran again)
    redelivered: int = 0  # tasks leased more than once
    uploads_verified: int = 0


@dataclass(slots=True)
class FaultRunReport:
    rows: dict[str, KindRow] = field(default_factory=dict)
    seconds: float = 0.0
    exit_code: int | None = None
    stop: str = ""  # "graceful" (SIGTERM), or "forced" (a second SIGTERM was needed)
    faults_fired: list[tuple[str, int]] = field(default_factory=list)
    stderr_tail: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> KindRow:
        total = KindRow("total")
        for row in self.rows.values():
            for name in ("tasks", "done", "failed", "effects_once", "effects_twice", "redelivered"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.uploads_verified += row.uploads_verified
        return total

    def table(self) -> str:
        header = ("kind", "tasks", "done", "failed", "effect x1", "effect >1", "re-delivered", "uploads ok")
        lines = [header]
        for row in [*self.rows.values(), self.total]:
            uploads = str(row.uploads_verified) if row.kind in ("sync_full", "total") else "-"
            once = "-" if row.kind == "sync_full" else str(row.effects_once)
            twice = "-" if row.kind == "sync_full" else str(row.effects_twice)
            lines.append(
                (
                    row.kind,
                    str(row.tasks),
                    str(row.done),
                    str(row.failed),
                    once,
                    twice,
                    str(row.redelivered),
                    uploads,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = [
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
            for line in lines
        ]
        out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(out)


def _effects(state_file: Path, planned: Planned) -> int:
    state = json.loads(state_file.read_text()) if state_file.exists() else {"events": []}
    events = state.get("events", [])
    if planned.kind in ("grant", "revoke"):
        entitlement, principal = planned.target.split()
        principal_id = principal.split(":")[1]
        return sum(
            e["kind"] == planned.kind
            and e["entitlement"] == entitlement
            and e["principal_id"] == principal_id
            for e in events
        )
    if planned.kind == "delete_resource":
        return sum(
            e["kind"] == "change" and e.get("resource_id") == planned.target and "credential" not in e
            for e in events
        )
    if planned.kind == "rotate_credentials":
        return sum(
            e.get("credential") == "rotated" and e.get("resource_id") == planned.target for e in events
        )
    if planned.kind == "create_account":
        users = [u for u in state.get("created_users", []) if u["login"] == planned.target]
        ids = {u["id"] for u in users}
        return len(users) * sum(e["kind"] == "change" and e.get("resource_id") in ids for e in events)
    return 0


GRACEFUL_WAIT = 120.0  # grace + cancel wait, plus a FinishTask retry chain still under way


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM; if the drain (bounded by design, but long under faults) outlasts GRACEFUL_WAIT,
    a second SIGTERM stops it at once."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=GRACEFUL_WAIT), "graceful"
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=30), "forced"


def run_fault_scenario(
    workdir: Path, *, tasks: int = 20, seed: int = 7, timeout: float = 240, poll_rate: float = 0.2
) -> FaultRunReport:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "work").mkdir(exist_ok=True)
    state_file = workdir / "demo-state.json"
    server = EmulatorServer(
        workdir / "emulator",
        "127.0.0.1",
        0,
        token_ttl=5,
        lease_seconds=LEASE_SECONDS,
        quiet_lease_seconds=QUIET_LEASE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
        pacing=Pacing(next_poll=0.05, next_heartbeat=HEARTBEAT_SECONDS),
        faults=fault_plan(seed, poll_rate),
    )
    server.start()
    report = FaultRunReport()
    started = time.monotonic()
    proc: subprocess.Popen[str] | None = None
    log = workdir / "daemon.log"
    log_file = log.open("w")
    try:
        planned = {server.queue.enqueue(_task(p)): p for p in plan_tasks(tasks)}  # type: ignore[arg-type]
        creds = server.mint_credentials("fault-runner")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "baton_cli",
                "run",
                "--plugin",
                "demo",
                "--provisioning",
                "--client-id",
                creds.client_id,
                "--ca-file",
                str(server.ca_file),
                "--c1z-temp-dir",
                str(workdir / "work"),
                "--shutdown-grace",
                "10",
                "--state-file",
                str(state_file),
            ],
            cwd=workdir,
            env=baton_env({"BATON_CLIENT_SECRET": creds.client_secret, "BATON_HOST_ID": "fault-runner"}),
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
        )
        deadline = started + timeout
        while not all(server.queue.get(t).state in FINAL_STATES for t in planned):
            if proc.poll() is not None or time.monotonic() > deadline:
                report.problems.append("not every task reached a final state")
                break
            time.sleep(0.1)
        report.seconds = time.monotonic() - started
        report.exit_code, report.stop = _stop(proc)
        report.faults_fired = server.faults.fired_counts()
        for task_id, p in planned.items():
            row = report.rows.setdefault(p.kind, KindRow(p.kind))
            record = server.queue.get(task_id)
            row.tasks += 1
            row.done += record.state == "done"
            row.failed += record.state != "done"
            row.redelivered += record.attempts > 1
            if p.kind == "sync_full":
                stored = Path(record.upload_path)
                if (
                    stored.is_file()
                    and hashlib.sha256(stored.read_bytes()).hexdigest() == record.upload_sha256
                ):
                    row.uploads_verified += 1
            else:
                effects = _effects(state_file, p)
                row.effects_once += effects == 1
                row.effects_twice += effects > 1
        leftovers = list((workdir / "work").iterdir())
        if leftovers:
            report.problems.append(f"work files left behind: {leftovers}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
        log_file.close()
    report.stderr_tail = "\n".join(log.read_text().splitlines()[-40:]) if log.exists() else ""
    return report
