"""What scripts rely on (issue 10 §4): one -o switch, JSON errors, stable bytes, exit codes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from baton_cli.errors import EXIT_DIFFERENCES, StatusCode
from tests.cli.invoke import baton_here
from tests.cli.process import baton
from tests.cli.test_inspect_support import grant, member, resource, run, write_sync

SOURCES = [f"group:g{n:03d}:member" for n in range(40)]


@pytest.fixture(scope="module")
def many_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stable") / "sources.c1z"
    groups = [resource("group", f"g{n:03d}") for n in range(40)]
    alice = resource("user", "alice")
    shuffled = list(SOURCES)
    random.Random(7).shuffle(shuffled)  # inserted out of order: sorting is the code's job
    write_sync(
        path, [alice, *groups], [member(g) for g in groups], [grant(member(groups[0]), alice, shuffled)]
    )
    return path


def test_grants_json_is_byte_stable_across_processes(many_sources: Path) -> None:
    # Three processes with three different string hashes: set and dict orders differ between them.
    outputs = {
        baton(
            "grants", "-f", str(many_sources), "-o", "json", cwd=many_sources.parent,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }  # fmt: skip
    assert len(outputs) == 1, "the same file gave different bytes"
    [text] = outputs
    seen: list[list[str]] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if keys and keys[0].startswith("group:"):
            seen.append(keys)
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    assert seen == [sorted(SOURCES)], "map keys come out in a defined (sorted) order"


def test_json_is_an_alias_of_output_json(many_sources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_alias = run(capsys, "grants", "-f", str(many_sources), "--json")
    by_switch = run(capsys, "grants", "-f", str(many_sources), "-o", "json")
    assert by_alias.code == by_switch.code == 0
    assert by_alias.out == by_switch.out


@pytest.mark.parametrize(
    "args",
    [
        ("grants", "-f", "missing.c1z", "-o", "json"),
        ("stats", "-f", "missing.c1z", "--json"),
        ("sync", "--plugin", "no-such-plugin", "--output=json"),
        ("plugins", "show", "no-such-plugin", "-o", "json"),
    ],
)
def test_errors_under_json_output_are_json_on_stderr(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = baton_here(*args, cwd=tmp_path)
    assert done.returncode == StatusCode.NOT_FOUND
    assert done.stdout == ""
    body = json.loads(done.stderr)
    assert body["code"] == StatusCode.NOT_FOUND and body["status"] == "NOT_FOUND"
    assert "not found" in body["error"] or "no connector plugin" in body["error"]


def test_usage_errors_under_json_output_are_json_too(tmp_path: Path) -> None:
    done = baton_here("grants", "-o", "json", "--no-such-flag", cwd=tmp_path)
    assert done.returncode == StatusCode.INVALID_ARGUMENT
    assert json.loads(done.stderr)["code"] == StatusCode.INVALID_ARGUMENT


def test_console_errors_stay_one_line(tmp_path: Path) -> None:
    done = baton_here("grants", "-f", "missing.c1z", cwd=tmp_path)
    assert done.returncode == StatusCode.NOT_FOUND
    assert done.stderr.startswith("baton: error: ") and done.stderr.count("\n") == 1


def test_diff_exit_code_is_not_the_cancelled_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alice, eng = resource("user", "alice"), resource("group", "eng")
    write_sync(tmp_path / "a.c1z", [alice, eng], [member(eng)], [])
    write_sync(tmp_path / "b.c1z", [alice, eng], [member(eng)], [grant(member(eng), alice)])
    changed = run(capsys, "diff", str(tmp_path / "a.c1z"), str(tmp_path / "b.c1z"), "--exit-code")
    assert changed.code == EXIT_DIFFERENCES
    assert changed.code != StatusCode.CANCELLED


def test_grants_and_access_agree_on_an_unknown_principal(
    many_sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grants = run(capsys, "grants", "-f", str(many_sources), "-p", "user:nobody")
    access = run(capsys, "access", "-f", str(many_sources), "-p", "user:nobody")
    assert grants.code == access.code == StatusCode.NOT_FOUND
    assert "user:nobody not found" in grants.err and "user:nobody not found" in access.err
    # A principal that exists still lists (empty or not) with 0.
    assert run(capsys, "grants", "-f", str(many_sources), "-p", "user:alice").code == 0


@pytest.mark.parametrize("spec", ["os:path", "json:JSONDecoder.decode.__doc__", "no_such_module_xyz:plugin"])
def test_a_bad_plugin_path_is_a_usage_error(tmp_path: Path, spec: str) -> None:
    done = baton_here("sync", "--plugin", spec, "--progress", "off", cwd=tmp_path)
    assert done.returncode == StatusCode.INVALID_ARGUMENT, done.stderr
    assert done.stderr.startswith(f"baton: error: plugin {spec!r}")
