"""The timestamp text stored in c1z rows (c1z.md §5).

Upstream stores local wall-clock time without a zone as
``YYYY-MM-DD HH:MM:SS[.fraction]``: up to nine fraction digits, trailing zeros
trimmed, no dot for a whole second. Rows are compared as text, so the layout
must be exact for ordering (e.g. "latest finished sync") to work.
"""

from __future__ import annotations

import time
from datetime import datetime

_NS_PER_SECOND = 1_000_000_000


def format_ns(unix_ns: int) -> str:
    """Local wall-clock text for a Unix time in nanoseconds."""
    seconds, nanos = divmod(unix_ns, _NS_PER_SECOND)
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    return text + _fraction(f"{nanos:09d}")


def format_datetime(value: datetime) -> str:
    """Text for a naive local (or aware, converted to local) datetime."""
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S") + _fraction(f"{value.microsecond:06d}")


def now_text() -> str:
    return format_ns(time.time_ns())


def parse_text(text: str) -> datetime:
    """A naive local datetime; fractions beyond microseconds are truncated."""
    whole, _, fraction = text.partition(".")
    value = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S")
    if fraction:
        if not fraction.isdigit() or len(fraction) > 9:
            raise ValueError(f"bad fraction in timestamp {text!r}")
        value = value.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return value


def _fraction(digits: str) -> str:
    trimmed = digits.rstrip("0")
    return f".{trimmed}" if trimmed else ""
