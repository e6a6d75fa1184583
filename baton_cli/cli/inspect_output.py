"""Output for the inspection commands: streamed JSON envelopes and console tables.

Everything here writes as rows arrive, so a c1z with a million grants never
becomes a million-element list in memory. The one exception is a Rich table
on a terminal, which needs every row to size its columns; a person reading a
terminal does not page through millions of rows, and piped output (the
scripting case) takes the streaming plain-text path instead.
"""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TextIO

from google.protobuf import any_pb2, descriptor_pool, message_factory, struct_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

import baton_cli.pb

# Rows used to size plain-text columns; later rows keep those widths (a longer cell just pushes
# its line further right), which is what lets plain output stream.
_PLAIN_SIZING_ROWS = 1000
_GAP = "  "
# Lines a Rich table adds around its rows (header, rules, trailing newline).
_TABLE_CHROME = 4


@cache
def load_message_types() -> None:
    """Import every generated module so annotation ``Any`` payloads can be rendered by type URL."""
    prefix = baton_cli.pb.__name__ + "."
    for info in pkgutil.walk_packages(baton_cli.pb.__path__, prefix):
        if info.name.endswith("_pb2"):
            importlib.import_module(info.name)


def to_dict(message: Message) -> dict[str, Any]:
    """The protobuf JSON mapping of ``message`` (camelCase names), as upstream's protojson.

    Map entries (and Struct keys) come out sorted: protobuf's own map order changes from one
    process to the next, and the same file must give the same bytes every run.
    """
    load_message_types()
    try:
        rendered = MessageToDict(message)
    except TypeError:
        # An annotation type newer than our protos: render it opaquely rather than failing the listing.
        copy = type(message)()
        copy.CopyFrom(message)
        _wrap_unknown_any(copy)
        rendered = MessageToDict(copy)
    _sort_maps(message.DESCRIPTOR, rendered)
    return rendered


_STRUCTS = frozenset({"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"})


def _sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sort_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sort_keys(item) for item in value]
    return value


def _sort_maps(descriptor: Any, rendered: dict[str, Any]) -> None:
    """Sort, in place, every map of ``rendered`` (the JSON of a ``descriptor`` message)."""
    if descriptor.full_name == "google.protobuf.Any":
        inner = _any_descriptor(rendered.get("@type", ""))
        if inner is not None and inner.full_name not in _STRUCTS and "value" not in rendered:
            _sort_maps(inner, rendered)
        elif inner is not None and "value" in rendered:
            rendered["value"] = _sort_keys(rendered["value"])
        return
    for field in descriptor.fields:
        value = rendered.get(field.json_name)
        if value is None or field.message_type is None:
            continue
        sub = field.message_type
        if sub.GetOptions().map_entry:
            value_type = sub.fields_by_name["value"].message_type
            rendered[field.json_name] = {
                key: value[key] if value_type is None else _sort_message(value_type, value[key])
                for key in sorted(value)
            }
        elif field.is_repeated:
            rendered[field.json_name] = [_sort_message(sub, item) for item in value]
        else:
            rendered[field.json_name] = _sort_message(sub, value)


def _sort_message(descriptor: Any, rendered: Any) -> Any:
    if descriptor.full_name in _STRUCTS:
        return _sort_keys(rendered)
    if isinstance(rendered, dict):
        _sort_maps(descriptor, rendered)
    return rendered


def _any_descriptor(type_url: str) -> Any:
    try:
        return descriptor_pool.Default().FindMessageTypeByName(type_url.rpartition("/")[2])
    except KeyError:
        return None


def to_json(message: Message) -> str:
    return dumps(to_dict(message))


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _wrap_unknown_any(message: Message) -> None:
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            items = list(value.values()) if value_field.message_type is not None else []
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, any_pb2.Any):
                _fix_any(item)
            else:
                _wrap_unknown_any(item)


def _fix_any(item: any_pb2.Any) -> None:
    name = item.type_url.rpartition("/")[2]
    try:
        cls = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))
    except KeyError:
        opaque = struct_pb2.Struct()
        opaque.update({"unresolvedType": item.type_url, "base64": base64.b64encode(item.value).decode()})
        item.Pack(opaque)
        return
    inner = cls.FromString(item.value)
    _wrap_unknown_any(inner)
    item.Pack(inner)


class JsonList:
    """Writes ``{"<key>":[`` then one element per line, then ``]}`` (valid JSON, streamed)."""

    def __init__(self, stream: TextIO, key: str, extra: Mapping[str, object] | None = None) -> None:
        self._stream = stream
        self._first = True
        head = dumps(extra)[:-1] + "," if extra else "{"
        stream.write(f"{head}{dumps(key)}:[")

    def add(self, element_json: str) -> None:
        self._stream.write(("\n" if self._first else ",\n") + element_json)
        self._first = False

    def close(self) -> None:
        self._stream.write("\n]}\n" if not self._first else "]}\n")
        self._stream.flush()


@contextmanager
def json_list(key: str, extra: Mapping[str, object] | None = None) -> Iterator[JsonList]:
    writer = JsonList(sys.stdout, key, extra)
    yield writer
    writer.close()


class ConsoleTable:
    """A table for people: Rich on a terminal (paged when taller than it), aligned text otherwise."""

    def __init__(
        self, columns: Sequence[str], *, title: str | None = None, stream: TextIO | None = None
    ) -> None:
        self._columns = list(columns)
        self._title = title
        self._stream = stream if stream is not None else sys.stdout
        self._rich = self._stream.isatty()
        self._rows: list[list[str]] = []
        self._widths: list[int] | None = None

    def add(self, row: Sequence[str]) -> None:
        cells = [str(cell) for cell in row]
        if self._rich or self._widths is None:
            self._rows.append(cells)
            if not self._rich and len(self._rows) >= _PLAIN_SIZING_ROWS:
                self._flush_plain()
        else:
            self._write_plain(cells)

    def close(self) -> None:
        if self._rich:
            self._render_rich()
        else:
            self._flush_plain()
        self._stream.flush()

    def _flush_plain(self) -> None:
        if self._widths is None:
            self._widths = [len(c) for c in self._columns]
            for row in self._rows:
                self._widths = [max(w, len(c)) for w, c in zip(self._widths, row, strict=True)]
            if self._title:
                self._stream.write(self._title + "\n")
            self._write_plain(self._columns)
        for row in self._rows:
            self._write_plain(row)
        self._rows = []

    def _write_plain(self, cells: Sequence[str]) -> None:
        assert self._widths is not None
        padded = [c.ljust(w) for c, w in zip(cells[:-1], self._widths, strict=False)]
        self._stream.write(_GAP.join([*padded, cells[-1]]).rstrip() + "\n")

    def _render_rich(self) -> None:
        # Imported here: plain output (a pipe, a file, every test) never needs Rich.
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(file=self._stream)
        table = Table(title=self._title, box=box.SIMPLE_HEAD, header_style="bold")
        for column in self._columns:
            table.add_column(column, overflow="fold")
        for row in self._rows:
            table.add_row(*(Text(c) for c in row))
        if len(self._rows) + _TABLE_CHROME > console.height:
            with console.pager(styles=True):
                console.print(table)
        else:
            console.print(table)


@contextmanager
def console_table(columns: Sequence[str], *, title: str | None = None) -> Iterator[ConsoleTable]:
    table = ConsoleTable(columns, title=title)
    yield table
    table.close()
