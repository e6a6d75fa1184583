"""What a ``baton.connectors`` entry point points at: a Plugin and its configuration fields.

A plugin declares its own configuration (``fields``); the runner resolves the
values from flags, environment and the config file (``config.py``) and hands
them to ``factory`` to build a configured Connector.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from baton_cli.connector.api import ConfigValue, Connector

if TYPE_CHECKING:
    from baton_cli.connector.config import Config

FieldType = Literal["string", "int", "bool", "string-list"]
FIELD_TYPES: tuple[FieldType, ...] = ("string", "int", "bool", "string-list")

# Field names become flags (--page-size) and env names (BATON_PAGE_SIZE), so
# they are restricted to what maps cleanly onto both.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def _default_matches(field_type: FieldType, value: ConfigValue) -> bool:
    if field_type == "string":
        return isinstance(value, str)
    if field_type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if field_type == "bool":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One connector-specific setting.

    Invalid declarations raise ValueError at import time: they are bugs in the
    plugin, not user mistakes, and the loader reports them as a broken plugin.
    """

    name: str
    type: FieldType
    default: ConfigValue | None = None
    required: bool = False
    secret: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()
    # Bounds of an int field, inclusive; values outside are refused naming the field.
    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self) -> None:
        if not _FIELD_NAME.fullmatch(self.name):
            raise ValueError(f"config field name {self.name!r} must be kebab-case, e.g. 'page-size'")
        if self.type not in FIELD_TYPES:
            raise ValueError(f"config field {self.name!r}: type must be one of {', '.join(FIELD_TYPES)}")
        if self.choices and self.type not in ("string", "string-list"):
            raise ValueError(f"config field {self.name!r}: choices are only allowed for string fields")
        if (self.minimum is not None or self.maximum is not None) and self.type != "int":
            raise ValueError(
                f"config field {self.name!r}: minimum and maximum are only allowed for int fields"
            )
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"config field {self.name!r}: minimum is above maximum")
        if self.default is not None:
            if not _default_matches(self.type, self.default):
                raise ValueError(f"config field {self.name!r}: default does not match type {self.type}")
            if self.choices:
                values = self.default if isinstance(self.default, list) else [self.default]
                if any(value not in self.choices for value in values):
                    raise ValueError(f"config field {self.name!r}: default is not one of its choices")
            if isinstance(self.default, int) and self.out_of_range(self.default):
                raise ValueError(f"config field {self.name!r}: default is outside its bounds")

    def out_of_range(self, value: int) -> str:
        """Why ``value`` is outside the declared bounds ("" when it is inside)."""
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:,}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:,}"
        return ""

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env_var(self) -> str:
        return "BATON_" + self.name.upper().replace("-", "_")

    def __repr__(self) -> str:
        # A secret's default is still a secret.
        default = "<hidden>" if self.secret and self.default is not None else repr(self.default)
        return (
            f"ConfigField(name={self.name!r}, type={self.type!r}, default={default}, "
            f"required={self.required!r}, secret={self.secret!r})"
        )


@dataclass(frozen=True, slots=True)
class Plugin:
    """A connector implementation and the configuration it needs."""

    name: str
    description: str
    fields: tuple[ConfigField, ...]
    factory: Callable[[Config], Connector]
    version: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("plugin name must not be empty")
        seen: set[str] = set()
        for field in self.fields:
            if not isinstance(field, ConfigField):
                raise ValueError(f"plugin {self.name!r}: fields must be ConfigField instances")
            if field.name in seen:
                raise ValueError(f"plugin {self.name!r}: config field {field.name!r} is declared twice")
            seen.add(field.name)

    def field(self, name: str) -> ConfigField:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)
