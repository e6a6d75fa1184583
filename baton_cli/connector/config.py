"""Resolving a plugin's configuration values, upstream-style (cli.md §1).

Sources, highest first: the plugin's own command-line flags, ``BATON_<FIELD>``
environment variables, the YAML config file, then the field default. Every
mistake is a one-line UsageError naming the field and what is allowed; secret
values never appear in messages or reprs.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

from baton_cli.config_document import read_config_document
from baton_cli.connector.api import ConfigValue
from baton_cli.connector.plugin import ConfigField
from baton_cli.errors import NotFoundError, UsageError

DEFAULT_CONFIG_FILE = ".baton.yaml"
HIDDEN = "<hidden>"

_TRUE = frozenset({"1", "t", "true", "y", "yes", "on"})
_FALSE = frozenset({"0", "f", "false", "n", "no", "off"})
_INT = re.compile(r"[+-]?[0-9]+")


def parse_bool(text: str, name: str = "value") -> bool:
    """Parse a boolean the way flags and env vars spell it (true/false, 1/0, yes/no, on/off)."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise UsageError(f"invalid {name}: expected true or false, got {text!r}")


class Config(Mapping[str, ConfigValue]):
    """Resolved configuration of one plugin: read-only, typed, secrets masked in repr."""

    __slots__ = ("_secret", "_values")

    def __init__(self, values: Mapping[str, ConfigValue], *, secret: Collection[str] = ()) -> None:
        self._values: dict[str, ConfigValue] = {
            name: list(value) if isinstance(value, list) else value for name, value in values.items()
        }
        self._secret = frozenset(secret)

    def __getitem__(self, name: str) -> ConfigValue:
        value = self._values[name]
        # Hand out copies so callers cannot mutate the resolved configuration.
        return list(value) if isinstance(value, list) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def is_secret(self, name: str) -> bool:
        return name in self._secret

    def get_str(self, name: str) -> str:
        value = self._values[name]
        if not isinstance(value, str):
            raise TypeError(f"config field {name!r} is not a string")
        return value

    def get_int(self, name: str) -> int:
        value = self._values[name]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"config field {name!r} is not an int")
        return value

    def get_bool(self, name: str) -> bool:
        value = self._values[name]
        if not isinstance(value, bool):
            raise TypeError(f"config field {name!r} is not a bool")
        return value

    def get_list(self, name: str) -> list[str]:
        value = self._values[name]
        if not isinstance(value, list):
            raise TypeError(f"config field {name!r} is not a string list")
        return list(value)

    def redacted(self) -> dict[str, ConfigValue]:
        """The values with every secret replaced by ``<hidden>``: safe to print or log."""
        return {name: HIDDEN if name in self._secret else self[name] for name in self._values}

    def __repr__(self) -> str:
        return f"Config({self.redacted()!r})"

    __str__ = __repr__


def resolve_config(
    fields: Sequence[ConfigField],
    argv: Sequence[str],
    env: Mapping[str, str],
    config_file: Path | None,
    *,
    cwd: Path,
    reserved_keys: Collection[str] = (),
) -> Config:
    """Combine flags > env > config file > default into a Config holding every field.

    ``reserved_keys`` are config-file keys that belong to the caller (the runner's
    own settings share ``.baton.yaml``); they are skipped instead of rejected.
    A field set nowhere and without a default gets its type's zero value, unless
    it is required.
    """
    by_name = {field.name: field for field in fields}
    from_flags = _parse_argv(by_name, argv, reserved_keys)
    from_file = _read_config_file(by_name, config_file, cwd, reserved_keys)
    values: dict[str, ConfigValue] = {}
    for field in fields:
        env_text = env.get(field.env_var, "")
        value: ConfigValue | None
        if field.name in from_flags:
            value = from_flags[field.name]
        elif env_text:  # an empty variable counts as unset, as in viper
            value = _from_text(field, env_text, field.env_var)
        elif field.name in from_file:
            value = from_file[field.name]
        else:
            value = field.default
        if field.required and value in (None, "", []):
            raise UsageError(
                f"missing required config field {field.name!r}: set {field.flag}, {field.env_var} "
                f"or '{field.name}' in the config file"
            )
        values[field.name] = _zero(field) if value is None else value
    return Config(values, secret=[field.name for field in fields if field.secret])


