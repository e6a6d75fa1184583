"""Resolving plugin configuration: precedence, types and one-line errors naming the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from baton_cli.connector.config import Config, parse_bool, resolve_config
from baton_cli.connector.plugin import ConfigField
from baton_cli.errors import NotFoundError, UsageError

FIELDS = (
    ConfigField("page-size", "int", default=100),
    ConfigField("verbose", "bool", default=False),
    ConfigField("domains", "string-list", default=["a.example"]),
    ConfigField("mode", "string", default="fast", choices=("fast", "slow")),
    ConfigField("api-token", "string", secret=True),
    ConfigField("region", "string"),
)


def resolve(
    tmp_path: Path,
    argv: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    yaml_text: str | None = None,
    fields: Sequence[ConfigField] = FIELDS,
    **kwargs: object,
) -> Config:
    if yaml_text is not None:
        (tmp_path / ".baton.yaml").write_text(yaml_text)
    return resolve_config(fields, argv, env or {}, None, cwd=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_defaults_and_zero_values_fill_every_field(tmp_path: Path) -> None:
    config = resolve(tmp_path)
    assert dict(config) == {
        "page-size": 100,
        "verbose": False,
        "domains": ["a.example"],
        "mode": "fast",
        "api-token": "",
        "region": "",
    }


def test_precedence_is_flag_then_env_then_file_then_default(tmp_path: Path) -> None:
    yaml_text = "page-size: 30\nregion: file-region\nmode: slow\n"
    env = {"BATON_PAGE_SIZE": "20", "BATON_REGION": "env-region"}
    config = resolve(tmp_path, ["--page-size=10"], env, yaml_text)
    assert config.get_int("page-size") == 10  # flag beats env and file
    assert config.get_str("region") == "env-region"  # env beats file
    assert config.get_str("mode") == "slow"  # file beats default
    assert config.get_bool("verbose") is False  # default
    assert resolve(tmp_path, [], env, None).get_int("page-size") == 20
    assert resolve(tmp_path, [], {}, None).get_int("page-size") == 30


def test_empty_environment_variables_count_as_unset(tmp_path: Path) -> None:
    config = resolve(tmp_path, env={"BATON_PAGE_SIZE": "", "BATON_REGION": ""}, yaml_text="region: eu\n")
    assert config.get_int("page-size") == 100
    assert config.get_str("region") == "eu"


def test_flag_forms(tmp_path: Path) -> None:
    config = resolve(tmp_path, ["--page-size", "7", "--verbose", "--region=x=y", "--mode", "slow"])
    assert (config.get_int("page-size"), config.get_bool("verbose")) == (7, True)
    assert config.get_str("region") == "x=y"
    assert config.get_str("mode") == "slow"
    assert resolve(tmp_path, ["--verbose", "--no-verbose"]).get_bool("verbose") is False
    assert resolve(tmp_path, ["--verbose=false"]).get_bool("verbose") is False
    assert resolve(tmp_path, ["--verbose=1"]).get_bool("verbose") is True
    assert resolve(tmp_path, ["--page-size=1", "--page-size=2"]).get_int("page-size") == 2


@pytest.mark.parametrize("text", ["true", "TRUE", "t", "1", "yes", "on", " True "])
def test_parse_bool_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["false", "False", "f", "0", "no", "off"])
def test_parse_bool_false(text: str) -> None:
    assert parse_bool(text) is False


def test_parse_bool_rejects_other_words_naming_the_setting() -> None:
    with pytest.raises(UsageError, match="invalid BATON_GET_TASKS: expected true or false, got 'maybe'"):
        parse_bool("maybe", "BATON_GET_TASKS")


def test_string_lists_are_comma_separated_and_flags_accumulate(tmp_path: Path) -> None:
    assert resolve(tmp_path, env={"BATON_DOMAINS": "x.io, y.io,,z.io"}).get_list("domains") == [
        "x.io",
        "y.io",
        "z.io",
    ]
    assert resolve(tmp_path, ["--domains=a,b", "--domains", "c"]).get_list("domains") == ["a", "b", "c"]
    assert resolve(tmp_path, ['--domains="a,b",c']).get_list("domains") == ["a,b", "c"]
    assert resolve(tmp_path, yaml_text="domains: [p, q]\n").get_list("domains") == ["p", "q"]
    assert resolve(tmp_path, yaml_text="domains: p,q\n").get_list("domains") == ["p", "q"]


def test_yaml_scalars_are_converted_to_the_field_type(tmp_path: Path) -> None:
    config = resolve(tmp_path, yaml_text="page-size: '12'\nverbose: yes\nregion: 123\n")
    assert config.get_int("page-size") == 12
    assert config.get_bool("verbose") is True
    assert config.get_str("region") == "123"
    assert resolve(tmp_path, yaml_text="region:\n").get_str("region") == ""


def test_explicit_config_file(tmp_path: Path) -> None:
    other = tmp_path / "conf" / "demo.yml"
    other.parent.mkdir()
    other.write_text("page-size: 5\n")
    (tmp_path / ".baton.yaml").write_text("page-size: 6\n")
    assert resolve_config(FIELDS, [], {}, other, cwd=tmp_path).get_int("page-size") == 5
    assert resolve_config(FIELDS, [], {}, Path("conf/demo.yml"), cwd=tmp_path).get_int("page-size") == 5
    with pytest.raises(NotFoundError, match=r"config file not found: .*missing\.yaml"):
        resolve_config(FIELDS, [], {}, tmp_path / "missing.yaml", cwd=tmp_path)


def test_reserved_keys_in_the_config_file_are_skipped(tmp_path: Path) -> None:
    config = resolve(tmp_path, yaml_text="client-id: abc\npage-size: 9\n", reserved_keys={"client-id"})
    assert config.get_int("page-size") == 9
    assert "client-id" not in config


@pytest.mark.parametrize(
    ("argv", "env", "yaml_text", "message"),
    [
        (
            ["--pagesize=3"],
            {},
            None,
            r"unknown flag --pagesize: did you mean --page-size\? \(plugin flags: --api-token, --domains, ",
        ),
        (["-v"], {}, None, r"unexpected argument #1"),
        (["--verbose", "false"], {}, None, r"unexpected argument #2: .*bool flags take --flag=false"),
        (["--no-page-size"], {}, None, r"unknown flag --no-page-size: only bool flags have a --no- form"),
        (["--page-size"], {}, None, r"flag --page-size needs a value"),
        (["--page-size=ten"], {}, None, r"invalid value for --page-size: expected an integer, got 'ten'"),
        (["--page-size=1.5"], {}, None, r"invalid value for --page-size: expected an integer"),
        (["--verbose=maybe"], {}, None, r"invalid value for --verbose: expected true or false, got 'maybe'"),
        (["--mode=medium"], {}, None, r"invalid value for --mode: must be one of fast, slow, got 'medium'"),
        ([], {"BATON_PAGE_SIZE": "x"}, None, r"invalid value for BATON_PAGE_SIZE: expected an integer"),
        ([], {"BATON_VERBOSE": "2"}, None, r"invalid value for BATON_VERBOSE: expected true or false"),
        ([], {"BATON_MODE": "x"}, None, r"invalid value for BATON_MODE: must be one of fast, slow"),
        (
            [],
            {},
            "colour: red\n",
            r"unknown key 'colour' in config file .*\.baton\.yaml \(allowed: api-token, ",
        ),
        ([], {}, "page-size: [1]\n", r"invalid value for 'page-size' in .*: expected an integer"),
        ([], {}, "verbose: 3\n", r"invalid value for 'verbose' in .*: expected true or false"),
        ([], {}, "mode: turbo\n", r"invalid value for 'mode' in .*: must be one of fast, slow"),
        ([], {}, "domains: {a: 1}\n", r"invalid value for 'domains' in .*: expected a list"),
        ([], {}, "- a\n- b\n", r"config file .* must be a mapping of field names to values"),
        ([], {}, "a: [\n", r"config file .* is not valid YAML \(line 2\)"),
    ],
)
def test_errors_name_the_field_and_what_is_allowed(
    tmp_path: Path, argv: list[str], env: dict[str, str], yaml_text: str | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        resolve(tmp_path, argv, env, yaml_text)
    assert "\n" not in str(caught.value)


def test_missing_required_field_names_every_way_to_set_it(tmp_path: Path) -> None:
    fields = (ConfigField("tenant", "string", required=True),)
    with pytest.raises(
        UsageError, match="missing required config field 'tenant': set --tenant, BATON_TENANT or"
    ):
        resolve(tmp_path, fields=fields)
    with pytest.raises(UsageError, match="missing required config field 'tenant'"):
        resolve(tmp_path, ["--tenant="], fields=fields)
    assert resolve(tmp_path, ["--tenant=acme"], fields=fields).get_str("tenant") == "acme"


def test_unknown_flag_for_a_plugin_without_fields(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown flag --x \(the plugin takes no flags\)"):
        resolve(tmp_path, ["--x"], fields=())


def test_secret_values_never_appear_in_errors_or_repr(tmp_path: Path) -> None:
    secret = "s3cr3t-value"
    fields = (
        ConfigField("api-token", "string", secret=True, choices=("a", "b")),
        ConfigField("pin", "int", secret=True),
    )
    for argv in ([f"--api-token={secret}"], [f"--pin={secret}"], ["--pin", "0", secret]):
        with pytest.raises(UsageError) as caught:
            resolve(tmp_path, argv, fields=fields)
        assert secret not in str(caught.value)
    (tmp_path / ".baton.yaml").write_text(f"api-token: [\n{secret}: x\n")
    with pytest.raises(UsageError) as caught:
        resolve(tmp_path, fields=fields)
    assert secret not in str(caught.value)

    config = resolve(tmp_path / "nowhere", [f"--api-token={secret}"], fields=FIELDS)
    assert config.get_str("api-token") == secret
    assert secret not in repr(config) and secret not in str(config)
    assert config.redacted()["api-token"] == "<hidden>"
    assert config.is_secret("api-token") and not config.is_secret("mode")


def test_config_is_read_only_and_typed(tmp_path: Path) -> None:
    config = resolve(tmp_path)
    domains = config.get_list("domains")
    domains.append("mutated")
    assert config.get_list("domains") == ["a.example"]
    with pytest.raises(TypeError, match="'mode' is not an int"):
        config.get_int("mode")
    with pytest.raises(TypeError, match="'page-size' is not a string"):
        config.get_str("page-size")
    with pytest.raises(TypeError, match="'page-size' is not a bool"):
        config.get_bool("page-size")
    with pytest.raises(TypeError, match="'mode' is not a string list"):
        config.get_list("mode")
    with pytest.raises(KeyError):
        config.get_int("nope")
    assert config == Config(dict(config))


BOUNDED = (ConfigField("users", "int", default=5, minimum=0, maximum=1000),)


@pytest.mark.parametrize(
    ("argv", "env", "yaml_text", "source"),
    [
        (["--users", "99999999999999999999"], None, None, "--users"),
        ([], {"BATON_USERS": "1001"}, None, "BATON_USERS"),
        ([], None, "users: 5000\n", "'users' in"),
        (["--users=-1"], None, None, "--users"),
    ],
)
def test_int_fields_refuse_values_outside_their_declared_bounds(
    tmp_path: Path, argv: list[str], env: dict[str, str] | None, yaml_text: str | None, source: str
) -> None:
    with pytest.raises(UsageError, match=r"must be (at most 1,000|at least 0)") as caught:
        resolve(tmp_path, argv, env, yaml_text, fields=BOUNDED)
    assert source in str(caught.value)


def test_bounds_are_inclusive(tmp_path: Path) -> None:
    assert resolve(tmp_path, ["--users", "1000"], fields=BOUNDED)["users"] == 1000
    assert resolve(tmp_path, ["--users", "0"], fields=BOUNDED)["users"] == 0


def test_bad_bound_declarations_are_plugin_bugs() -> None:
    with pytest.raises(ValueError, match="only allowed for int"):
        ConfigField("name", "string", maximum=3)
    with pytest.raises(ValueError, match="minimum is above maximum"):
        ConfigField("n", "int", minimum=3, maximum=2)
    with pytest.raises(ValueError, match="default is outside"):
        ConfigField("n", "int", default=10, maximum=2)


def test_demo_users_are_capped_at_ten_million(tmp_path: Path) -> None:
    from tests.cli.process import baton

    result = baton("sync", "--plugin", "demo", "--users", "99999999999999999999", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines() == [
        "baton: error: invalid value for --users: must be at most 10,000,000, got 99999999999999999999"
    ]
    assert not list(tmp_path.iterdir())
