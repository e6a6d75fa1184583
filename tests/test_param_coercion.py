"""The option conversions without Pydantic give what Typer's own conversion gives (issue 14).

Every parameter of every ``baton`` command has one (so no command imports Pydantic), and on each
input of a corpus the direct conversion returns Typer's value, or defers and gives Typer's error.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from baton_cli.cli import commands
from baton_cli.cli.param_coercion import _Defer, direct_runtime_param


class Colour(enum.Enum):
    red = "red"
    light_blue = "light-blue"


def _command() -> Any:
    app = typer.Typer()

    @app.command()
    def every_type(
        text: str = "",
        flag: Annotated[bool, typer.Option("--flag")] = False,
        number: int = 0,
        port: Annotated[int, typer.Option(min=0, max=65535)] = 0,
        ratio: Annotated[float, typer.Option(min=0.1)] = 1.0,
        colour: Colour = Colour.red,
        loose: Annotated[Colour, typer.Option(case_sensitive=False)] = Colour.red,
        path: Path = Path("x"),
        existing: Annotated[Path, typer.Option(exists=True, dir_okay=False)] = Path("x"),
        resolved: Annotated[Path, typer.Option(resolve_path=True)] = Path("x"),
        names: Annotated[list[str], typer.Option()] = [],  # noqa: B006 - typer's list default
        paths: Annotated[list[Path], typer.Option()] = [],  # noqa: B006
    ) -> None:
        pass

    return typer.main.get_command(app)


CORPUS: list[Any] = [
    "",
    " ",
    "x",
    "0",
    "1",
    "-1",
    "+1",
    "007",
    " 5",
    "5 ",
    "1_000",
    "1e3",
    "1.5",
    "-0.5",
    ".5",
    "5.",
    "0.05",
    "65535",
    "65536",
    "99999999999999999999",
    "inf",
    "nan",
    "٣",
    "true",
    "True",
    "TRUE",
    " yes ",
    "no",
    "off",
    "On",
    "t",
    "F",
    "y",
    "N",
    "2",
    "red",
    "RED",
    "light-blue",
    "Light-Blue",
    "light_blue",
    "a/b",
    "~",
    ".",
    "./rel",
    "/abs/path",
    "pyproject.toml",
    "missing-file",
    0,
    1,
    5,
    -3,
    2.5,
    True,
    False,
    Colour.red,
    Path("p"),
    ["a", "b"],
    ("a",),
    [],
    ["1", "x"],
    [Path("q"), "r"],
    b"bytes",
    None,
]


def _outcome(convert: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        result = convert(value, param=param, ctx=ctx)
    except (BadParameter, _Defer) as exc:
        return ("error", type(exc).__name__ if isinstance(exc, _Defer) else exc.format_message())
    return ("value", (type(result), result))


@pytest.mark.parametrize("name", [p.name for p in _command().params])
def test_direct_conversion_gives_typers_value_or_typers_error(name: str) -> None:
    command = _command()
    ctx = Context(command)
    param = next(p for p in command.params if p.name == name)
    direct = direct_runtime_param(param.type_descriptor)
    assert direct is not None, f"{name} has no direct conversion"
    typers = build_runtime_param(param.type_descriptor)
    compared = 0
    for value in CORPUS:
        want = _outcome(typers._coerce_value, value, param, ctx)
        got = _outcome(direct._coerce_value, value, param, ctx)
        assert got == want, f"{name}={value!r}: direct {got}, typer {want}"
        compared += want[0] == "value"
    assert compared > 0  # the corpus has accepted values for every type, not only errors


def test_every_baton_parameter_converts_without_pydantic() -> None:
    missing = []
    for name in commands.COMMANDS:
        command = commands.load(name)
        assert command is not None
        for cmd in commands._walk(command):
            ctx = Context(cmd)
            for param in cmd.get_params(ctx):
                descriptor = getattr(param, "type_descriptor", None)
                if descriptor is not None and direct_runtime_param(descriptor) is None:
                    missing.append(f"{cmd.name} {param.name}: {descriptor.annotation}")
    assert missing == []
