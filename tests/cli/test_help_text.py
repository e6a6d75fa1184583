"""Every command's help reads cleanly at 80 and 120 columns (issue 10 §7).

Rendered through the real entry point, in-process, with ``COLUMNS`` set as a terminal would.
"""

from __future__ import annotations

import re

import pytest

from baton_cli.cli.app import main
from baton_cli.cli.commands import COMMANDS, load

# Typer's own metavars name Python types: <str>, <path>, <list[str]>, <int | None>...
_PYTHON_TYPE = re.compile(r"<(str|int|float|bool|path|text|list\[[^>]*\]|[^>]*\| ?None)>", re.IGNORECASE)


def _paths() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [()]

    def walk(prefix: tuple[str, ...], command: object) -> None:
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                walk((*prefix, name), sub)

    for name, entry in COMMANDS.items():
        if not entry.hidden:
            walk((name,), load(name))
    return paths


PATHS = _paths()


def render(
    path: tuple[str, ...], columns: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_covered() -> None:
    # sync, grants, emulator serve and plugins show are among them: the walk reaches sub-groups.
    assert {("sync",), ("grants",), ("emulator", "serve"), ("plugins", "show")} <= set(PATHS)


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "baton")
def test_help_reads_cleanly(
    path: tuple[str, ...], columns: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = render(path, columns, monkeypatch, capsys)
    assert "🆔" not in text, "Rich emoji markup ate ':id:'"
    assert "<bool>" not in text, "switches take no value"
    assert "…" not in text, "something was cut off"
    assert not _PYTHON_TYPE.search(text), f"a Python type name as metavar: {_PYTHON_TYPE.search(text)}"
    too_wide = [line for line in text.splitlines() if len(line) > columns]
    assert not too_wide, too_wide
    assert "Usage: baton" in text


def test_help_keeps_ids_literal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    text = render(("grant",), 80, monkeypatch, capsys)
    assert "TYPE:ID:SLUG" in text


def test_help_has_a_sane_width_when_piped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A pipe has no size; a tiny COLUMNS must not squeeze help into a word per line either.
    text = render(("sync",), 20, monkeypatch, capsys)
    assert max(len(line) for line in text.splitlines()) >= 50


def test_help_follows_a_wide_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    narrow = render(("sync",), 80, monkeypatch, capsys)
    wide = render(("sync",), 120, monkeypatch, capsys)
    assert max(len(line) for line in wide.splitlines()) > max(len(line) for line in narrow.splitlines())


def test_progress_is_one_vocabulary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (("sync",), ("emulator", "serve")):
        text = render(path, 120, monkeypatch, capsys)
        assert "--progress <auto|rich|plain|off>" in text or "--progress [auto|rich|plain|off]" in text, path


def test_syncs_has_no_sync_id(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--sync-id" not in render(("syncs",), 120, monkeypatch, capsys)
