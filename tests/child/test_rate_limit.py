"""The child's rate limiter (c1.ratelimit.v1): the config we send, Do before each call, Report after.

End to end against the stand-in, whose limiter follows the ServerConfig's rate_limiter_config as
the Go SDK's does; the OVERLIMIT wait with a real gRPC limiter and an injected clock and wait.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from baton_cli.errors import UsageError
from baton_cli.pb.c1.connector.v2 import grant_pb2, grant_pb2_grpc, resource_pb2
from baton_cli.pb.c1.ratelimit.v1 import ratelimit_pb2, ratelimit_pb2_grpc
from baton_cli.transport.child.rate_limit import (
    RATE_LIMIT_ENV,
    RateLimitInterceptor,
    descriptors,
    rate_limit_from_env,
)
from tests.cli.invoke import Invocation, baton_here

Description = ratelimit_pb2.RateLimitDescription


def test_rate_limit_forms() -> None:
    assert rate_limit_from_env({}) is None
    assert rate_limit_from_env({RATE_LIMIT_ENV: "off"}) == ratelimit_pb2.RateLimiterConfig(
        disabled=ratelimit_pb2.DisabledLimiter()
    )
    fixed = rate_limit_from_env({RATE_LIMIT_ENV: "100/1s"})
    assert fixed is not None and fixed.fixed_mem.rate == 100
    assert fixed.fixed_mem.period.ToTimedelta() == timedelta(seconds=1)
    hourly = rate_limit_from_env({RATE_LIMIT_ENV: "5000/h"})
    assert hourly is not None and hourly.fixed_mem.period.ToTimedelta() == timedelta(hours=1)
    for bad in ("fast", "0/1s", "10/0s", "10/1d", "-1/1s"):
        with pytest.raises(UsageError, match=RATE_LIMIT_ENV):
            rate_limit_from_env({RATE_LIMIT_ENV: bad})


def test_descriptors_name_the_method_and_resource_type() -> None:
    listing = grant_pb2.GrantsServiceListGrantsRequest(
        resource=resource_pb2.Resource(id=resource_pb2.ResourceId(resource_type="group", resource="g1"))
    )
    method = "/c1.connector.v2.GrantsService/ListGrants"
    assert [(e.key, e.value) for e in descriptors(method, listing).entries] == [
        ("connector_method", method),
        ("connector_resource_type", "group"),
    ]
    typed = resource_pb2.ResourcesServiceListResourcesRequest(resource_type_id="user")
    assert [e.value for e in descriptors("/m", typed).entries] == ["/m", "user"]
    assert len(descriptors("/m", resource_pb2.ResourceTypesServiceListResourceTypesRequest()).entries) == 1


class _Limiter(ratelimit_pb2_grpc.RateLimiterServiceServicer):
    def __init__(self, answers: list[Description]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.reports: list[int] = []
        self.reported = threading.Event()

    def Do(self, request: Any, context: Any) -> Any:
        self.asked.append(request.request_token)
        description = self.answers.pop(0) if self.answers else Description(status=Description.STATUS_OK)
        return ratelimit_pb2.DoResponse(request_token="tok", description=description)

    def Report(self, request: Any, context: Any) -> Any:
        self.reports.append(request.description.status)
        self.reported.set()
        return ratelimit_pb2.ReportResponse()


class _Grants(grant_pb2_grpc.GrantsServiceServicer):
    def ListGrants(self, request: Any, context: Any) -> Any:
        return grant_pb2.GrantsServiceListGrantsResponse()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[_Limiter, grpc.Channel]]:
    limiter = _Limiter([])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    ratelimit_pb2_grpc.add_RateLimiterServiceServicer_to_server(limiter, server)
    grant_pb2_grpc.add_GrantsServiceServicer_to_server(_Grants(), server)
    server.add_insecure_port(f"unix:{tmp_path / 's.sock'}")
    server.start()
    channel = grpc.insecure_channel(f"unix:{tmp_path / 's.sock'}")
    try:
        yield limiter, channel
    finally:
        channel.close()
        server.stop(grace=None)


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _over(seconds: float) -> Description:
    description = Description(status=Description.STATUS_OVERLIMIT)
    description.reset_at.FromDatetime(NOW + timedelta(seconds=seconds))
    return description


def test_overlimit_waits_until_reset_then_calls(served: tuple[_Limiter, grpc.Channel]) -> None:
    limiter, channel = served
    limiter.answers = [_over(7), _over(0)]
    waits: list[float] = []
    interceptor = RateLimitInterceptor(channel, wait=lambda s: bool(waits.append(s)), now=lambda: NOW)
    grants = grant_pb2_grpc.GrantsServiceStub(grpc.intercept_channel(channel, interceptor))
    grants.ListGrants(grant_pb2.GrantsServiceListGrantsRequest(), timeout=10)
    # The reset time, then upstream's 1 s minimum; the token handed back is sent again.
    assert waits == [7.0, 1.0]
    assert limiter.asked == ["", "tok", "tok"]
    assert limiter.reported.wait(10) and limiter.reports == [Description.STATUS_OK]


def test_overlimit_past_upstreams_bound_fails(served: tuple[_Limiter, grpc.Channel]) -> None:
    limiter, channel = served
    limiter.answers = [_over(2 * 3600), _over(2 * 3600)]
    # Started at NOW; the first answer is seen at NOW, the second 65 min later.
    clock = iter([NOW, NOW, NOW + timedelta(minutes=65, seconds=1)])
    waits: list[float] = []
    interceptor = RateLimitInterceptor(channel, wait=lambda s: bool(waits.append(s)), now=lambda: next(clock))
    grants = grant_pb2_grpc.GrantsServiceStub(grpc.intercept_channel(channel, interceptor))
    with pytest.raises(grpc.RpcError) as caught:
        grants.ListGrants(grant_pb2.GrantsServiceListGrantsRequest(), timeout=10)
    # As upstream: at most 65 minutes of waiting in all, then RESOURCE_EXHAUSTED "overlimit".
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and waits == [65 * 60.0]
    assert limiter.reports == []  # the call was never made


def test_cancel_during_the_wait_gives_up_the_call(served: tuple[_Limiter, grpc.Channel]) -> None:
    limiter, channel = served
    limiter.answers = [_over(30)]
    interceptor = RateLimitInterceptor(channel, wait=lambda _s: True, now=lambda: NOW)  # cancelled at once
    grants = grant_pb2_grpc.GrantsServiceStub(grpc.intercept_channel(channel, interceptor))
    with pytest.raises(grpc.RpcError) as caught:
        grants.ListGrants.future(grant_pb2.GrantsServiceListGrantsRequest(), timeout=10).result()
    assert caught.value.code() == grpc.StatusCode.CANCELLED
    assert limiter.asked == [""] and limiter.reports == []


def test_a_child_without_the_limiter_service_is_called_unlimited(tmp_path: Path) -> None:
    """Children whose SDK predates RateLimiterService answer UNIMPLEMENTED: we stop asking."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    grant_pb2_grpc.add_GrantsServiceServicer_to_server(_Grants(), server)
    server.add_insecure_port(f"unix:{tmp_path / 'old.sock'}")
    server.start()
    channel = grpc.insecure_channel(f"unix:{tmp_path / 'old.sock'}")
    try:
        interceptor = RateLimitInterceptor(channel, wait=lambda _s: pytest.fail("no wait expected"))
        grants = grant_pb2_grpc.GrantsServiceStub(grpc.intercept_channel(channel, interceptor))
        for _ in range(2):
            grants.ListGrants(grant_pb2.GrantsServiceListGrantsRequest(), timeout=10)
        assert interceptor.calls == 2 and not interceptor.served
    finally:
        channel.close()
        server.stop(grace=None)