def config_sources(
    fields: Sequence[ConfigField],
    argv: Sequence[str],
    env: Mapping[str, str],
    config_file: Path | None,
    *,
    cwd: Path,
    reserved_keys: Collection[str] = (),
) -> dict[str, tuple[ConfigValue, str]]:
    """Each field's value and where it came from (``flag``, ``env``, ``file`` or ``default``).

    Same precedence and parsing as :func:`resolve_config`, without refusing unset required
    fields: ``baton config`` shows what is missing rather than failing on it.
    """
    by_name = {field.name: field for field in fields}
    from_flags = _parse_argv(by_name, argv, reserved_keys)
    from_file = _read_config_file(by_name, config_file, cwd, reserved_keys)
    found: dict[str, tuple[ConfigValue, str]] = {}
    for field in fields:
        env_text = env.get(field.env_var, "")
        if field.name in from_flags:
            found[field.name] = (from_flags[field.name], "flag")
        elif env_text:
            found[field.name] = (_from_text(field, env_text, field.env_var), "env")
        elif field.name in from_file:
            found[field.name] = (from_file[field.name], "file")
        else:
            found[field.name] = (_zero(field) if field.default is None else field.default, "default")
    return found


def _zero(field: ConfigField) -> ConfigValue:
    zeros: dict[str, ConfigValue] = {"string": "", "int": 0, "bool": False, "string-list": []}
    return zeros[field.type]


def _shown(field: ConfigField, value: object) -> str:
    return "" if field.secret else f", got {value!r}"


def _check_range(field: ConfigField, value: int, source: str) -> int:
    problem = field.out_of_range(value)
    if problem:
        raise UsageError(f"invalid value for {source}: {problem}{_shown(field, value)}")
    return value


def _check_choices(field: ConfigField, value: ConfigValue, source: str) -> ConfigValue:
    items = value if isinstance(value, list) else [value]
    if field.choices and any(item not in field.choices for item in items):
        raise UsageError(
            f"invalid value for {source}: must be one of {', '.join(field.choices)}{_shown(field, value)}"
        )
    return value


def _split_list(text: str) -> list[str]:
    # csv, like upstream's string-slice flags, so a quoted item may contain a comma.
    row = next(csv.reader([text], skipinitialspace=True), [])
    return [item.strip() for item in row if item.strip()]


def _from_text(field: ConfigField, text: str, source: str) -> ConfigValue:
    """Convert a flag or environment string into the field's type."""
    value: ConfigValue
    if field.type == "int":
        if not _INT.fullmatch(text.strip()):
            raise UsageError(f"invalid value for {source}: expected an integer{_shown(field, text)}")
        value = _check_range(field, int(text), source)
    elif field.type == "bool":
        word = text.strip().lower()
        if word not in _TRUE and word not in _FALSE:
            raise UsageError(f"invalid value for {source}: expected true or false{_shown(field, text)}")
        value = word in _TRUE
    elif field.type == "string-list":
        value = _split_list(text)
    else:
        value = text
    return _check_choices(field, value, source)


