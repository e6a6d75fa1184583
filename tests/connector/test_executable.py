"""Naming connector executables: exec:PATH_OR_NAME and ExecutablePlugin entry points."""

from __future__ import annotations

import stat
import sys
import textwrap
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from baton_cli.connector.executable import ExecutablePlugin, exec_plugin
from baton_cli.connector.loader import (
    ENTRY_POINT_GROUP,
    installed_plugins,
    load_connector_plugin,
    load_plugin,
)
from baton_cli.errors import NotFoundError, UsageError


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_exec_spec_names_a_path_or_a_bare_name() -> None:
    assert exec_plugin("demo") is None
    assert exec_plugin("pkg.mod:attr") is None
    named = exec_plugin("exec:baton-okta")
    assert named == ExecutablePlugin(name="baton-okta", executable="baton-okta")
    by_path = exec_plugin("exec:/opt/bin/baton-demo")
    assert by_path is not None and by_path.name == "baton-demo"
    with pytest.raises(UsageError, match="exec: needs a path"):
        exec_plugin("exec:")


def test_bare_name_is_looked_up_on_path(tmp_path: Path) -> None:
    binary = _executable(tmp_path / "baton-fake")
    plugin = ExecutablePlugin(name="fake", executable="baton-fake")
    assert plugin.locate({"PATH": str(tmp_path)}) == binary.resolve()
    with pytest.raises(NotFoundError, match="'baton-fake' not found on PATH"):
        plugin.locate({"PATH": str(tmp_path / "nowhere")})


def test_path_must_exist_and_be_executable(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"not found: .*missing"):
        ExecutablePlugin("x", str(tmp_path / "missing")).locate({})
    plain = tmp_path / "plain"
    plain.write_text("")
    with pytest.raises(UsageError, match="not executable"):
        ExecutablePlugin("x", str(plain)).locate({})


def test_env_var_overrides_the_registered_executable(tmp_path: Path) -> None:
    own = _executable(tmp_path / "my-build")
    plugin = ExecutablePlugin("okta", "baton-okta", env_var="BATON_OKTA_BINARY")
    assert plugin.locate({"BATON_OKTA_BINARY": str(own), "PATH": ""}) == own.resolve()


@pytest.fixture
def exec_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"fake_exec_plugins_{uuid.uuid4().hex}"
    source = """
        from baton_cli.connector.executable import ExecutablePlugin
        OKTA = ExecutablePlugin(name="okta", executable="baton-okta", description="Okta (Go)")
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_entry_point_may_name_an_executable(exec_module: str) -> None:
    def provider() -> list[metadata.EntryPoint]:
        return [metadata.EntryPoint(name="okta", value=f"{exec_module}:OKTA", group=ENTRY_POINT_GROUP)]

    loaded = load_connector_plugin("okta", entry_points=provider)
    assert isinstance(loaded, ExecutablePlugin) and loaded.executable == "baton-okta"
    with pytest.raises(UsageError, match="is a connector executable"):
        load_plugin("okta", entry_points=provider)
    (info,) = installed_plugins(entry_points=provider)
    assert info.executable and info.loadable and info.description == "Okta (Go)"
