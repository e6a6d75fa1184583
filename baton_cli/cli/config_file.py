"""Runner options from ``.baton.yaml`` / ``--config`` / ``BATON_CONFIG_PATH`` (cli.md §1).

Upstream reads every default field from the config file, so ``plugin: demo`` or
``log-level: debug`` there works as on the command line. Here the file's keys that name an
option of the command being run become click's ``default_map`` for it: precedence is then
flag > ``BATON_*`` environment > config file > default, exactly viper's, and click records
which one won (``baton config`` shows it). Keys that are plugin fields are left to the
plugin's own resolution (baton_cli.connector.config), which reads the same file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from baton_cli.errors import NotFoundError, UsageError

DEFAULT_NAME = ".baton.yaml"
SUFFIXES = (".yaml", ".yml")


def config_path(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> Path | None:
    """The config file a command line uses: --config, else BATON_CONFIG_PATH, else ./.baton.yaml."""
    given: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and index + 1 < len(args):
            given = args[index + 1]
        elif arg.startswith("--config="):
            given = arg.partition("=")[2]
    source = "--config"
    if given is None and env.get("BATON_CONFIG_PATH"):
        given, source = env["BATON_CONFIG_PATH"], "BATON_CONFIG_PATH"
    if given is None:
        default = cwd / DEFAULT_NAME
        return default if default.is_file() else None
    path = Path(given)
    if path.suffix not in SUFFIXES:
        raise UsageError(f"{source} must name a .yaml or .yml file, got {given!r}")
    path = path if path.is_absolute() else cwd / path
    if not path.is_file():
        raise NotFoundError(f"config file not found: {path}")
    return path


def option_names(command: Any) -> dict[str, str]:
    """``flag-name`` -> click parameter name, for every long option of ``command``."""
    names: dict[str, str] = {}
    for param in getattr(command, "params", ()):
        for opt in getattr(param, "opts", ()):
            if opt.startswith("--"):
                names[opt[2:]] = param.name
    return names


def default_map(command_name: str, command: Any, document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """click's ``default_map`` giving ``command`` the file's values for its own options."""
    names = option_names(command)
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key in names and key != "config" and value is not None:
            values[names[key]] = ",".join(str(v) for v in value) if isinstance(value, list) else value
    return {command_name: values} if values else {}
