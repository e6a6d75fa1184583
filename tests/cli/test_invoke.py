"""tests/cli/invoke.py: an in-process `baton` answers as the real process does, and leaves no trace."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.cli.invoke import baton_here
from tests.cli.process import baton

# One of each: a success on stdout, a usage error (3), a missing file (5), a JSON error.
SAME_AS_A_PROCESS = [
    ("plugins", "show", "demo"),
    ("sync", "--plugin", "demo", "--userz", "3"),
    ("stats", "-f", "missing.c1z"),
    ("grants", "-f", "missing.c1z", "-o", "json"),
]


@pytest.mark.parametrize("args", SAME_AS_A_PROCESS, ids=" ".join)
def test_the_answer_is_the_real_processes(tmp_path: Path, args: tuple[str, ...]) -> None:
    here = baton_here(*args, cwd=tmp_path, env={"COLUMNS": "100"})
    real = baton(*args, cwd=tmp_path, env={"COLUMNS": "100"})
    assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr)


def test_a_sync_leaves_the_process_as_it_found_it(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = (
        dict(os.environ),
        os.getcwd(),
        (sys.stdin, sys.stdout, sys.stderr),
        list(root.handlers),
        root.level,
        {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)},
    )
    done = baton_here(
        "sync",
        "--plugin",
        "demo",
        "--out",
        "d.c1z",
        "--log-level",
        "debug",
        cwd=tmp_path,
        env={"BATON_X": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d.c1z").is_file()  # it ran in cwd
    after = (
        dict(os.environ),
        os.getcwd(),
        (sys.stdin, sys.stdout, sys.stderr),
        list(root.handlers),
        root.level,
        {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)},
    )
    assert after == before


def test_the_environment_is_the_childs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's BATON_FILE must not leak in (as for a child); the call's own env does.
    monkeypatch.setenv("BATON_FILE", str(tmp_path / "developer.c1z"))
    done = baton_here("config", "sync", "--plugin", "demo", cwd=tmp_path, env={"BATON_USERS": "7"})
    assert done.returncode == 0, done.stderr
    assert "developer.c1z" not in done.stdout
    assert "7" in next(line for line in done.stdout.splitlines() if "users" in line)


def test_stdin_is_given_and_no_stream_is_a_terminal(tmp_path: Path) -> None:
    # Without a terminal the progress display is plain lines, as on a pipe.
    done = baton_here("sync", "--plugin", "demo", "--out", "d.c1z", cwd=tmp_path, stdin="ignored\n")
    assert done.returncode == 0, done.stderr
    assert "sync: phase list-resources" in done.stderr


def test_a_connector_module_is_imported_afresh_for_each_call(tmp_path: Path) -> None:
    # Two projects with a module of the same name: a child process would import each anew.
    from tests.author.test_plugin_paths_and_tracebacks import write_connector

    two_users = (
        "return Page([Resource(id=ResourceId(resource_type='user', resource=n), display_name=n)"
        " for n in (NAME, 'carol')])"
    )
    path_before = list(sys.path)
    counts = []
    for name, body in (("one", None), ("two", two_users)):
        project = tmp_path / name
        write_connector(project / "same_name_conn.py", **({"list_body": body} if body else {}))
        done = baton_here(
            "sync", "--plugin", "same_name_conn:plugin", "--out", "o.c1z", "--json", "--progress", "off",
            cwd=project,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        counts.append(json.loads(done.stdout)["counts"]["resources"])
        assert "same_name_conn" not in sys.modules and sys.path == path_before
    assert counts == [1, 2]
