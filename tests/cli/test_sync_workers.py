"""`baton sync --workers`: real processes, the demo plugin, real c1z files."""

from __future__ import annotations

import json
from pathlib import Path

from baton_cli.c1z import C1ZReader
from tests.cli.invoke import baton_here

DEMO = ("--plugin", "demo", "--users", "40", "--groups", "6", "--memberships", "120", "--roles", "2")


def grant_rows(path: Path) -> dict[str, bytes]:
    with C1ZReader.open(path) as reader:
        sync = reader.pick_sync()
        return {g.id: g.SerializeToString(deterministic=True) for g in reader.grants(sync.sync_id)}


def test_workers_flag_env_and_deprecated_alias_give_the_sequential_rows(tmp_path: Path) -> None:
    outs = {name: tmp_path / f"{name}.c1z" for name in ("seq", "flag", "env", "alias")}
    runs = {
        "seq": ([], {}),
        "flag": (["--workers", "3"], {}),
        "env": ([], {"BATON_WORKERS": "4"}),
        "alias": (["--parallel-sync"], {}),
    }
    for name, (flags, env) in runs.items():
        args = ["sync", *DEMO, "--latency-ms", "1", "--out", str(outs[name]), "--json", *flags]
        result = baton_here(*args, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["counts"]["grants"] > 120
    expected = grant_rows(outs["seq"])
    for name in ("flag", "env", "alias"):
        assert grant_rows(outs[name]) == expected, name


def test_workers_below_auto_is_a_usage_error(tmp_path: Path) -> None:
    result = baton_here("sync", *DEMO, "--out", str(tmp_path / "x.c1z"), "--workers", "-2", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "--workers" in result.stderr and "-2" in result.stderr
    assert not (tmp_path / "x.c1z").exists()
