"""Rows per second through the connector-executable bridge (issue #11), against the stand-in child.

    PYTHONPATH=. .venv/bin/python bench/bench_bridge.py [--repeat 3] [--page-size 100]

The stand-in (tests/child/standin.py) serves the demo connector's data over the child protocol
(mutual Ed25519 TLS, ALPN h2); we dial it through grpcio -> Unix socket -> TLS bridge. Figures:

* ``launch``: from spawning the child to its first GetMetadata answer (Python start-up dominates:
  a Go binary is ready in 15-70 ms, subprocess.md §1);
* ``list``: every resource, entitlement and grant listed through the bridge, nothing stored, and
  the same listing from the demo in-process: the bridge's cost per row, isolated;
* ``sync``: ``baton sync`` (wiring.run_local_sync) through the bridge and in-process, c1z written.

Demo sizes: 10,000 users, 1,000 groups, 100,000 memberships, 0 roles (100,000 grants), as
bench_sync.py's ``100k`` run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baton_cli.connector import demo  # noqa: E402
from baton_cli.connector.api import Connector  # noqa: E402
from baton_cli.connector.config import resolve_config  # noqa: E402
from baton_cli.transport.child import ChildOptions, launch_child  # noqa: E402
from baton_cli.transport.child.connector import ChildConnector  # noqa: E402
from baton_cli.transport.child.rate_limit import RATE_LIMIT_ENV, rate_limit_from_env  # noqa: E402
from baton_cli.wiring import PluginRequest, run_local_sync  # noqa: E402
from tests.child.support import write_standin  # noqa: E402

SIZES = ["--users", "10000", "--groups", "1000", "--memberships", "100000", "--roles", "0"]


CALLS: list[int] = []


def calls(_rows: int) -> int:
    return CALLS[-1]


def list_everything(connector: Connector) -> int:
    rows = 0
    made = 0
    for syncer in connector.resource_syncers():
        token = ""
        resources = []
        while True:
            page = syncer.list(None, token)
            made += 1
            resources.extend(page.items)
            token = page.next_token
            if not token:
                break
        rows += len(resources)
        for resource in resources:
            for listing in (syncer.entitlements, syncer.grants):
                token = ""
                while True:
                    page = listing(resource, token)  # type: ignore[operator]
                    made += 1
                    rows += len(page.items)
                    token = page.next_token
                    if not token:
                        break
    CALLS.append(made)
    return rows


def timed(fn: Callable[[], int], repeat: int) -> tuple[int, float]:
    walls = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = fn()
        walls.append(time.perf_counter() - started)
    return rows, statistics.median(walls)


def report(what: str, bridged_rows: int, bridged_wall: float, direct_rows: int, direct_wall: float) -> None:
    print(
        f"{what} {bridged_rows:,} rows: "
        f"bridge {bridged_rows / bridged_wall:,.0f} rows/s ({bridged_wall:.2f} s), "
        f"in-process {direct_rows / direct_wall:,.0f} rows/s ({direct_wall:.2f} s), "
        f"ratio {bridged_wall / direct_wall:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--page-size", default="100")
    args = parser.parse_args()
    demo_args = [*SIZES, "--page-size", args.page_size]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        standin = write_standin(work)
        env = {"PATH": os.environ.get("PATH", "")}

        launches = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            with launch_child(ChildOptions(executable=standin, args=("--users", "1"), env=env)):
                launches.append(time.perf_counter() - started)
        print(f"launch (spawn to first answer): median {statistics.median(launches) * 1000:.0f} ms")

        config = resolve_config(demo.FIELDS, demo_args, {}, None, cwd=work)
        direct_rows, direct_wall = timed(lambda: list_everything(demo.build(config)), args.repeat)
        plain = work / "plain.sock"
        child_args = (*demo_args, "--plain-socket", str(plain))
        with launch_child(ChildOptions(executable=standin, args=child_args, env=env)) as session:
            bridged_rows, bridged_wall = timed(lambda: list_everything(session.connector), args.repeat)
            assert session.process is not None
            # The same child over its plaintext socket: what the stand-in itself costs per call.
            baseline = ChildConnector(grpc.insecure_channel(f"unix:{plain}"), session.process, name="plain")
            plain_rows, plain_wall = timed(lambda: list_everything(baseline), args.repeat)
        assert bridged_rows == direct_rows == plain_rows, (bridged_rows, direct_rows, plain_rows)
        report("list", bridged_rows, bridged_wall, direct_rows, direct_wall)
        print(
            f"list without TLS or bridge (plaintext Unix socket to the same child): "
            f"{plain_rows / plain_wall:,.0f} rows/s ({plain_wall:.2f} s); the bridge adds "
            f"{(bridged_wall - plain_wall) / calls(bridged_rows) * 1e6:,.0f} us per call"
        )

        # With a rate limit configured every call first asks the child's limiter (Do, then Report).
        limited = ChildOptions(
            executable=standin,
            args=demo_args,
            env=env,
            rate_limit=rate_limit_from_env({RATE_LIMIT_ENV: "1000000000/1s"}),
        )
        with launch_child(limited) as session:
            limited_rows, limited_wall = timed(lambda: list_everything(session.connector), args.repeat)
        assert limited_rows == direct_rows
        print(
            f"list with {RATE_LIMIT_ENV} set (Do before, Report after each call): "
            f"{limited_rows / limited_wall:,.0f} rows/s ({limited_wall:.2f} s); the limiter adds "
            f"{(limited_wall - bridged_wall) / calls(limited_rows) * 1e6:,.0f} us per call"
        )

        def sync(spec: str, name: str, workers: int = 0) -> Callable[[], int]:
            def run() -> int:
                out = work / f"{name}.c1z"
                out.unlink(missing_ok=True)
                summary = run_local_sync(
                    PluginRequest(spec=spec, args=demo_args, env=env), out, workers=workers
                )
                return sum(summary.counts.values())

            return run

        direct_rows, direct_wall = timed(sync("demo", "direct"), args.repeat)
        bridged_rows, bridged_wall = timed(sync(f"exec:{standin}", "bridged"), args.repeat)
        assert bridged_rows == direct_rows
        report("sync", bridged_rows, bridged_wall, direct_rows, direct_wall)
        parallel_rows, parallel_wall = timed(sync(f"exec:{standin}", "parallel", workers=4), args.repeat)
        assert parallel_rows == direct_rows
        print(
            f"sync --workers 4 through the bridge: "
            f"{parallel_rows / parallel_wall:,.0f} rows/s ({parallel_wall:.2f} s)"
        )


if __name__ == "__main__":
    main()