def _parse_argv(
    by_name: Mapping[str, ConfigField], argv: Sequence[str], runner_flags: Collection[str] = ()
) -> dict[str, ConfigValue]:
    values: dict[str, ConfigValue] = {}
    index = 0
    after_bool_flag = False
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("--") or arg == "--":
            # The argument itself is not echoed: it may be a misplaced secret.
            hint = " (bool flags take --flag=false, not a separate value)" if after_bool_flag else ""
            raise UsageError(f"unexpected argument #{index}: connector settings are --name=value flags{hint}")
        after_bool_flag = False
        name, has_value, text = arg[2:].partition("=")
        negated = False
        field = by_name.get(name)
        if field is None and name.startswith("no-") and name[3:] in by_name:
            field, negated = by_name[name[3:]], True
            if field.type != "bool" or has_value:
                raise UsageError(f"unknown flag --{name}: only bool flags have a --no- form")
        if field is None:
            raise _unknown_flag(name, by_name, runner_flags)
        if field.type == "bool" and not has_value:
            values[field.name] = not negated
            after_bool_flag = True
            continue
        if not has_value:
            if index >= len(argv):
                raise UsageError(f"flag {field.flag} needs a value")
            text = argv[index]
            index += 1
        value = _from_text(field, text, field.flag)
        previous = values.get(field.name)
        if isinstance(value, list) and isinstance(previous, list):
            value = previous + value  # repeated list flags accumulate, as upstream's
        values[field.name] = value
    return values


def _unknown_flag(name: str, by_name: Mapping[str, ConfigField], runner_flags: Collection[str]) -> UsageError:
    """Names both the runner's and the plugin's options and suggests the closest one."""
    if name in runner_flags:
        return UsageError(f"--{name} is a runner option this command does not take (see its --help)")
    import difflib  # only an unknown flag needs a suggestion

    close = difflib.get_close_matches(name, [*by_name, *runner_flags], n=1, cutoff=0.6)
    hint = f": did you mean --{close[0]}?" if close else ""
    runner = " (runner options: see the command's --help)" if runner_flags else ""
    flags = ", ".join(field.flag for field in sorted(by_name.values(), key=lambda f: f.name))
    plugin = f"plugin flags: {flags}" if flags else "the plugin takes no flags"
    return UsageError(f"unknown flag --{name}{hint} ({plugin}){runner}")


def _read_config_file(
    by_name: Mapping[str, ConfigField], config_file: Path | None, cwd: Path, reserved_keys: Collection[str]
) -> dict[str, ConfigValue]:
    if config_file is not None:
        path = config_file if config_file.is_absolute() else cwd / config_file
        if not path.is_file():
            raise NotFoundError(f"config file not found: {path}")
    else:
        path = cwd / DEFAULT_CONFIG_FILE
        if not path.is_file():
            return {}
    values: dict[str, ConfigValue] = {}
    for name, raw in read_config_document(path).items():
        field = by_name.get(name)
        if field is None:
            if name in reserved_keys:
                continue
            allowed = ", ".join(sorted(by_name)) or "none"
            raise UsageError(f"unknown key {name!r} in config file {path} (allowed: {allowed})")
        if raw is None:  # "key:" with nothing after it leaves the field unset
            continue
        values[name] = _from_yaml(field, raw, f"'{name}' in {path}")
    return values


def _from_yaml(field: ConfigField, raw: object, source: str) -> ConfigValue:
    """Convert a YAML scalar or list; strings go through the same parsing as flags."""
    if isinstance(raw, str):
        return _from_text(field, raw, source)
    if field.type == "int" and isinstance(raw, int) and not isinstance(raw, bool):
        return _check_range(field, raw, source)
    if field.type == "bool" and isinstance(raw, bool):
        return raw
    if field.type == "string" and isinstance(raw, (bool, int, float)):
        # YAML turns unquoted 123 or yes into numbers and bools; the field wants text.
        return _check_choices(field, str(raw).lower() if isinstance(raw, bool) else str(raw), source)
    if field.type == "string-list" and isinstance(raw, list):
        if all(isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in raw):
            return _check_choices(field, [str(item) for item in raw], source)
        raise UsageError(f"invalid value for {source}: expected a list of strings")
    expected = {"string": "a string", "int": "an integer", "bool": "true or false", "string-list": "a list"}
    raise UsageError(f"invalid value for {source}: expected {expected[field.type]}")
