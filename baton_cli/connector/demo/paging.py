"""Opaque offset page tokens and lazy pages over a virtual index range."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

from baton_cli.connector.api import Page
from baton_cli.errors import UsageError

T = TypeVar("T")


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode("ascii")).decode("ascii")


def decode_token(token: str) -> int:
    """The offset in a token from ``encode_token``; '' is the start of a listing."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    if text.startswith("o") and text[1:].isdigit():
        return int(text[1:])
    raise UsageError(f"demo: invalid page token {token[:64]!r}")


def page(length: int, token: str, page_size: int, make: Callable[[int], T | None]) -> Page[T]:
    """One page of ``make(i)`` for positions i from the token on, skipping None.

    Items are built only for this page, so listings of any size cost memory
    proportional to the page size.
    """
    position = decode_token(token)
    items: list[T] = []
    while position < length and len(items) < page_size:
        item = make(position)
        position += 1
        if item is not None:
            items.append(item)
    return Page(items, encode_token(position) if position < length else "")
