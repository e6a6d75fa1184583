"""How a kit check fails: one readable message listing what is wrong, by id."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED = 20


class KitFailure(AssertionError):
    """A connector broke one of the platform's expectations.

    The pytest plugin shows only this message (no traceback of kit internals).
    """


def fail_if(check: str, problems: Sequence[str]) -> None:
    if not problems:
        return
    listed = [f"  - {problem}" for problem in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        listed.append(f"  ... and {len(problems) - MAX_LISTED} more")
    noun = "problem" if len(problems) == 1 else "problems"
    raise KitFailure(f"{check}: {len(problems)} {noun}\n" + "\n".join(listed))
