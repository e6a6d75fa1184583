"""One command for issue #13's figures: every hot path against its floor, and the workers table.

    PYTHONPATH=. .venv/bin/python bench/run.py                 # the whole table (about 15 minutes)
    PYTHONPATH=. .venv/bin/python bench/run.py --quick         # a tenth of the sizes, for development
    PYTHONPATH=. .venv/bin/python bench/run.py --only json expand --no-workers

Every figure is one process - ``baton ...`` or ``python bench/floors.py ...`` - started by a
fresh helper interpreter whose only child it is, so wall time, CPU time (user + system) and
peak RSS (``RUSAGE_CHILDREN``) are that process's alone, interpreter start-up included. The
floors are described in ``bench/floors.py``. On a shared machine wall times swing with the
load; CPU time is the steadier figure, and the ratio column uses it when ``--ratio cpu``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_HELPER = r"""
import json, os, resource, subprocess, sys, time
command, stdout_path = json.loads(sys.argv[1]), sys.argv[2]
tick = os.sysconf("SC_CLK_TCK")
def cpu_so_far(pid):
    # utime + stime of the running child (fields 14 and 15 of /proc/PID/stat), in seconds.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick
    except (OSError, IndexError, ValueError):
        return -1.0
started = time.perf_counter()
with open(stdout_path, "wb") as out:
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True)
    lines = [(time.perf_counter() - started, cpu_so_far(proc.pid), line.rstrip("\n")) for line in proc.stderr]
    proc.wait()
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_kb": usage.ru_maxrss, "lines": lines}))
"""


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float
    rss_mb: float
    stdout: Path
    lines: list[tuple[float, float, str]]  # (wall, the child's CPU so far, stderr line)


def run(command: Sequence[str], work: Path, name: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["PYTHONPATH"] = str(ROOT)
    stdout = work / f"{name}.out"
    done = subprocess.run(
        [sys.executable, "-c", _HELPER, json.dumps(list(command)), str(stdout)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    if report["rc"] != 0:
        tail = "\n".join(line for _, _, line in report["lines"][-5:])
        raise SystemExit(f"{' '.join(command)} failed with exit code {report['rc']}:\n{tail}")
    lines = [(float(t), float(cpu), str(text)) for t, cpu, text in report["lines"]]
    return Run(float(report["wall"]), float(report["cpu"]), report["rss_kb"] / 1024, stdout, lines)


def baton(*args: str) -> list[str]:
    return [sys.executable, "-m", "baton_cli", *args]


def floor(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "floors.py"), *args]


@dataclass(frozen=True, slots=True)
class Row:
    work: str
    ours: Run
    floor: Run | None
    goal: str
    note: str = ""


def demo_sizes(scale: float) -> tuple[int, int, int]:
    return int(10_000 * scale), int(1_000 * scale), int(100_000 * scale)


def demo_args(users: int, groups: int, memberships: int, roles: int) -> list[str]:
    sizes = {"users": users, "groups": groups, "memberships": memberships, "roles": roles, "page-size": 100}
    return [part for name, value in sizes.items() for part in (f"--{name}", str(value))]


def phase_share(lines: list[tuple[float, float, str]], phase: str) -> tuple[float, float]:
    """Wall and CPU seconds between the ``sync: phase <phase>`` line and the next phase line.

    The CPU figure is the child's own user + system time read from /proc when each line
    arrived: on a shared machine it is the steadier of the two.
    """
    marker = "sync: phase "
    starts = [(t, cpu, text.split()[2].rstrip(";")) for t, cpu, text in lines if text.startswith(marker)]
    for (t, cpu, name), (t_next, cpu_next, _) in itertools.pairwise(starts):
        if name == phase:
            return t_next - t, cpu_next - cpu
    return 0.0, 0.0


def grant_digest(path: Path) -> tuple[int, str]:
    """(grants, sha256 of every grant's id, data and expansion columns) of the newest sync."""
    from baton_cli.c1z.container import decompress_v1

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "d.db"
        decompress_v1(path, db, None)
        conn = sqlite3.connect(db)
        sync_id = conn.execute("SELECT sync_id FROM v1_sync_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        digest, count = hashlib.sha256(), 0
        query = "SELECT external_id, data, expansion FROM v1_grants WHERE sync_id = ? ORDER BY external_id"
        for external_id, data, expansion in conn.execute(query, (sync_id,)):
            digest.update(external_id.encode() + b"\0" + data + b"\0" + (expansion or b""))
            count += 1
        conn.close()
    return count, digest.hexdigest()[:16]


def bench_rows(work: Path, scale: float, only: set[str], large: bool) -> list[Row]:
    users, groups, memberships = demo_sizes(scale)
    rows: list[Row] = []
    plain = demo_args(users, groups, memberships, 0)
    c1z_100k = work / "sync-100k.c1z"
    if only & {"sync", "json"}:
        ours = run(
            baton("sync", "--plugin", "demo", "--out", str(c1z_100k), "--progress", "off", *plain),
            work,
            "sync",
        )
        base = run(
            floor("sync", str(users), str(groups), str(memberships), "0", str(work / "floor.c1z")), work, "f1"
        )
        if "sync" in only:
            size = c1z_100k.stat().st_size
            rows.append(
                Row(
                    f"demo sync {memberships:,} memberships, roles 0",
                    ours,
                    base,
                    "<= 1.5x floor, <= 100 MB",
                    f"c1z {size / 1e6:.2f} MB",
                )
            )
    if "roles" in only:
        out = work / "sync-roles3.c1z"
        args = demo_args(users, groups, memberships, 3)
        ours = run(
            baton("sync", "--plugin", "demo", "--out", str(out), "--progress", "plain", *args), work, "roles"
        )
        base = run(
            floor("sync", str(users), str(groups), str(memberships), "3", str(work / "floor3.c1z")),
            work,
            "f3",
        )
        wall, cpu = phase_share(ours.lines, "grant-expansion")
        rows.append(
            Row(
                f"same with roles 3 ({grant_digest(out)[0]:,} grants)",
                ours,
                base,
                "expansion <= 15 % of sync",
                f"expansion {wall / ours.wall:.0%} of the sync's wall, {cpu / ours.cpu:.0%} of its CPU",
            )
        )
    if "expand" in only:
        sys.path.insert(0, str(ROOT / "bench"))
        from expansion_input import Shape, build

        source = work / "medium-input.c1z"
        counts = build(source, Shape().scaled(scale))
        target = work / "medium.c1z"
        shutil.copyfile(source, target)
        ours = run(baton("expand", "-f", str(target), "--json"), work, "expand")
        summary = json.loads(ours.stdout.read_text())
        total = grant_digest(target)[0]
        base = run(floor("expand", str(source), str(target), str(work / "floor-expand.c1z")), work, "fe")
        rows.append(
            Row(
                f"baton expand, medium-like input ({counts['grants']:,} stored -> {total:,} grants, "
                f"{counts['resources']:,} resources, {summary['layers']} layers)",
                ours,
                base,
                "<= 2x floor, <= 150 MB",
                f"{summary['cycles_collapsed']} cycles collapsed",
            )
        )
    if "json" in only:
        ours = run(baton("grants", "-f", str(c1z_100k), "-o", "json"), work, "json")
        base = run(floor("json", str(c1z_100k)), work, "fj")
        same = ours.stdout.read_bytes() == base.stdout.read_bytes()
        size = ours.stdout.stat().st_size
        rows.append(
            Row(
                f"baton grants -o json, {memberships:,} grants",
                ours,
                base,
                "<= 2x floor, <= 100 MB",
                f"{size / 1e6:.0f} MB of JSON; floor output {'identical' if same else 'DIFFERS'}",
            )
        )
        ours.stdout.unlink()
        base.stdout.unlink()
    if "startup" in only:
        bare = run([sys.executable, "-c", "pass"], work, "py")
        for args in (["--help"], ["--version"]):
            rows.append(
                Row(
                    f"baton {args[0]} (floor: bare python)",
                    run(baton(*args), work, "start"),
                    bare,
                    "<= 150 ms (issue 13's start-up item)",
                )
            )
    if large:
        big = demo_args(users * 10, groups * 10, memberships * 10, 0)
        out = work / "sync-1m.c1z"
        ours = run(
            baton("sync", "--plugin", "demo", "--out", str(out), "--progress", "off", *big), work, "1m"
        )
        rows.append(Row(f"demo sync {memberships * 10:,} memberships (memory flat)", ours, None, "<= 100 MB"))
    return rows


def bench_workers(
    work: Path, scale: float, latency: int, counts: Sequence[int]
) -> list[tuple[int, Run, str]]:
    users, groups, memberships = demo_sizes(scale)
    args = demo_args(users, groups, memberships, 0)
    results = []
    for workers in counts:
        out = work / f"workers-{workers}.c1z"
        out.unlink(missing_ok=True)
        command = baton(
            "sync",
            "--plugin",
            "demo",
            "--out",
            str(out),
            "--progress",
            "off",
            *args,
            "--latency-ms",
            str(latency),
            "--workers",
            str(workers),
        )
        measured = run(command, work, f"w{workers}")
        results.append((workers, measured, "{} grants, digest {}".format(*grant_digest(out))))
    return results


def show(rows: list[Row], ratio_by: str) -> None:
    print(
        "| work | ours wall | ours CPU | ours peak RSS | floor wall | floor CPU | floor peak RSS | ratio",
        end="",
    )
    print(" | goal | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        o, f = row.ours, row.floor
        if f is None:
            floor_cells, ratio = "- | - | -", "-"
        else:
            floor_cells = f"{f.wall:.2f} s | {f.cpu:.2f} s | {f.rss_mb:.0f} MB"
            wall = f"{o.wall / f.wall:.2f}x wall" if f.wall else "-"
            cpu = f"{o.cpu / f.cpu:.2f}x CPU" if f.cpu else "-"
            ratio = f"{wall}, {cpu}" if ratio_by == "wall" else f"{cpu}, {wall}"
        print(
            f"| {row.work} | {o.wall:.2f} s | {o.cpu:.2f} s | {o.rss_mb:.0f} MB | {floor_cells} | {ratio} | "
            f"{row.goal} | {row.note} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--scale", type=float, help="size factor (1 = the issue's sizes)")
    choices = ["sync", "roles", "expand", "json", "startup"]
    parser.add_argument("--only", nargs="+", choices=choices, default=choices)
    parser.add_argument("--large", action="store_true", help="also the 1M-membership sync (memory)")
    parser.add_argument("--no-workers", action="store_true", help="skip the workers table")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers-scale", type=float, help="size factor of the workers runs")
    parser.add_argument("--ratio", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--keep", type=Path, help="leave the files in this directory")
    args = parser.parse_args()
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    # An installed package has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE
    # (as on the development machine) would recompile every module in every measured process.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "baton_cli")], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-13-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        load = os.getloadavg()[0]
        print(f"scale {scale:g}; {os.cpu_count()} CPUs; load average {load:.1f}; ratio by {args.ratio}\n")
        show(bench_rows(work, scale, set(args.only), args.large), args.ratio)
        if not args.no_workers:
            workers_scale = args.workers_scale if args.workers_scale is not None else scale
            results = bench_workers(work, workers_scale, args.latency_ms, args.workers)
            users, groups, memberships = demo_sizes(workers_scale)
            print(
                f"\nWorkers: demo {users:,} users, {groups:,} groups, {memberships:,} memberships, "
                f"latency-ms {args.latency_ms}\n"
            )
            print("| --workers | wall | CPU | peak RSS | speed-up | rows |")
            print("|---|---|---|---|---|---|")
            first = results[0][1].wall
            for workers, measured, rows_note in results:
                print(
                    f"| {workers} | {measured.wall:.1f} s | {measured.cpu:.1f} s | {measured.rss_mb:.0f} MB"
                    f" | {first / measured.wall:.1f}x | {rows_note} |"
                )
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
