"""Benchmark ``baton sync --plugin demo`` end to end, against the targets of issue #3.

Every measured command runs as a fresh ``baton`` process started by a fresh helper
interpreter whose only child it is, so the helper's ``RUSAGE_CHILDREN`` peak RSS is
baton's alone (the benchmark's own memory never counts). Runs:

- ``100k``: 10,000 users, 1,000 groups, 100,000 memberships, no roles (page size 100);
  targets: <= 2.5 s wall, <= 100 MB peak RSS, c1z <= 4.66 MB (the Go SDK: 28.5 s, 82 MB, 4.66 MB).
- ``1m``: ten times that; targets: time no worse than linear (<= 10x the 100k run), < 150 MB.
- ``expand``: the 100k run plus 100 roles granted to groups; the grant-expansion phase inside
  ``baton sync`` is timed from the arrival of its ``--progress plain`` phase lines.
- ``expand-offline``: the same sync with ``--skip-expand-grants``, then ``baton expand`` on the
  file, whose JSON summary gives grants created + updated per second (as bench_expand.py).

    PYTHONPATH=. .venv/bin/python bench/bench_sync.py [--repeat N] [--only NAME ...] [--keep DIR]

Each figure is the median of ``--repeat`` runs (default 3; the 1m run always runs once).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024

SMALL = ("--users", "10000", "--groups", "1000", "--memberships", "100000", "--roles", "0")
LARGE = ("--users", "100000", "--groups", "10000", "--memberships", "1000000", "--roles", "0")
ROLES = ("--users", "10000", "--groups", "1000", "--memberships", "100000", "--roles", "100")

SMALL_WALL_S, SMALL_RSS_MB, SMALL_C1Z_BYTES = 2.5, 100, 4_660_000
LARGE_RSS_MB = 150

# Runs baton as its only child; reports wall time, peak RSS and when each stderr line arrived.
_HELPER = r"""
import json, resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(json.loads(sys.argv[1]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
lines = [(time.perf_counter() - started, line.rstrip("\n")) for line in proc.stderr]
stdout = proc.stdout.read()
proc.wait()
wall = time.perf_counter() - started
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": proc.returncode, "wall": wall, "rss_kb": rss_kb, "stdout": stdout, "lines": lines}))
"""


@dataclass(frozen=True, slots=True)
class Measured:
    wall: float
    rss_mb: float
    stdout: str
    lines: list[tuple[float, str]]


def measure(*args: str, cwd: Path) -> Measured:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "baton_cli", *args]
    done = subprocess.run(
        [sys.executable, "-c", _HELPER, json.dumps(command)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    if report["rc"] != 0:
        tail = "\n".join(line for _, line in report["lines"][-5:])
        raise SystemExit(f"baton {' '.join(args)} failed with exit code {report['rc']}:\n{tail}")
    lines = [(float(t), str(text)) for t, text in report["lines"]]
    return Measured(float(report["wall"]), report["rss_kb"] / 1024, str(report["stdout"]), lines)


def sync(out: Path, sizes: tuple[str, ...], *extra: str) -> tuple[Measured, dict[str, Any]]:
    out.unlink(missing_ok=True)
    run = measure(
        "sync", "--plugin", "demo", "--out", str(out), "--json", "--progress", "plain",
        *sizes, "--page-size", "100", *extra, cwd=out.parent,
    )  # fmt: skip
    return run, json.loads(run.stdout)


def phase_seconds(lines: list[tuple[float, str]], phase: str) -> tuple[float, dict[str, int]]:
    """Seconds from ``phase`` starting to the next phase line, and the row totals between."""
    starts = [(t, text) for t, text in lines if text.startswith("sync: phase ")]
    for (t, text), (t_next, text_next) in itertools.pairwise(starts):
        if text.split()[2] == phase:
            return t_next - t, {k: totals(text_next)[k] - totals(text)[k] for k in totals(text)}
    raise SystemExit(f"no '{phase}' phase line in the sync's progress output")


def totals(line: str) -> dict[str, int]:
    return {k: int(v) for k, _, v in (w.partition("=") for w in line.split()) if v.isdigit()}


def rows(summary: dict[str, Any]) -> int:
    return sum(int(n) for n in summary["counts"].values())


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def bench_syncs(work: Path, repeat: int, names: set[str]) -> None:
    small_wall = 0.0
    for name, sizes, times in (("100k", SMALL, repeat), ("1m", LARGE, 1)):
        if name not in names:
            continue
        runs = [sync(work / f"{name}.c1z", sizes) for _ in range(times)]
        wall = statistics.median(r.wall for r, _ in runs)
        rss = statistics.median(r.rss_mb for r, _ in runs)
        summary = runs[-1][1]
        size = int(summary["bytes"])
        print(f"\n{name}: {summary['counts']}")
        print(f"  wall {wall:.2f} s, {rows(summary) / wall:,.0f} rows/s (median of {times})")
        print(f"  peak RSS {rss:.1f} MB, c1z {size:,} bytes ({size / 1e6:.2f} MB)")
        if name == "100k":
            small_wall = wall
            print(
                f"  targets: wall <= {SMALL_WALL_S} s {verdict(wall <= SMALL_WALL_S)}, "
                f"RSS <= {SMALL_RSS_MB} MB {verdict(rss <= SMALL_RSS_MB)}, "
                f"c1z <= 4.66 MB {verdict(size <= SMALL_C1Z_BYTES)}"
            )
        else:
            linear = f"{wall / small_wall:.1f}x the 100k run" if small_wall else "100k run not measured"
            ok = not small_wall or wall <= 10 * small_wall
            rss_ok = verdict(rss < LARGE_RSS_MB)
            print(f"  targets: time {linear} {verdict(ok)}, RSS < {LARGE_RSS_MB} MB {rss_ok}")


def bench_expansion(work: Path, repeat: int, names: set[str]) -> None:
    if "expand" in names:
        seconds, created, walls, peaks = [], 0, [], []
        for _ in range(repeat):
            run, summary = sync(work / "roles.c1z", ROLES)
            phase, added = phase_seconds(run.lines, "grant-expansion")
            seconds.append(phase)
            walls.append(run.wall)
            peaks.append(run.rss_mb)
            created = added["grants"]
        phase = statistics.median(seconds)
        print(f"\nexpand (inside baton sync): {summary['counts']}")
        print(f"  grant-expansion phase {phase:.2f} s, {created:,} grants created ({created / phase:,.0f}/s)")
        print(
            f"  whole sync: wall {statistics.median(walls):.2f} s, peak RSS {statistics.median(peaks):.1f} MB"
        )
    if "expand-offline" in names:
        results = []
        for _ in range(repeat):
            out = work / "offline.c1z"
            sync(out, ROLES, "--skip-expand-grants")
            run = measure("expand", "-f", str(out), "--json", cwd=work)
            results.append((run, json.loads(run.stdout)))
        expanded = statistics.median(s["grants_created"] + s["grants_updated"] for _, s in results)
        seconds = statistics.median(s["expansion_seconds"] for _, s in results)
        last = results[-1][1]
        print(f"\nexpand-offline (baton expand after sync --skip-expand-grants): {last['edges']} edges")
        print(
            f"  grants created {last['grants_created']:,}, updated {last['grants_updated']:,}; "
            f"expansion {seconds:.2f} s, {expanded / seconds:,.0f} grants expanded/s"
        )
        wall = statistics.median(r.wall for r, _ in results)
        rss = statistics.median(r.rss_mb for r, _ in results)
        print(f"  baton expand: wall {wall:.2f} s, peak RSS {rss:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median); 1m runs once")
    choices = ["100k", "1m", "expand", "expand-offline"]
    parser.add_argument("--only", nargs="+", choices=choices, default=choices)
    parser.add_argument("--keep", type=Path, help="leave the c1z files in this directory")
    args = parser.parse_args()
    version = measure("--version", cwd=ROOT)
    print(f"baton --version: wall {version.wall:.2f} s, peak RSS {version.rss_mb:.1f} MB (start-up alone)")
    with tempfile.TemporaryDirectory(prefix="bench-sync") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        bench_syncs(work, max(1, args.repeat), set(args.only))
        bench_expansion(work, max(1, args.repeat), set(args.only))


if __name__ == "__main__":
    main()
