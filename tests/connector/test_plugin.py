from __future__ import annotations

import pytest

from baton_cli.connector.api import Connector
from baton_cli.connector.config import Config
from baton_cli.connector.plugin import ConfigField, Plugin


def never(config: Config) -> Connector:
    raise AssertionError("not built in these tests")


def test_field_names_map_to_flags_and_environment_variables() -> None:
    field = ConfigField("page-size", "int", default=10)
    assert (field.flag, field.env_var) == ("--page-size", "BATON_PAGE_SIZE")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Page_Size", "type": "int"}, "must be kebab-case"),
        ({"name": "-x", "type": "int"}, "must be kebab-case"),
        ({"name": "x", "type": "float"}, "type must be one of string, int, bool, string-list"),
        ({"name": "x", "type": "int", "default": "3"}, "default does not match type int"),
        ({"name": "x", "type": "int", "default": True}, "default does not match type int"),
        ({"name": "x", "type": "bool", "default": 1}, "default does not match type bool"),
        ({"name": "x", "type": "string-list", "default": "a"}, "default does not match type string-list"),
        ({"name": "x", "type": "int", "choices": ("1",)}, "choices are only allowed for string fields"),
        ({"name": "x", "type": "string", "default": "c", "choices": ("a", "b")}, "default is not one of"),
    ],
)
def test_invalid_field_declarations_are_plugin_bugs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConfigField(**kwargs)  # type: ignore[arg-type]


def test_secret_default_is_hidden_in_repr() -> None:
    field = ConfigField("token", "string", default="hunter2", secret=True)
    assert "hunter2" not in repr(field)
    assert "'abc'" in repr(ConfigField("plain", "string", default="abc"))


def test_plugin_rejects_duplicate_fields_and_finds_fields_by_name() -> None:
    with pytest.raises(ValueError, match="config field 'x' is declared twice"):
        Plugin("p", "", (ConfigField("x", "int"), ConfigField("x", "bool")), never)
    with pytest.raises(ValueError, match="plugin name must not be empty"):
        Plugin("", "", (), never)
    plugin = Plugin("p", "d", (ConfigField("x", "int"),), never)
    assert plugin.field("x").type == "int"
    with pytest.raises(KeyError):
        plugin.field("y")
