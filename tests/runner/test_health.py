"""Health probes and metrics: liveness from runner events on an injected clock, a real HTTP server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton_cli.core.runner import RunnerSettings
from baton_cli.core.runner_events import NullRunnerObserver
from baton_cli.core.runner_health import MIN_STALL, RunnerHealth
from baton_cli.core.task_source import Failure, Success
from baton_cli.transport.health_http import HealthServer, TransportCounters
from baton_cli.wiring import _start_health_server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counters:
    upload_bytes = 2048
    upload_retries = 1
    token_fetches = 3


def get(server: HealthServer, path: str) -> tuple[int, str, bytes]:
    """A real HTTP GET to the server on 127.0.0.1."""
    url = f"http://127.0.0.1:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> RunnerHealth:
    return RunnerHealth(task_concurrency=2, clock=clock)


@pytest.fixture
def server(health: RunnerHealth) -> Iterator[HealthServer]:
    failing = {"on": False}

    def validate() -> None:
        if failing["on"]:
            raise RuntimeError("the directory said no")

    started = HealthServer(
        health, validate, host="127.0.0.1", port=0, transport=TransportCounters(Counters())
    )
    started.failing = failing  # type: ignore[attr-defined]
    started.start()
    yield started
    started.stop()


def test_ready_only_after_hello_and_until_a_stop(server: HealthServer, health: RunnerHealth) -> None:
    status, content_type, body = get(server, "/ready")
    assert (status, json.loads(body)) == (503, {"status": "not_ready"}) and content_type == "application/json"
    health.ready()
    assert get(server, "/ready")[0] == 200
    health.stopping(30, 0)
    assert get(server, "/ready")[0] == 503


def test_live_turns_503_when_a_running_sync_stops_heartbeating(
    server: HealthServer, health: RunnerHealth, clock: Clock
) -> None:
    health.ready()
    health.task_started("s1", "sync_full")
    health.task_started("g1", "grant")  # provisioning tasks never heartbeat: not judged by it
    for _ in range(3):
        clock.now += 5
        health.heartbeat("s1", ok=True)
        health.poll_scheduled(1)  # the poll loop is alive too
    assert json.loads(get(server, "/live")[2]) == {"status": "alive"}
    clock.now += MIN_STALL + 1  # the heartbeat thread died: nothing for over a minute
    health.poll_scheduled(1)
    status, _type, body = get(server, "/live")
    assert status == 503
    [problem] = json.loads(body)["details"]["problems"]
    assert problem.startswith("task s1 has not heartbeated for 61 s")
    health.task_finished("s1", "sync_full", Success())
    assert get(server, "/live")[0] == 200


def test_live_turns_503_when_the_poll_loop_is_overdue(
    server: HealthServer, health: RunnerHealth, clock: Clock
) -> None:
    health.ready()
    health.poll_scheduled(5)
    clock.now += 34
    assert get(server, "/live")[0] == 200  # within the wait plus slack
    clock.now += 2
    status, _type, body = get(server, "/live")
    assert status == 503 and "poll loop" in json.loads(body)["details"]["problems"][0]
    # Every slot busy: the loop legitimately waits for one, so that is not a stall.
    health.task_started("a", "grant")
    health.task_started("b", "grant")
    assert get(server, "/live")[0] == 200
    health.task_finished("b", "grant", Success())
    assert get(server, "/live")[0] == 503
    health.stopping(30, 1)  # a graceful stop does not poll any more
    assert get(server, "/live")[0] == 200


def test_health_runs_the_connectors_validate(server: HealthServer) -> None:
    status, _type, body = get(server, "/health")
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "healthy" and answer["timestamp"].endswith("Z")
    server.failing["on"] = True  # type: ignore[attr-defined]
    status, _type, body = get(server, "/health")
    answer = json.loads(body)
    assert status == 503 and answer["status"] == "unhealthy"
    assert answer["details"] == {
        "error": "connector validation failed",
        "validation_error": "the directory said no",
    }


def test_metrics_are_prometheus_text(server: HealthServer, health: RunnerHealth, clock: Clock) -> None:
    health.ready()
    health.task_started("s1", "sync_full")
    health.heartbeat("s1", ok=False)
    health.task_finished("s1", "sync_full", Failure(14, "boom"))
    health.task_started("g1", "grant")
    health.task_finished("g1", "grant", Success())
    health.poll_failed("platform unavailable", 1)
    status, content_type, body = get(server, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert samples[("baton_tasks_total", (("kind", "sync_full"), ("outcome", "failed")))] == 1
    assert samples[("baton_tasks_total", (("kind", "grant"), ("outcome", "succeeded")))] == 1
    assert samples[("baton_poll_errors_total", ())] == 1
    assert samples[("baton_heartbeats_total", (("result", "failed"),))] == 1
    assert samples[("baton_upload_bytes_total", ())] == 2048
    assert samples[("baton_upload_retries_total", ())] == 1
    assert samples[("baton_token_fetches_total", ())] == 3
    assert samples[("baton_ready", ())] == 1
    assert ("baton_heartbeat_lateness_seconds", ()) in samples


def test_unknown_paths_are_404(server: HealthServer) -> None:
    assert get(server, "/nope")[0] == 404


class _Valid:
    def validate(self) -> None:
        pass


class _ProbeWhenTold(NullRunnerObserver):
    """The daemon's log: what /ready answers at the moment it is told (and logs) "ready"."""

    def __init__(self) -> None:
        self.server: HealthServer | None = None
        self.ready_answer: int | None = None

    def ready(self) -> None:
        assert self.server is not None
        self.ready_answer = get(self.server, "/ready")[0]


def test_ready_is_logged_only_once_the_probe_says_ready() -> None:
    # `baton run` logs "ready: polling for tasks" from its log observer; a supervisor (or a test)
    # that probes /ready on that line must get 200, so the health observer hears "ready" first.
    log = _ProbeWhenTold()
    server, observer = _start_health_server(("127.0.0.1", 0), _Valid(), Counters(), RunnerSettings(), log)
    try:
        log.server = server
        observer.ready()
    finally:
        server.stop()
    assert log.ready_answer == 200
