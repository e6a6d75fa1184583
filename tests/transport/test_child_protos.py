"""The child-launch messages against subprocess.md §1's field table (wire.md does not list them)."""

from __future__ import annotations

import re

from google.protobuf.descriptor import Descriptor

from baton_cli.pb.c1.connector_wrapper.v1 import connector_wrapper_pb2
from baton_cli.pb.c1.ratelimit.v1 import ratelimit_pb2
from baton_cli.pb.c1.utls.v1 import tls_pb2
from tests.external import require_shared

_ROW = re.compile(r"^\| (?:`(?P<message>[\w.]+)`)? *\| (?P<number>\d+) \| `(?P<field>\w+)` \|")
_ONEOF = re.compile(r"(\d+) `(\w+)` \((\w+)")


def _tabulated() -> dict[str, dict[str, int]]:
    text = require_shared("spec/subprocess.md").read_text()
    table: dict[str, dict[str, int]] = {}
    current = ""
    for line in text.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        current = match["message"] or current
        table.setdefault(current, {})[match["field"]] = int(match["number"])
    limiter = next(
        line for line in text.splitlines() if line.startswith("| `c1.ratelimit.v1.RateLimiterConfig`")
    )
    table["c1.ratelimit.v1.RateLimiterConfig"] = {name: int(num) for num, name, _t in _ONEOF.findall(limiter)}
    return table


def _fields(descriptor: Descriptor) -> dict[str, int]:
    return {field.name: field.number for field in descriptor.fields}


def test_messages_match_subprocess_md() -> None:
    table = _tabulated()
    ours = {
        d.full_name: _fields(d)
        for d in (
            connector_wrapper_pb2.ServerConfig.DESCRIPTOR,
            tls_pb2.Credential.DESCRIPTOR,
            ratelimit_pb2.RateLimiterConfig.DESCRIPTOR,
        )
    }
    assert ours == table


def test_limiter_oneof_holds_every_kind() -> None:
    oneof = ratelimit_pb2.RateLimiterConfig.DESCRIPTOR.oneofs_by_name["type"]
    assert sorted(f.number for f in oneof.fields) == [100, 101, 102, 103]
    assert _fields(ratelimit_pb2.FixedMemoryLimiter.DESCRIPTOR) == {"rate": 1, "period": 2}
    assert _fields(ratelimit_pb2.ExternalLimiter.DESCRIPTOR) == {"options": 1, "address": 2}
    assert _fields(ratelimit_pb2.SlidingMemoryLimiter.DESCRIPTOR) == {"use_percent": 1}
