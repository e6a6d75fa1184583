"""Start-up cost of one ``baton`` process per common command (issue 14).

    .venv/bin/python bench/startup.py                 # every command, 7 runs each
    .venv/bin/python bench/startup.py --runs 15 --only sync stats
    .venv/bin/python bench/startup.py --root ../other-checkout   # the same table for another tree

Each row is ``python -m baton_cli ARGS`` run N times as a direct child of this script: wall time
and CPU time (user + system, from ``wait4``, that child's alone) are the medians of the N runs,
interpreter start-up included. "modules" is how many entries ``sys.modules`` holds when the same
command finishes in a fresh interpreter, a figure that does not swing with the machine's load.
Commands that need input get it first: a demo sync (``sync.c1z``), the same with the expansion
left pending (``pending.c1z``), and, for ``run``, an emulator on 127.0.0.1 started in this
process. ``emulator serve`` is timed to its banner, then stopped with SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs the command in this interpreter and reports how many modules it loaded, on stderr.
_COUNT_MODULES = """
import sys
from baton_cli.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\nMODULES %d\\n" % len(sys.modules))
"""


@dataclass(frozen=True, slots=True)
class Figures:
    wall: float
    cpu: float
    modules: int


def environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    # Bytecode is written (an installed package has it); the first run of each command compiles.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(root)
    env["NO_COLOR"] = "1"
    return env


def timed(
    argv: Sequence[str], env: dict[str, str], cwd: Path, until: bytes | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds of one child; with ``until``, up to that line on stdout, then SIGTERM."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton_cli", *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    if until is None:
        proc.stdout.read()
    else:
        for line in proc.stdout:
            if until in line:
                break
        proc.send_signal(signal.SIGTERM)
        proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if until is None and proc.returncode != 0:
        raise SystemExit(f"baton {' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def module_count(argv: Sequence[str], env: dict[str, str], cwd: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_MODULES, *argv], cwd=cwd, env=env, capture_output=True, timeout=120
    )
    last = done.stderr.decode(errors="replace").strip().splitlines()[-1]
    return int(last.split()[1]) if last.startswith("MODULES ") else -1


def measure(argv: Sequence[str], env: dict[str, str], cwd: Path, runs: int, until: bytes | None) -> Figures:
    timed(argv, env, cwd, until)  # warm the page cache and write bytecode
    samples = [timed(argv, env, cwd, until) for _ in range(runs)]
    modules = module_count(argv, env, cwd) if until is None else -1
    return Figures(
        statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples), modules
    )


def commands(work: Path, emulator_args: Callable[[], list[str]]) -> dict[str, tuple[list[str], bytes | None]]:
    c1z = str(work / "sync.c1z")
    pending = str(work / "pending.c1z")
    return {
        "--version": (["--version"], None),
        "--help": (["--help"], None),
        "sync --plugin demo": (
            ["sync", "--plugin", "demo", "-f", str(work / "out.c1z"), "--progress", "off"],
            None,
        ),
        "stats -f": (["stats", "-f", c1z], None),
        "resources -f": (["resources", "-f", c1z], None),
        "grants -f -o json": (["grants", "-f", c1z, "-o", "json"], None),
        "expand --out": (
            ["expand", "-f", pending, "--out", str(work / "expanded.c1z"), "--progress", "off"],
            None,
        ),
        "grant --plugin demo": (
            [
                "grant",
                "--plugin",
                "demo",
                "-f",
                c1z,
                "-e",
                "group:g000000:member",
                "--principal",
                "user:u0000001",
                "--state-file",
                str(work / "grants.json"),
            ],
            None,
        ),
        "plugins": (["plugins"], None),
        "plugins show demo": (["plugins", "show", "demo"], None),
        "run --exit-when-idle": (emulator_args(), None),
        "emulator serve (to banner)": (
            ["emulator", "serve", "--data-dir", str(work / "emu"), "--port", "0", "--progress", "off"],
            b"Press Ctrl-C",
        ),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", nargs="*", default=[], help="rows whose name starts with one of these")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose baton_cli is measured")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    env = environment(root)
    work = Path(tempfile.mkdtemp(prefix="baton-startup-"))
    server = None
    try:
        # The inputs: a demo sync, and the same with its grant expansion left pending.
        sync = [sys.executable, "-m", "baton_cli", "sync", "--plugin", "demo", "--progress", "off"]
        for name, extra in (("sync.c1z", []), ("pending.c1z", ["--skip-expand-grants"])):
            subprocess.run(
                [*sync, "-f", str(work / name), *extra],
                cwd=work,
                env=env,
                check=True,
                capture_output=True,
            )

        def emulator_args() -> list[str]:
            nonlocal server
            sys.path.insert(0, str(root))
            from baton_cli.emulator.server import EmulatorServer

            server = EmulatorServer(work / "emulator", "127.0.0.1", 0)
            server.start()
            creds = server.mint_credentials("bench-runner", replace=True)
            env["BATON_CLIENT_SECRET"] = creds.client_secret
            return [
                "run",
                "--plugin",
                "demo",
                "--client-id",
                creds.client_id,
                "--ca-file",
                str(server.ca_file),
                "--exit-when-idle",
                "--state-file",
                str(work / "state.json"),
                "--log-level",
                "error",
            ]

        wanted = [
            name
            for name in commands(work, lambda: [])
            if not args.only or any(name.startswith(o) for o in args.only)
        ]
        table = commands(work, emulator_args if any(n.startswith("run") for n in wanted) else lambda: [])
        print(
            f"baton_cli from {root}; {args.runs} runs per command; medians; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print("| command | wall | CPU | modules |\n|---|---|---|---|")
        for name in wanted:
            command, until = table[name]
            figures = measure(command, env, work, args.runs, until)
            modules = str(figures.modules) if figures.modules >= 0 else "-"
            print(
                f"| baton {name} | {figures.wall * 1000:.0f} ms | {figures.cpu * 1000:.0f} ms | {modules} |",
                flush=True,
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
