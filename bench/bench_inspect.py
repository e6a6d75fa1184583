"""Benchmark the c1z inspection commands on a sync with 100k grants.

Builds the c1z with the demo connector (``baton sync --plugin demo``), then
measures, each in a fresh process:

- peak RSS of ``baton grants -o json > /dev/null`` (budget: 150 MB),
- wall time of ``baton stats`` (budget: well under a second; the median of a few runs).

``--source writer`` builds a file of the same size and shape straight
through ``C1ZWriter`` instead, for when the sync pipeline is unavailable.

    PYTHONPATH=. .venv/bin/python bench/bench_inspect.py [--keep DIR] [--source demo|writer]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USERS, GROUPS, MEMBERSHIPS = 10_000, 1_000, 100_000
RSS_BUDGET_MB = 150
STATS_BUDGET_S = 1.0


def baton(*args: str, stdout: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BATON_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "baton_cli", *args],
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        check=False,
    )


def build_with_demo(path: Path) -> None:
    result = baton(
        "sync", "--plugin", "demo", "--out", str(path), "--progress", "off",
        "--users", str(USERS), "--groups", str(GROUPS), "--memberships", str(MEMBERSHIPS), "--roles", "0",
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"demo sync failed ({result.returncode}): {result.stderr.decode().strip()}")


def build_with_writer(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from baton_cli.c1z import C1ZWriter
    from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

    trait = resource_pb2.ResourceType.Trait
    user_t = resource_pb2.ResourceType(id="user", display_name="User", traits=[trait.TRAIT_USER])
    group_t = resource_pb2.ResourceType(id="group", display_name="Group", traits=[trait.TRAIT_GROUP])

    def res(type_id: str, oid: str) -> resource_pb2.Resource:
        return resource_pb2.Resource(
            id=resource_pb2.ResourceId(resource_type=type_id, resource=oid), display_name=f"{type_id} {oid}"
        )

    users = [res("user", f"u{i:07d}") for i in range(USERS)]
    groups = [res("group", f"g{i:06d}") for i in range(GROUPS)]
    per_group = MEMBERSHIPS // GROUPS
    with C1ZWriter.open(path) as writer:
        writer.start_sync()
        writer.put_resource_types([user_t, group_t])
        writer.put_resources(users + groups)
        ents = [
            entitlement_pb2.Entitlement(
                id=f"group:{g.id.resource}:member", resource=g, display_name="member", slug="member",
                grantable_to=[user_t], purpose=entitlement_pb2.Entitlement.PURPOSE_VALUE_ASSIGNMENT,
            )
            for g in groups
        ]  # fmt: skip
        writer.put_entitlements(ents)
        writer.put_grants(
            grant_pb2.Grant(
                id=f"{ent.id}:user:{user.id.resource}",
                entitlement=ent,
                principal=resource_pb2.Resource(id=user.id),
            )
            for gi, ent in enumerate(ents)
            for user in (users[(gi * per_group + k) % USERS] for k in range(per_group))
        )
        writer.end_sync()
        writer.save()


# Runs in a fresh interpreter whose only child is the measured command, so RUSAGE_CHILDREN's
# ru_maxrss (the largest child ever waited for) is exactly that command's peak.
_MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
sys.stderr.buffer.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def peak_rss_mb(*args: str) -> float:
    """Peak RSS of ``baton ARGS`` with stdout to /dev/null, in MiB."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BATON_FILE", None)
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "baton_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"baton {' '.join(args)} failed: {result.stderr.strip()}")
    return int(result.stdout.strip()) / 1024  # Linux reports KiB


def wall_seconds(*args: str) -> float:
    start = time.perf_counter()
    result = baton(*args)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"baton {' '.join(args)} failed: {result.stderr.decode().strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="directory to keep the generated c1z in")
    parser.add_argument("--source", choices=("demo", "writer"), default="demo")
    parser.add_argument("--runs", type=int, default=5, help="stats runs to take the median of")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "bench-100k.c1z"
        start = time.perf_counter()
        (build_with_demo if args.source == "demo" else build_with_writer)(path)
        size_mb, took = path.stat().st_size / 1e6, time.perf_counter() - start
        print(f"built {path.name} with {args.source}: {size_mb:.1f} MB in {took:.1f}s")

        rss = peak_rss_mb("grants", "-f", str(path), "-o", "json")
        start = time.perf_counter()
        baton("grants", "-f", str(path), "-o", "json")
        grants_s = time.perf_counter() - start
        stats_runs = [wall_seconds("stats", "-f", str(path)) for _ in range(args.runs)]
        stats_s = statistics.median(stats_runs)
        baseline = statistics.median(wall_seconds("--version") for _ in range(args.runs))

        budget = f"budget {RSS_BUDGET_MB} MB"
        print(f"baton grants -o json > /dev/null: peak RSS {rss:.1f} MB ({budget}), {grants_s:.2f}s")
        print(
            f"baton stats: median {stats_s:.3f}s over {args.runs} runs (budget {STATS_BUDGET_S:.1f}s; "
            f"interpreter + CLI start-up alone: {baseline:.3f}s)"
        )
        ok = rss < RSS_BUDGET_MB and stats_s < STATS_BUDGET_S
        print("PASS" if ok else "FAIL")
        raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
