"""Option values converted without Pydantic for the types our commands use (issue 14).

Typer 0.29 converts every parameter value through a Pydantic ``TypeAdapter``: importing Pydantic
and building the adapters is about a tenth of a ``baton stats`` process. The conversions here give
the value Typer's adapter gives for the inputs they accept, and hand everything else (an invalid
value, a bound crossed, a type not listed) to Typer's own conversion, so its error messages are
unchanged; tests/test_param_coercion.py compares the two on the same inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
from typer.models import ParameterInfo

try:  # newer typer releases vendor click
    from typer._click import Context
except ImportError:  # pragma: no cover - older typer on real click
    from click import Context  # type: ignore[assignment]


class _Defer(Exception):
    """This value is Typer's to convert (usually: to reject with its own message)."""


Convert = Callable[[Any, Any, Context], Any]

_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Pydantic's lax-mode spellings of a boolean (typer strips the value first).
_BOOLS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("0", "off", "f", "false", "n", "no", ""), False),
}


def _str(value: Any, param: Any, ctx: Context) -> Any:
    if type(value) is str:
        return value
    raise _Defer


def _bool(value: Any, param: Any, ctx: Context) -> Any:
    if type(value) is bool:
        return value
    if type(value) is str and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise _Defer


def _bounded(info: ParameterInfo, number: Any) -> Any:
    if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        raise _Defer
    return number


def _int(info: ParameterInfo) -> Convert:
    def convert(value: Any, param: Any, ctx: Context) -> Any:
        if type(value) is int:
            return _bounded(info, value)
        if type(value) is str and _INT.fullmatch(value):
            return _bounded(info, int(value))
        raise _Defer

    return convert


def _float(info: ParameterInfo) -> Convert:
    def convert(value: Any, param: Any, ctx: Context) -> Any:
        if type(value) in (int, float):
            return _bounded(info, float(value))
        if type(value) is str and _FLOAT.fullmatch(value):
            return _bounded(info, float(value))
        raise _Defer

    return convert


def _choice(annotation: type[Enum], info: ParameterInfo) -> Convert:
    choices = list(annotation)

    def convert(value: Any, param: Any, ctx: Context) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:
            raise _Defer from None

    return convert


def _path(annotation: Any, info: ParameterInfo) -> Convert | None:
    path_type: Any = info.path_type
    if path_type is None and isinstance(annotation, type) and issubclass(annotation, Path):
        path_type = annotation
    if path_type is not Path:
        return None  # str/bytes paths, Path subclasses: Typer's conversion

    def convert(value: Any, param: Any, ctx: Context) -> Any:
        if type(value) is str and value:
            value = Path(value)
        if not isinstance(value, Path):
            raise _Defer
        try:
            return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)
        except Exception:
            raise _Defer from None  # Typer's own conversion raises its own message

    return convert


def _leaf(annotation: Any, info: ParameterInfo) -> Convert | None:
    # The order of typer's build_leaf_adapter: the first matching rule decides.
    if info.parser is not None or info.clamp:
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation, info)
    if annotation is bool:
        return _bool
    if annotation is int:
        return _int(info)
    if annotation is float:
        return _float(info)
    if annotation is str:
        return _str
    if routes_to_path(annotation, info):
        return _path(annotation, info)
    return None


def _converter(descriptor: TypeDescriptor) -> Convert | None:
    annotation: Any = descriptor.annotation
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None:
        return None
    if get_origin(annotation) is list:
        item = _leaf(get_args(annotation)[0], info)
        if item is None:
            return None

        def convert(value: Any, param: Any, ctx: Context) -> Any:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [item(one, param, ctx) for one in items]

        return convert
    return _leaf(annotation, info)


@dataclass(frozen=True)
class DirectRuntimeParam(RuntimeParam):
    """Converts with ``convert``; anything it defers goes through Typer's own conversion."""

    descriptor: TypeDescriptor
    convert: Convert

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        try:
            return self.convert(value, param, ctx)
        except _Defer:
            return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)


def direct_runtime_param(descriptor: TypeDescriptor) -> DirectRuntimeParam | None:
    """A conversion without Pydantic for ``descriptor``, or None where Typer's is needed."""
    convert = _converter(descriptor)
    if convert is None:
        return None
    return DirectRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=descriptor.annotation,
        descriptor=descriptor,
        convert=convert,
    )


def install_all(params: Iterable[Any]) -> None:
    """Give each Typer parameter the direct conversion, where its type has one."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", "absent") is not None:
            continue  # not a Typer 0.29 parameter, or its conversion is already built
        direct = direct_runtime_param(descriptor)
        if direct is not None:
            param._runtime_param = direct
