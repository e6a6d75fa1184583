"""Broken, unsupported or mistaken input: one clear line on stderr and the right exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.c1z import v3_support as v3
from tests.cli.test_inspect_support import ROOT, fixture, run

READ_COMMANDS: list[tuple[str, ...]] = [
    ("resource-types",),
    ("resources",),
    ("entitlements",),
    ("grants",),
    ("principals",),
    ("syncs",),
    ("stats",),
    ("access", "-p", "user:alice"),
]


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    if lines[0].startswith("{"):  # under -o json the error is a JSON object
        return "baton: error: " + str(json.loads(lines[0])["error"])
    assert lines[0].startswith("baton: error: ")
    return lines[0]


def _unreadable_v3(directory: Path) -> Path:
    """A v3 file whose write-ahead log holds writes: something the reader cannot replay (exit 12)."""
    manifest, files = v3.unpack(fixture("file-template-sdk-v0.25.0-pebble.c1z"))
    log = next(name for name in files if name.endswith(".log"))
    return v3.write(directory / "unreplayed.c1z", manifest, {**files, log: b"\x00" * 7 + b"pending write"})


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("output", ["console", "json"])
def test_unreadable_pebble_file_is_refused_with_one_line(
    command: tuple[str, ...], output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(_unreadable_v3(tmp_path))
    result = run(capsys, *command, "-f", path, "-o", output)
    assert result.code == 12  # UNIMPLEMENTED
    assert result.out == ""
    assert "non-empty write-ahead log" in _one_error_line(result.err)


def test_unreadable_pebble_file_in_diff_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pebble, good = str(_unreadable_v3(tmp_path)), str(fixture("file-template-sdk-v0.25.0.c1z"))
    for args in (
        ("diff", good, pebble),
        ("diff", pebble, good),
        ("export", "-f", pebble, str(tmp_path / "x")),
    ):
        result = run(capsys, *args)
        assert result.code == 12, args
        _one_error_line(result.err)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is not a c1z file at all\n",
        b"C1ZF\x00" + b"\x00garbage" * 20,
        b"SQLite format 3\x00" + bytes(100),
    ],
    ids=["empty", "text", "v1-magic-bad-zstd", "bare-sqlite"],
)
@pytest.mark.parametrize(
    "command", [("grants", "-o", "json"), ("stats",), ("resources",), ("expand",)], ids=lambda c: c[0]
)
def test_garbage_files_fail_with_one_line(
    content: bytes, command: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.c1z"
    path.write_bytes(content)
    result = run(capsys, *command, "-f", str(path))
    assert result.code == 3  # INVALID_ARGUMENT
    assert result.out == ""
    assert str(path) in _one_error_line(result.err)


def test_missing_file_is_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "grants", "-f", str(tmp_path / "nope.c1z"))
    assert result.code == 5
    assert "not found" in _one_error_line(result.err)


def test_default_file_comes_from_baton_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BATON_FILE", str(fixture("demo-sdk-v0.2.51.c1z")))
    result = run(capsys, "stats", "-o", "json")
    assert result.code == 0 and result.json()["id"] == "3MieUfkuTBtUwVgB5JNswcRv9xQ"


def test_default_file_is_sync_c1z_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BATON_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = run(capsys, "stats")
    assert result.code == 5 and "sync.c1z" in _one_error_line(result.err)
    (tmp_path / "sync.c1z").write_bytes(fixture("demo-sdk-v0.2.51.c1z").read_bytes())
    assert run(capsys, "stats").code == 0


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (
            ("grants", "--sync-id", "2aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            5,
            "sync 2aaaaaaaaaaaaaaaaaaaaaaaaaa not found",
        ),
        (("resources", "-t", "robot"), 5, "resource type 'robot' not found"),
        (("entitlements", "-t", "robot"), 5, "known: group, project, role, user"),
        (("access", "-p", "alice"), 3, "--principal must be TYPE:ID"),
        (("access", "-p", "user:nobody"), 5, "principal user:nobody not found"),
        (
            ("grants", "-p", "notypeid"),
            3,
            "--principal must be TYPE:ID (for example group:ID), got 'notypeid'",
        ),
        (("grants", "-r", "user:"), 3, "--resource must be TYPE:ID"),
        (("principals", "-r", ":u1"), 3, "--resource must be TYPE:ID"),
        (("entitlements", "-r", "noid"), 3, "--resource must be TYPE:ID"),
        (("export", "-"), 3, "use --format jsonl"),
        (("diff", "--base-sync-id", "x"), 3, "give both"),
        (("diff",), 9, "diff needs two"),
    ],
)
def test_mistakes_name_the_problem(
    args: tuple[str, ...], code: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, *args, "-f", str(fixture("demo-sdk-v0.2.51.c1z")))
    assert result.code == code, result.err
    assert words in _one_error_line(result.err)


def test_diff_takes_zero_or_two_files(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "diff", str(fixture("demo-sdk-v0.2.51.c1z")))
    assert result.code == 3
    assert "two c1z files" in _one_error_line(result.err)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [("unreplayed.c1z", None, 12), ("garbage.c1z", b"\x00\x01garbage" * 100, 3)],
)
def test_real_process_prints_one_line_and_exits_nonzero(
    name: str, content: bytes | None, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _unreadable_v3(tmp_path) if content is None else tmp_path / name
    if content is not None:
        path.write_bytes(content)
    # What a shell sees: the exit status of a real process, nothing on stdout, one line on stderr.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "baton_cli", "grants", "-o", "json", "-f", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    _one_error_line(proc.stderr)
    # The other commands end through the same entry point: in-process is enough for them.
    for args in (["stats"], ["diff", str(path), str(path)]):
        result = run(capsys, *args, "-f", str(path))
        assert result.code == code, result.err
        assert result.out == ""
        _one_error_line(result.err)
