"""``--workers`` and its deprecated alias ``--parallel-sync`` (cli.md §3.2), for sync and run.

Declared once here and used by both commands; they move into the shared option
module when it lands.
"""

from __future__ import annotations

import typer

from baton_cli.errors import UsageError

WORKERS_HELP = (
    "Connector calls a sync makes at once: -1 auto (min(CPUs, 4)), 0 or 1 sequential, "
    "more lists resources' entitlements, grants and children in parallel."
)


def workers_option() -> int:
    value: int = typer.Option(0, "--workers", envvar="BATON_WORKERS", metavar="N", help=WORKERS_HELP)
    return value


def parallel_sync_option() -> bool:
    value: bool = typer.Option(
        False,
        "--parallel-sync",
        envvar="BATON_PARALLEL_SYNC",
        help="Deprecated: the same as --workers -1.",
    )
    return value


def requested_workers(workers: int, parallel_sync: bool) -> int:
    """The ``--workers`` value to use; ``--parallel-sync`` means auto unless a count was given."""
    if workers < -1:
        raise UsageError(f"--workers must be -1 (auto), 0, 1 or more, got {workers}")
    if parallel_sync and workers in (0, 1):
        return -1
    return workers
