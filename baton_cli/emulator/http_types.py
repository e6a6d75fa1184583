"""Plain HTTP requests and responses, shared by the HTTP/1.1 and HTTP/2 front ends."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, value: object, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
        # no-store: token responses must not be cached by anything in between (RFC 6749 §5.1).
        base = [("content-type", "application/json"), ("cache-control", "no-store")]
        return cls(status, json.dumps(value).encode(), base + (headers or []))


MAX_BODY = 64 * 1024  # a token request is well under 2 KiB; anything near this is not one
