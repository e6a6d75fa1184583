"""Parsing resource references given on the command line (``--sync-resources``).

Two forms are accepted: our short ``TYPE:ID`` and upstream's Baton ID
``bid:r:[<parent type>/<parent id>/]<type>/<id>``, where ``:``, ``/`` and ``\\``
inside a part are escaped with a backslash (cli.md §3.2).
"""

from __future__ import annotations

from baton_cli.connector.api import ResourceId
from baton_cli.errors import UsageError

_BATON_ID_PREFIX = "bid:r:"


def parse_resource_ref(text: str, *, flag: str = "--sync-resources") -> tuple[ResourceId, ResourceId | None]:
    """A resource and its parent (or None)."""
    if text.startswith(_BATON_ID_PREFIX):
        parts = _split_escaped(text[len(_BATON_ID_PREFIX) :], flag, text)
        if len(parts) == 2:
            return ResourceId(resource_type=parts[0], resource=parts[1]), None
        if len(parts) == 4:
            parent = ResourceId(resource_type=parts[0], resource=parts[1])
            return ResourceId(resource_type=parts[2], resource=parts[3]), parent
        raise UsageError(f"{flag}: {text!r} is not a Baton ID of the form bid:r:[PTYPE/PID/]TYPE/ID")
    resource_type, sep, resource = text.partition(":")
    if not sep or not resource_type or not resource:
        raise UsageError(f"{flag}: {text!r} is not TYPE:ID (or a bid:r: Baton ID)")
    return ResourceId(resource_type=resource_type, resource=resource), None


def _split_escaped(body: str, flag: str, original: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise UsageError(f"{flag}: {original!r} ends with a lone backslash")
            current.append(escaped)
        elif char == "/":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if any(not part for part in parts):
        raise UsageError(f"{flag}: {original!r} has an empty part")
    return parts
