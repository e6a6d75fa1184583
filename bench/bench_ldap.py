"""Benchmark ``baton sync --plugin ldap`` against a real slapd: 10k users, 1k groups, 100k memberships.

The directory is generated as LDIF and loaded offline with ``slapadd`` (tests/ldap/slapd.py starts
and stops the server), then synced by a fresh ``baton`` process measured as bench_sync.py does
(wall time and the peak RSS of that process alone). The demo connector's sync of the same sizes
runs too, so the ratio shows what talking to a directory server costs on top of the engine.

    PYTHONPATH=. .venv/bin/python bench/bench_ldap.py [--users N] [--groups N] [--memberships N] [--repeat N]

Needs slapd and slapadd (Debian: ``apt-get install slapd ldap-utils``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.bench_sync import measure, rows, sync
from tests.ldap.slapd import ADMIN_DN, ADMIN_PASSWORD, SUFFIX, running_slapd

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"


def directory_ldif(users: int, groups: int, memberships: int) -> str:
    """Users u0..; groupOfNames g0.. with memberships spread evenly (each group has >= 1 member)."""
    parts = [
        f"dn: uid=u{i},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: User {i}\nsn: {i}\n"
        f"mail: u{i}@example.org\n\n"
        for i in range(users)
    ]
    per_group = max(1, memberships // max(groups, 1))
    for g in range(groups):
        members = "".join(f"member: uid=u{(g * per_group + k) % users},{PEOPLE}\n" for k in range(per_group))
        parts.append(f"dn: cn=g{g},{GROUPS}\nobjectClass: groupOfNames\ncn: g{g}\n{members}\n")
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--memberships", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-ldap-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        ldif = directory_ldif(args.users, args.groups, args.memberships)
        with running_slapd(work / "slapd", ldif) as server:
            load_seconds = time.perf_counter() - started
            print(
                f"directory: {args.users:,} users, {args.groups:,} groups, {args.memberships:,} memberships"
            )
            print(f"  generated, slapadd-loaded and slapd started in {load_seconds:.1f} s")
            flags = [
                f"--url={server.url}",
                f"--bind-dn={ADMIN_DN}",
                f"--password={ADMIN_PASSWORD}",
                f"--base-dn={SUFFIX}",
                f"--user-search-dn={PEOPLE}",
                f"--group-search-dn={GROUPS}",
                f"--page-size={args.page_size}",
            ]
            walls, rsss = [], []
            summary: dict[str, object] = {}
            for _ in range(args.repeat):
                out = work / "ldap.c1z"
                out.unlink(missing_ok=True)
                run = measure(
                    "sync",
                    "--plugin",
                    "ldap",
                    "--out",
                    str(out),
                    "--json",
                    "--progress",
                    "off",
                    *flags,
                    cwd=work,
                )
                walls.append(run.wall)
                rsss.append(run.rss_mb)
                import json

                summary = json.loads(run.stdout)
            ldap_wall = statistics.median(walls)
            total = rows(summary)  # type: ignore[arg-type]
            print(
                f"ldap sync: median {ldap_wall:.2f} s of {args.repeat}, {total / ldap_wall:,.0f} rows/s, "
                f"peak RSS {max(rsss):.0f} MB, counts {summary['counts']}"
            )
        sizes = (
            "--users", str(args.users), "--groups", str(args.groups),
            "--memberships", str(args.memberships), "--roles", "0",
        )  # fmt: skip
        demo_walls = [sync(work / "demo.c1z", sizes)[0].wall for _ in range(args.repeat)]
        demo_wall = statistics.median(demo_walls)
        print(f"demo sync of the same sizes: median {demo_wall:.2f} s")
        print(f"ratio ldap / demo: {ldap_wall / demo_wall:.1f}x")


if __name__ == "__main__":
    main()