def _records(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _sync(tmp_path: Path, standin: Path, log: Path, limit: str | None) -> Invocation:
    return baton_here(
        "sync", "--plugin", f"exec:{standin}", "--out", str(tmp_path / "out.c1z"), "--fresh",
        "--", "--limiter-log", str(log),
        cwd=tmp_path, env={RATE_LIMIT_ENV: limit} if limit is not None else None,
    )  # fmt: skip


def test_sync_asks_the_childs_limiter_before_every_call(standin: Path, tmp_path: Path) -> None:
    log = tmp_path / "limiter.jsonl"
    result = _sync(tmp_path, standin, log, "1000000/1s")
    assert result.returncode == 0, result.stderr
    records = _records(log)
    served = Counter(r["method"] for r in records if r["kind"] == "call")
    asked = Counter(r["method"] for r in records if r["kind"] == "do")
    assert served["/c1.connector.v2.GrantsService/ListGrants"] > 10
    assert asked == served  # one Do per connector call, for exactly the calls made
    # OK, not EMPTY: the child built its fixed-window limiter from the config we sent.
    assert {r["status"] for r in records if r["kind"] == "do"} == {"STATUS_OK"}
    assert {r["service"] for r in records if r["kind"] == "do"} == {"connector"}
    typed = [r for r in records if r["kind"] == "do" and r["method"].endswith("/ListResources")]
    assert {r["resource_type"] for r in typed} == {"user", "group", "role"}
    assert any(r["kind"] == "report" and r["status"] == "STATUS_OK" for r in records)


def test_no_limit_configured_asks_nothing(
    standin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RATE_LIMIT_ENV, raising=False)
    log = tmp_path / "limiter.jsonl"
    result = _sync(tmp_path, standin, log, None)
    assert result.returncode == 0, result.stderr
    records = _records(log)
    assert any(r["kind"] == "call" for r in records) and not any(r["kind"] == "do" for r in records)


def test_a_malformed_limit_is_refused_before_the_child_starts(standin: Path, tmp_path: Path) -> None:
    log = tmp_path / "limiter.jsonl"
    result = _sync(tmp_path, standin, log, "lots")
    assert result.returncode == 3 and RATE_LIMIT_ENV in result.stderr
    assert not log.exists()
