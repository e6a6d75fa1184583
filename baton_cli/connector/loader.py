"""Finding and loading connector plugins.

A plugin is named either by its ``baton.connectors`` entry point (``demo``) or
by an import path (``package.module:attr``), where ``attr`` is a Plugin or a
zero-argument callable returning one. The bundled demo is always available,
even when baton_cli runs from a source checkout without installed metadata.
``exec:PATH_OR_NAME`` and entry points holding an ExecutablePlugin name a Go
connector binary instead (``load_connector_plugin``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib import metadata

from baton_cli.connector.executable import ExecutablePlugin, exec_plugin
from baton_cli.connector.plugin import Plugin
from baton_cli.errors import BatonError, ConnectorError, NotFoundError, UsageError

ENTRY_POINT_GROUP = "baton.connectors"
BUILTIN_PLUGINS: dict[str, str] = {"demo": "baton_cli.connector.demo:plugin"}

EntryPointsProvider = Callable[[], Iterable[metadata.EntryPoint]]
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


def load_plugin(spec: str, *, entry_points: EntryPointsProvider | None = None) -> Plugin:
    """Load a Python plugin by entry-point name or ``package.module:attr`` path."""
    loaded = load_connector_plugin(spec, entry_points=entry_points)
    if isinstance(loaded, ExecutablePlugin):
        raise UsageError(f"plugin {spec!r} is a connector executable ({loaded.executable}), not Python code")
    return loaded


def load_connector_plugin(
    spec: str, *, entry_points: EntryPointsProvider | None = None
) -> Plugin | ExecutablePlugin:
    """Like load_plugin, but also ``exec:PATH_OR_NAME`` and entry points naming an executable."""
    executable = exec_plugin(spec)
    if executable is not None:
        return executable
    if ":" in spec:
        return _load_path(spec)
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


def _load_path(spec: str) -> Plugin | ExecutablePlugin:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"invalid plugin path {spec!r}: expected package.module:attribute")
    label = f"plugin {spec!r}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise NotFoundError(f"{label}: no module named {missing!r}") from None
        raise ConnectorError(f"{label} failed to import: {_one_line(error)}") from error
    except Exception as error:
        raise ConnectorError(f"{label} failed to import: {_one_line(error)}") from error
    loaded: object = module
    for part in attr.split("."):
        if not hasattr(loaded, part):
            raise NotFoundError(f"{label}: {module_name!r} has no attribute {attr!r}")
        loaded = getattr(loaded, part)
    plugin = _as_plugin(loaded, label)
    return plugin if plugin.version else replace(plugin, version=_module_version(module_name))


def _as_plugin(loaded: object, label: str) -> Plugin | ExecutablePlugin:
    if not isinstance(loaded, Plugin | ExecutablePlugin) and callable(loaded):
        try:
            loaded = loaded()
        except Exception as error:
            raise ConnectorError(f"{label} failed to build its Plugin: {_one_line(error)}") from error
    if not isinstance(loaded, Plugin | ExecutablePlugin):
        raise ConnectorError(f"{label} is a {type(loaded).__name__}, not a baton_cli.connector.Plugin")
    return loaded
