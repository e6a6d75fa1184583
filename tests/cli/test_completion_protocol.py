"""Shell completion answers through each shell's real protocol (issue 10 §1).

Each test runs `baton` (in-process, through the console entry point: tests/cli/invoke.py) with
the environment the committed completion script sets (bash: COMP_WORDS/COMP_CWORD; zsh and fish:
_TYPER_COMPLETE_ARGS), and reads the candidates it prints. One bash test sources the script into
a real bash, which starts the real `baton`, and reads COMPREPLY.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.invoke import baton_here
from tests.cli.process import ROOT, baton_env

VAR = "_BATON_COMPLETE"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "sync.c1z").write_bytes(b"")
    (tmp_path / "second.c1z").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    return tmp_path


def bash(words: list[str], cwd: Path) -> list[str]:
    """Candidates for the last word of ``words`` (an empty string completes a new word)."""
    env = {VAR: "complete_bash", "COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1)}
    done = baton_here(cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    assert "not supported" not in done.stdout + done.stderr
    return done.stdout.split()


def zsh(line: str, cwd: Path) -> str:
    done = baton_here(cwd=cwd, env={VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert done.returncode == 0, done.stderr
    return done.stdout


def fish(line: str, cwd: Path) -> list[str]:
    env = {VAR: "complete_fish", "_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    done = baton_here(cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return [line.split("\t")[0] for line in done.stdout.splitlines()]


def test_bash_completes_commands(folder: Path) -> None:
    assert bash(["baton", "sy"], folder) == ["sync", "syncs"]
    everything = bash(["baton", ""], folder)
    assert {"sync", "grants", "plugins", "completion"} <= set(everything)
    assert "upstream" not in everything


def test_bash_completes_options_and_choices(folder: Path) -> None:
    assert "--plugin" in bash(["baton", "sync", "--pl"], folder)
    assert bash(["baton", "grants", "-o", ""], folder) == ["console", "json"]
    assert bash(["baton", "sync", "--progress", ""], folder) == ["auto", "rich", "plain", "off"]


def test_bash_completes_plugin_names(folder: Path) -> None:
    assert "demo" in bash(["baton", "sync", "--plugin", ""], folder)
    assert bash(["baton", "sync", "--plugin", "de"], folder) == ["demo"]
    assert "demo" in bash(["baton", "plugins", "show", ""], folder)


def test_bash_completes_file_paths(folder: Path) -> None:
    assert bash(["baton", "grants", "-f", ""], folder) == ["second.c1z", "sub/", "sync.c1z"]
    assert bash(["baton", "grants", "-f", "sy"], folder) == ["sync.c1z"]
    assert bash(["baton", "grants", "-f", "su"], folder) == ["sub/"]


def test_zsh_completes_plugins_and_files(folder: Path) -> None:
    assert '"demo"' in zsh("baton sync --plugin ", folder)
    assert zsh("baton grants -f se", folder).strip() == """_arguments '*: :(("second.c1z"))'"""
    assert '"sync":' in zsh("baton sy", folder)  # with its help text after the colon


def test_fish_completes_plugins_and_files(folder: Path) -> None:
    assert "demo" in fish("baton sync --plugin ", folder)
    assert fish("baton grants -f s", folder) == ["second.c1z", "sub/", "sync.c1z"]
    assert fish("baton gr", folder) == ["grant", "grants"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_committed_bash_script_fills_compreply_in_a_real_bash(folder: Path) -> None:
    script = (ROOT / "completions" / "baton.bash").read_text()
    # `baton` on PATH as the console script would be: a shim running this checkout.
    shim = folder / "bin" / "baton"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m baton_cli "$@"\n')
    shim.chmod(0o755)
    program = script + '\nCOMP_WORDS=(baton sync --plugin ""); COMP_CWORD=3\n_baton_completion baton\n'
    program += 'printf "%s\\n" "${COMPREPLY[@]}"\n'
    env = baton_env({"PATH": f"{shim.parent}:{baton_env()['PATH']}"})
    done = subprocess.run(
        ["bash", "--norc", "-c", program], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "demo" in done.stdout.split()
