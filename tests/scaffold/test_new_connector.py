"""`baton new connector`: the package it writes installs into a venv, passes its own kit tests, and syncs."""

from __future__ import annotations

import os
from pathlib import Path

from baton_cli.c1z import C1ZReader
from tests.cli.invoke import baton_here
from tests.venvs import run, venv_with_this_baton_cli


def test_a_generated_connector_installs_passes_its_tests_and_syncs(tmp_path: Path) -> None:
    created = baton_here("new", "connector", "acme-hr", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    package = tmp_path / "acme-hr"
    assert (package / "pyproject.toml").is_file() and (package / "baton_acme_hr" / "connector.py").is_file()

    python = venv_with_this_baton_cli(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BATON_FILE")}
    run(
        str(python),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-build-isolation",
        "-e",
        f"{package}[test]",
        cwd=tmp_path,
        env=env,
    )

    tests = run(str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package, env=env)
    assert "14 passed" in tests.stdout and "failed" not in tests.stdout and "skipped" not in tests.stdout, (
        tests.stdout
    )

    out = tmp_path / "acme.c1z"
    synced = run(
        str(python), "-m", "baton_cli", "sync", "--plugin", "acme-hr", "--out", str(out), "--progress", "off",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "Synced" in synced.stdout
    with C1ZReader.open(out) as reader:
        sync_id = reader.pick_sync().sync_id
        assert {r.id.resource_type for r in reader.resources(sync_id)} == {"user", "team"}
        assert {e.id for e in reader.entitlements(sync_id)} == {"team:t1:member", "team:t2:member"}
        assert len(list(reader.grants(sync_id))) == 4


def test_an_existing_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "notes.txt").write_text("mine")
    result = baton_here("new", "connector", "acme", cwd=tmp_path)
    assert result.returncode == 6
    assert result.stderr.strip().splitlines() == [
        "baton: error: 'acme' already exists and is not an empty directory"
    ]
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme"]


def test_a_name_that_is_not_kebab_case_is_a_usage_error(tmp_path: Path) -> None:
    result = baton_here("new", "connector", "Acme_HR", cwd=tmp_path)
    assert result.returncode == 3
    assert "kebab-case" in result.stderr
    assert list(tmp_path.iterdir()) == []
