"""Finding and loading connector plugins.

A plugin is named either by its ``baton.connectors`` entry point (``demo``), by
an import path (``package.module:attr``), or by a file (``./path/module.py:attr``),
where ``attr`` is a Plugin or a zero-argument callable returning one. Import paths
also resolve from the current directory, as ``python -m`` would, without PYTHONPATH.
The bundled demo is always available, even when baton_cli runs from a source
checkout without installed metadata.
``exec:PATH_OR_NAME`` and entry points holding an ExecutablePlugin name a Go
connector binary instead (``load_connector_plugin``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from baton_cli.connector.executable import ExecutablePlugin, exec_plugin
from baton_cli.connector.plugin import Plugin
from baton_cli.errors import BatonError, ConnectorError, NotFoundError, UsageError

if TYPE_CHECKING:
    # Imported where entry points are read: a plugin named by path never pays for it.
    from importlib import metadata

ENTRY_POINT_GROUP = "baton.connectors"
BUILTIN_PLUGINS: dict[str, str] = {"demo": "baton_cli.connector.demo:plugin"}

EntryPointsProvider = Callable[[], Iterable["metadata.EntryPoint"]]
"""Lists the available entry points; tests inject fakes instead of installing packages."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What ``plugins list`` shows; ``error`` is set when the plugin cannot be loaded."""

    name: str
    version: str
    description: str
    target: str
    error: str = ""
    executable: bool = False  # an ExecutablePlugin: a connector binary run as a child process

    @property
    def loadable(self) -> bool:
        return not self.error


def installed_entry_points() -> list[metadata.EntryPoint]:
    """Entry points of the group plus the built-in plugins, one per name (first wins), by name."""
    from importlib import metadata

    found: dict[str, metadata.EntryPoint] = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    for name, target in BUILTIN_PLUGINS.items():
        found.setdefault(name, metadata.EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP))
    return sorted(found.values(), key=lambda entry_point: entry_point.name)


def _entry_points(provider: EntryPointsProvider | None) -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for entry_point in (provider or installed_entry_points)():
        found.setdefault(entry_point.name, entry_point)
    return found


def plugin_names(*, entry_points: EntryPointsProvider | None = None) -> list[str]:
    return sorted(_entry_points(entry_points))


def load_plugin(
    spec: str, *, entry_points: EntryPointsProvider | None = None, cwd: Path | None = None
) -> Plugin:
    """Load a Python plugin by entry-point name, ``package.module:attr`` or ``./file.py:attr`` path.

    Relative files and import paths are resolved against ``cwd`` (default: the current directory).
    """
    loaded = load_connector_plugin(spec, entry_points=entry_points, cwd=cwd)
    if isinstance(loaded, ExecutablePlugin):
        raise UsageError(f"plugin {spec!r} is a connector executable ({loaded.executable}), not Python code")
    return loaded


def load_connector_plugin(
    spec: str, *, entry_points: EntryPointsProvider | None = None, cwd: Path | None = None
) -> Plugin | ExecutablePlugin:
    """Like load_plugin, but also ``exec:PATH_OR_NAME`` and entry points naming an executable."""
    executable = exec_plugin(spec)
    if executable is not None:
        return executable
    if ":" in spec:
        return _load_path(spec, cwd or Path.cwd())
    found = _entry_points(entry_points)
    entry_point = found.get(spec)
    if entry_point is None:
        installed = ", ".join(sorted(found)) or "none"
        raise NotFoundError(f"no connector plugin named {spec!r} (installed: {installed})")
    return _load_entry_point(entry_point)


def installed_plugins(*, entry_points: EntryPointsProvider | None = None) -> list[PluginInfo]:
    """Every available plugin, loaded to read its description; broken ones carry their error."""
    infos = []
    for name, entry_point in sorted(_entry_points(entry_points).items()):
        try:
            plugin = _load_entry_point(entry_point)
        except BatonError as error:
            infos.append(PluginInfo(name, _dist_version(entry_point), "", entry_point.value, str(error)))
        else:
            infos.append(
                PluginInfo(
                    name,
                    plugin.version,
                    plugin.description,
                    entry_point.value,
                    executable=isinstance(plugin, ExecutablePlugin),
                )
            )
    return infos


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    detail = text[0][:200] if text else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _dist_version(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    if dist is not None:
        return dist.version
    return _module_version(entry_point.module)


def _module_version(module: str) -> str:
    """Version of the installed distribution that provides ``module``, or ''."""
    from importlib import metadata

    top = module.partition(".")[0]
    for dist_name in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist_name)
        except metadata.PackageNotFoundError:
            continue
    return ""


def _load_entry_point(entry_point: metadata.EntryPoint) -> Plugin | ExecutablePlugin:
    label = f"plugin {entry_point.name!r} ({entry_point.value})"
    try:
        loaded = entry_point.load()
    except Exception as error:
        raise ConnectorError(f"{label} failed to load: {_one_line(error)}") from error
    plugin = _as_plugin(loaded, label)
    return plugin if plugin.version else replace(plugin, version=_dist_version(entry_point))


def _is_file_spec(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or "\\" in module_part


def _load_path(spec: str, cwd: Path) -> Plugin | ExecutablePlugin:
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise UsageError(
            f"invalid plugin path {spec!r}: expected package.module:attribute or ./file.py:attribute"
        )
    label = f"plugin {spec!r}"
    if _is_file_spec(module_name):
        module = _import_file(cwd / module_name, label)
    else:
        module = _import_module(module_name, label, cwd)
    loaded: object = module
    for part in attr.split("."):
        if not hasattr(loaded, part):
            raise UsageError(f"{label}: {module_name!r} has no attribute {attr!r}")
        loaded = getattr(loaded, part)
    plugin = _as_plugin(loaded, label, named_by_user=True)
    return plugin if plugin.version else replace(plugin, version=_module_version(module.__name__))


def _search_path(directory: Path) -> None:
    # Appended, so installed packages keep precedence over same-named local files.
    entry = str(directory.resolve())
    if entry not in sys.path:
        sys.path.append(entry)


def _import_file(path: Path, label: str) -> ModuleType:
    if not path.is_file():
        raise NotFoundError(f"{label}: no such file {str(path)!r}")
    # The file's directory is importable too, so the plugin can import its sibling modules.
    _search_path(path.parent)
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == path.resolve():
        return existing
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"{label}: {str(path)!r} is not a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise ConnectorError(f"{label} failed to import: {_one_line(error)}") from error
    return module


def _import_module(module_name: str, label: str, cwd: Path) -> ModuleType:
    _search_path(cwd)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise UsageError(f"{label}: no module named {missing!r}") from None
        raise ConnectorError(f"{label} failed to import: {_one_line(error)}") from error
    except Exception as error:
        raise ConnectorError(f"{label} failed to import: {_one_line(error)}") from error


def _as_plugin(loaded: object, label: str, *, named_by_user: bool = False) -> Plugin | ExecutablePlugin:
    built = False
    if not isinstance(loaded, Plugin | ExecutablePlugin) and callable(loaded):
        try:
            loaded = loaded()
        except Exception as error:
            raise ConnectorError(f"{label} failed to build its Plugin: {_one_line(error)}") from error
        built = True
    if not isinstance(loaded, Plugin | ExecutablePlugin):
        message = f"{label} is a {type(loaded).__name__}, not a baton_cli.connector.Plugin"
        # A --plugin path naming a plain value (a module, a string) is the user's mistake; an
        # entry point or a factory returning something else is the plugin's bug.
        raise UsageError(message) if named_by_user and not built else ConnectorError(message)
    return loaded
