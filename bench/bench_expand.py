"""Benchmark grant expansion on a large graph.

Builds an unexpanded sync with the demo connector, driven in-process straight
into ``C1ZWriter`` (users, groups with ``member`` entitlements granted to
users, roles granted to groups with GrantExpandable pointing at the group's
``member`` entitlement), leaves the sync paused before expansion, then times
``expand_grants`` over it through the SQLite expansion store and prints grants
expanded per second (grants created + existing grants updated).

    PYTHONPATH=. .venv/bin/python bench/bench_expand.py [--users N --groups N --memberships N --roles N]
    PYTHONPATH=. .venv/bin/python bench/bench_expand.py --from FILE.c1z   # time an existing c1z (a copy)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baton_cli.c1z import C1ZWriter  # noqa: E402
from baton_cli.connector.api import Page, Resource  # noqa: E402
from baton_cli.connector.demo.connector import DemoConnector  # noqa: E402
from baton_cli.connector.demo.model import Sizes  # noqa: E402
from baton_cli.core.expand import expand_grants  # noqa: E402
from baton_cli.core.sync_state import SyncState  # noqa: E402

T = TypeVar("T")
PAGE_SIZE = 1000


def pages(listing: Callable[[str], Page[T]]) -> Iterator[list[T]]:
    token = ""
    while True:
        page = listing(token)
        yield list(page.items)
        if not page.next_token:
            return
        token = page.next_token


def build(path: Path, sizes: Sizes) -> None:
    connector = DemoConnector(sizes, PAGE_SIZE)
    writer = C1ZWriter.open(path, tmp_dir=path.parent)
    try:
        writer.start_sync("full")
        syncers = connector.resource_syncers()
        writer.put_resource_types([s.resource_type for s in syncers])
        for syncer in syncers:
            resources: list[Resource] = []
            for batch in pages(lambda token, s=syncer: s.list(None, token)):  # type: ignore[misc]
                writer.put_resources(batch)
                resources.extend(batch)
            for res in resources:
                for ents in pages(lambda token, s=syncer, r=res: s.entitlements(r, token)):  # type: ignore[misc]
                    writer.put_entitlements(ents)
                for grants in pages(lambda token, s=syncer, r=res: s.grants(r, token)):  # type: ignore[misc]
                    writer.put_grants(grants)
        writer.checkpoint()
        writer.save()  # the sync stays unfinished: paused before grant expansion
    except BaseException:
        writer.abort()
        raise


def run(path: Path) -> None:
    started = time.perf_counter()
    with C1ZWriter.open(path, tmp_dir=path.parent) as writer:
        # The newest unfinished sync: the one build() left paused before expansion.
        target = next(r for r in reversed(writer.store.syncs()) if not r.finished)
        state = SyncState.from_token(writer.resume_sync(target))
        opened = time.perf_counter()
        result = expand_grants(writer.expansion_store(), env={})
        expanded = time.perf_counter()
        state.actions.clear()
        writer.set_sync_token(state.to_token())
        writer.end_sync()
        writer.save()
    saved = time.perf_counter()
    written = result.grants_created + result.grants_updated
    seconds = expanded - opened
    print(f"sync {target.sync_id}: {result.edges} edges in {result.layers} layer(s)", end="")
    print(f", {result.dropped_edges} dropped, {result.cycles_collapsed} cycles collapsed")
    print(f"grants created {result.grants_created}, updated {result.grants_updated}")
    print(
        f"open + migrate {opened - started:.2f} s, expansion {seconds:.2f} s,"
        f" end sync + save {saved - expanded:.2f} s"
    )
    print(f"grants expanded per second: {written / seconds if seconds else 0:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--memberships", type=int, default=100_000)
    parser.add_argument("--roles", type=int, default=100)
    parser.add_argument("--from", dest="source", type=Path, help="expand a copy of this c1z instead")
    parser.add_argument("--keep", type=Path, help="leave the expanded file in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-expand") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        path = work / "expand.c1z"
        if args.source:
            shutil.copyfile(args.source, path)
        else:
            sizes = Sizes(args.users, args.groups, args.memberships, args.roles)
            started = time.perf_counter()
            build(path, sizes)
            print(f"built {sizes.as_dict()} in {time.perf_counter() - started:.1f} s")
        run(path)


if __name__ == "__main__":
    main()
