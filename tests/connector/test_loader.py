"""Loading plugins by entry-point name or import path, with fake entry points."""

from __future__ import annotations

import functools
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import cast

import pytest

from baton_cli.connector.demo import plugin as demo_plugin
from baton_cli.connector.loader import ENTRY_POINT_GROUP, installed_plugins, load_plugin, plugin_names
from baton_cli.connector.plugin import Plugin
from baton_cli.errors import ConnectorError, NotFoundError, UsageError

PLUGIN_SOURCE = """
from baton_cli.connector.plugin import ConfigField, Plugin

def _factory(config):
    raise AssertionError("not built")

PLUGIN = Plugin("fake", "A fake plugin", (ConfigField("x", "int"),), _factory)
VERSIONED = Plugin("fake", "versioned", (), _factory, version="9.9")

def make_plugin():
    return Plugin("made", "Made by a function", (), _factory)

def make_nothing():
    return 42

def make_broken():
    raise RuntimeError("factory exploded")

class Holder:
    inner = PLUGIN

NOT_A_PLUGIN = "hello"
"""


@pytest.fixture
def fake_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named importable module holding plugins; removed from sys.modules afterwards."""
    name = f"fake_baton_plugins_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(PLUGIN_SOURCE))
    (tmp_path / f"{name}_broken.py").write_text("raise ImportError('boom: missing native lib')\n")
    (tmp_path / f"{name}_needs.py").write_text("import definitely_not_installed_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in (name, f"{name}_broken", f"{name}_needs"):
        sys.modules.pop(module, None)


@dataclass
class FakeDist:
    version: str


class FakeEntryPoint:
    """Duck-typed importlib.metadata.EntryPoint with a distribution attached."""

    def __init__(self, name: str, value: str, version: str) -> None:
        self._real = metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)
        self.name, self.value, self.module = name, value, self._real.module
        self.dist = FakeDist(version)

    def load(self) -> object:
        return self._real.load()


def entry_points(module: str) -> list[metadata.EntryPoint]:
    return [
        metadata.EntryPoint(name="fake", value=f"{module}:PLUGIN", group=ENTRY_POINT_GROUP),
        metadata.EntryPoint(name="made", value=f"{module}:make_plugin", group=ENTRY_POINT_GROUP),
        metadata.EntryPoint(name="broken", value=f"{module}_broken:PLUGIN", group=ENTRY_POINT_GROUP),
        metadata.EntryPoint(name="wrong-type", value=f"{module}:NOT_A_PLUGIN", group=ENTRY_POINT_GROUP),
        cast(metadata.EntryPoint, FakeEntryPoint("dist", f"{module}:PLUGIN", "1.2.3")),
    ]


def test_path_form_loads_a_plugin_or_a_callable_returning_one(fake_module: str) -> None:
    plugin = load_plugin(f"{fake_module}:PLUGIN")
    assert (plugin.name, plugin.description, [f.name for f in plugin.fields]) == (
        "fake",
        "A fake plugin",
        ["x"],
    )
    assert plugin.version == ""  # the temp module belongs to no installed distribution
    assert load_plugin(f"{fake_module}:make_plugin").name == "made"
    assert load_plugin(f"{fake_module}:Holder.inner").name == "fake"
    assert load_plugin(f"{fake_module}:VERSIONED").version == "9.9"


def test_path_form_errors(fake_module: str) -> None:
    with pytest.raises(UsageError, match="no module named 'no_such_module_abc'"):
        load_plugin("no_such_module_abc.sub:plugin")
    with pytest.raises(UsageError, match=f"'{fake_module}' has no attribute 'MISSING'"):
        load_plugin(f"{fake_module}:MISSING")
    with pytest.raises(ConnectorError, match="failed to import: ImportError: boom: missing native lib"):
        load_plugin(f"{fake_module}_broken:PLUGIN")
    with pytest.raises(
        ConnectorError, match=r"failed to import: ModuleNotFoundError: .*definitely_not_installed"
    ):
        load_plugin(f"{fake_module}_needs:PLUGIN")
    with pytest.raises(UsageError, match=r"is a str, not a baton_cli\.connector\.Plugin"):
        load_plugin(f"{fake_module}:NOT_A_PLUGIN")
    with pytest.raises(ConnectorError, match=r"is a int, not a baton_cli\.connector\.Plugin"):
        load_plugin(f"{fake_module}:make_nothing")
    with pytest.raises(ConnectorError, match="failed to build its Plugin: RuntimeError: factory exploded"):
        load_plugin(f"{fake_module}:make_broken")
    with pytest.raises(UsageError, match=r"expected package\.module:attribute"):
        load_plugin(f"{fake_module}:")


def test_entry_point_names(fake_module: str) -> None:
    provider = functools.partial(entry_points, fake_module)
    assert load_plugin("fake", entry_points=provider).name == "fake"
    assert load_plugin("made", entry_points=provider).name == "made"
    assert load_plugin("dist", entry_points=provider).version == "1.2.3"
    assert plugin_names(entry_points=provider) == ["broken", "dist", "fake", "made", "wrong-type"]


def test_unknown_name_lists_the_installed_plugins(fake_module: str) -> None:
    with pytest.raises(
        NotFoundError, match=r"no connector plugin named 'nope' \(installed: broken, dist, fake, made"
    ):
        load_plugin("nope", entry_points=functools.partial(entry_points, fake_module))
    with pytest.raises(NotFoundError, match=r"\(installed: none\)"):
        load_plugin("nope", entry_points=lambda: [])


def test_broken_entry_points_are_connector_errors_naming_the_plugin(fake_module: str) -> None:
    provider = functools.partial(entry_points, fake_module)
    with pytest.raises(
        ConnectorError, match=r"plugin 'broken' \(.*_broken:PLUGIN\) failed to load: ImportError: boom"
    ):
        load_plugin("broken", entry_points=provider)
    with pytest.raises(ConnectorError, match=r"plugin 'wrong-type' .* is a str, not a"):
        load_plugin("wrong-type", entry_points=provider)


def test_installed_plugins_reports_each_with_version_description_or_error(fake_module: str) -> None:
    infos = {i.name: i for i in installed_plugins(entry_points=functools.partial(entry_points, fake_module))}
    assert sorted(infos) == ["broken", "dist", "fake", "made", "wrong-type"]
    assert (infos["fake"].description, infos["fake"].loadable, infos["fake"].error) == (
        "A fake plugin",
        True,
        "",
    )
    assert infos["dist"].version == "1.2.3"
    assert infos["made"].target == f"{fake_module}:make_plugin"
    assert not infos["broken"].loadable and "boom" in infos["broken"].error
    assert not infos["wrong-type"].loadable and "is a str" in infos["wrong-type"].error


def test_first_entry_point_with_a_name_wins(fake_module: str) -> None:
    duplicate = [
        metadata.EntryPoint(name="x", value=f"{fake_module}:make_plugin", group=ENTRY_POINT_GROUP),
        metadata.EntryPoint(name="x", value=f"{fake_module}:PLUGIN", group=ENTRY_POINT_GROUP),
    ]
    assert load_plugin("x", entry_points=lambda: duplicate).name == "made"


def test_the_bundled_demo_is_always_available() -> None:
    plugin = load_plugin("demo")
    assert plugin is demo_plugin
    assert isinstance(plugin, Plugin) and plugin.version
    assert "demo" in plugin_names()
    demo_info = next(i for i in installed_plugins() if i.name == "demo")
    assert demo_info.loadable and demo_info.target == "baton_cli.connector.demo:plugin"
    assert load_plugin("baton_cli.connector.demo:plugin") is demo_plugin
