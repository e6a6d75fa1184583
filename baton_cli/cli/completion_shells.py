"""The bash, zsh and fish completion protocols, with real file-path candidates.

Typer's classes answer a path option (``-f sy<TAB>``) with the word typed so far, which the
shell then takes as the only candidate; here a path option is answered with the matching
files and directories (directories end in ``/``). Registered only when a shell asks
(``_BATON_COMPLETE`` is set), so normal start-up never imports this.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from typer._completion_classes import BashComplete, FishComplete, ZshComplete

try:  # newer typer releases vendor click
    from typer._click.shell_completion import CompletionItem, add_completion_class
except ImportError:  # pragma: no cover - older typer on real click
    from click.shell_completion import CompletionItem, add_completion_class  # type: ignore[assignment]


def path_candidates(incomplete: str) -> list[CompletionItem]:
    """Files and directories starting with ``incomplete`` (``~`` expanded), hidden ones on request."""
    expanded = os.path.expanduser(incomplete)
    found = []
    for path in sorted(glob.glob(glob.escape(expanded) + "*")):
        if os.path.basename(path).startswith(".") and not os.path.basename(expanded).startswith("."):
            continue
        shown = incomplete + path[len(expanded) :] if path.startswith(expanded) else path
        found.append(CompletionItem(shown + ("/" if os.path.isdir(path) else "")))
    return found


def _with_paths(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item.type in ("file", "dir"):
            out.extend(path_candidates(item.value))
        else:
            out.append(item)
    return out


class BatonBash(BashComplete):
    def get_completions(self, args: list[str], incomplete: str) -> list[Any]:
        return _with_paths(super().get_completions(args, incomplete))


class BatonZsh(ZshComplete):
    def get_completions(self, args: list[str], incomplete: str) -> list[Any]:
        return _with_paths(super().get_completions(args, incomplete))


class BatonFish(FishComplete):
    def get_completions(self, args: list[str], incomplete: str) -> list[Any]:
        return _with_paths(super().get_completions(args, incomplete))


def register() -> None:
    for cls, name in ((BatonBash, "bash"), (BatonZsh, "zsh"), (BatonFish, "fish")):
        add_completion_class(cls, name)
