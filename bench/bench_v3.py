"""Benchmark the v3 (Pebble) c1z reader on the larger upstream sample (45k resources, 85k grants).

Each figure comes from a fresh child process, so its peak RSS (``ru_maxrss``) is its own:

- ``merge``: unpack the payload and stream every live key of the file through the k-way merge
  (all families, the retired index families included), decoding the record values;
- ``open``: ``C1ZReader.open`` as every command does it (merge + map + stream into the v1 work
  database), then the counts;
- ``stats``: wall time of ``baton stats -f`` on the file;
- ``open-v1``: ``C1ZReader.open`` of a v1 file (``small-expanded.c1z``: decompress, schema
  migration, GrantExpandable backfill), averaged over repeated opens in one process, as the
  inspection tests open it.

CPU seconds (``time.process_time``) are printed beside walls: on a loaded machine they vary far
less.

    PYTHONPATH=. .venv/bin/python bench/bench_v3.py [--fixture PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "c1z"
DEFAULT_FIXTURE = FIXTURES / "pebble-unexpanded-sdk-test.c1z"
V1_FIXTURE = FIXTURES / "small-expanded.c1z"
V1_OPENS = 10


def _child_merge(path: Path) -> dict[str, float]:
    from baton_cli.c1z.v3 import V3File
    from baton_cli.pb.c1.storage.v3 import records_pb2

    decoders = {
        b"\x03\x01": records_pb2.ResourceTypeRecord.FromString,
        b"\x03\x02": records_pb2.ResourceRecord.FromString,
        b"\x03\x03": records_pb2.EntitlementRecord.FromString,
        b"\x03\x04": records_pb2.GrantRecord.FromString,
    }
    keys = records = 0
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        with V3File.open(path, Path(scratch)) as v3:
            unpacked = time.perf_counter() - started
            for key, value in v3.items(b"", None):  # one pass over the whole keyspace
                keys += 1
                decode = decoders.get(key[:2])
                if decode is not None:
                    decode(value)
                    records += 1
        seconds = time.perf_counter() - started
    return {"keys": keys, "records": records, "seconds": seconds, "unpack_seconds": unpacked}


def _child_baseline(path: Path) -> dict[str, float]:
    # The interpreter with the reader's modules imported, nothing read: what RSS starts from.
    from baton_cli.c1z import C1ZReader
    from baton_cli.c1z.v3 import V3File

    del C1ZReader, V3File, path
    return {}


def _child_open(path: Path) -> dict[str, float]:
    from baton_cli.c1z import C1ZReader

    started = time.perf_counter()
    cpu = time.process_time()
    with C1ZReader.open(path) as reader:
        counts = reader.counts(reader.pick_sync().sync_id)
    seconds = time.perf_counter() - started
    records = counts.resource_types + counts.resources + counts.entitlements + counts.grants
    return {"records": records, "seconds": seconds, "cpu_seconds": time.process_time() - cpu}


def _child_open_v1(path: Path) -> dict[str, float]:
    from baton_cli.c1z import C1ZReader

    with C1ZReader.open(path):  # the first open pays for imports, which no later open repeats
        pass
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(V1_OPENS):
        with C1ZReader.open(path) as reader:
            grants = reader.counts(reader.pick_sync().sync_id).grants
    return {
        "grants": grants,
        "seconds": (time.perf_counter() - started) / V1_OPENS,
        "cpu_seconds": (time.process_time() - cpu) / V1_OPENS,
    }


def _run_child(mode: str, path: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--fixture", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed: {proc.stderr.strip()}")
    figures: dict[str, float] = json.loads(proc.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    parser.add_argument("--v1-fixture", type=Path, default=V1_FIXTURE)
    parser.add_argument("--child", choices=["baseline", "merge", "open", "open-v1"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    path: Path = args.fixture
    if args.child:
        children = {
            "baseline": _child_baseline,
            "merge": _child_merge,
            "open": _child_open,
            "open-v1": _child_open_v1,
        }
        child = children[args.child]
        figures = child(path)
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return 0
    if not path.is_file():
        raise SystemExit(f"fixture not found: {path} (pass --fixture)")
    from baton_cli.c1z.v3.envelope import read_envelope, read_index

    with path.open("rb") as fh:
        envelope = read_envelope(path, fh)
        raw_mb = read_index(path, fh, envelope).total_raw_size / 2**20
    print(
        f"fixture: {path.name}, {path.stat().st_size / 2**20:.1f} MB on disk, {raw_mb:.1f} MB decoded payload"
    )

    base = _run_child("baseline", path)["peak_rss_mb"]
    print(f"baseline: interpreter with the reader imported, peak RSS {base:.0f} MB")
    merge = _run_child("merge", path)
    print(
        f"merge: {merge['keys']:,.0f} live keys ({merge['records']:,.0f} records) "
        f"in {merge['seconds']:.2f} s "
        f"(unpack {merge['unpack_seconds']:.2f} s): {merge['keys'] / merge['seconds']:,.0f} keys/s, "
        f"{merge['records'] / merge['seconds']:,.0f} records/s; peak RSS {merge['peak_rss_mb']:.0f} MB "
        f"(+{merge['peak_rss_mb'] - base:.0f} MB over the baseline, for {raw_mb:.1f} MB of tables)"
    )
    opened = _run_child("open", path)
    print(
        f"open (merge + map + v1 work database): {opened['records']:,.0f} rows in {opened['seconds']:.2f} s: "
        f"{opened['records'] / opened['seconds']:,.0f} rows/s, {opened['cpu_seconds']:.2f} s CPU; "
        f"peak RSS {opened['peak_rss_mb']:.0f} MB (+{opened['peak_rss_mb'] - base:.0f} MB)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "baton_cli", "stats", "-f", str(path)],
        env=env,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"baton stats failed: {proc.stderr.decode().strip()}")
    print(f"baton stats -f: {time.perf_counter() - started:.2f} s wall")
    if args.v1_fixture.is_file():
        v1 = _run_child("open-v1", args.v1_fixture)
        print(
            f"open-v1 ({args.v1_fixture.name}, {v1['grants']:,.0f} grants): "
            f"{v1['seconds'] * 1000:.0f} ms wall, {v1['cpu_seconds'] * 1000:.0f} ms CPU per open "
            f"(mean of {V1_OPENS} in one process)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
