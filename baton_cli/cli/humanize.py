"""Numbers for people: counts with thousands separators and the right plural, one duration style.

Every live line, bar and summary formats through here, so the same value reads the same way
in the progress display and in the line printed at the end.
"""

from __future__ import annotations

from collections.abc import Mapping

from baton_cli.core.progress import RowKind, row_count


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 grant``, ``1,234 grants``."""
    noun = singular if n == 1 else (plural or f"{singular}s")
    return f"{n:,} {noun}"


def kind_count(kind: RowKind, n: int) -> str:
    return row_count(kind.value, n)


def kind_counts(counts: Mapping[str, int]) -> str:
    """``3 resource types, 58 resources, 8 entitlements, 345 grants`` (kinds in sync order)."""
    return ", ".join(kind_count(kind, counts.get(kind.value, 0)) for kind in RowKind)


def duration(seconds: float) -> str:
    """``0.42s``, ``12.3s``, ``2m 05s``, ``1h 02m``."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def rate(per_second: float, unit: str = "rows") -> str:
    return f"{per_second:,.0f} {unit}/s"


def data_size(n: float) -> str:
    """``812 B``, ``1.5 MiB``."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:,.1f} {unit}"
    return f"{n:,.1f} GiB"  # pragma: no cover - the loop always returns


def percent(done: int, total: int) -> str:
    return f"{100 * done / total:.0f}%" if total > 0 else "100%"


def eta(elapsed: float, done: int, total: int) -> str:
    """Time left at the pace so far; ``?`` before there is a pace."""
    if done >= total:
        return duration(0)
    if done <= 0 or elapsed <= 0:
        return "?"
    return duration(elapsed * (total - done) / done)
