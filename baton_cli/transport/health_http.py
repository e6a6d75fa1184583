"""The daemon's HTTP health server (cli.md §3.1, §5): ``/health``, ``/ready``, ``/live``, ``/metrics``.

``--health-check`` starts it on ``--health-check-bind-address`` (127.0.0.1) and
``--health-check-port`` (8081). Answers are JSON with ``Content-Type: application/json``:

- ``/health`` runs the connector's validate (30 s timeout): 200 ``{"status": "healthy",
  "timestamp": ...}`` or 503 ``{"status": "unhealthy", ..., "details": {"error": ...,
  "validation_error": ...}}``;
- ``/ready``: 200 ``{"status": "ready"}`` once Hello succeeded and the poll loop runs, else 503
  ``{"status": "not_ready"}``;
- ``/live``: 200 ``{"status": "alive"}`` while the poll loop and every running sync's heartbeat
  are on schedule, else 503 ``{"status": "stalled", "details": {"problems": [...]}}``
  (core/runner_health.py);
- ``/metrics``: Prometheus text format (prometheus_client): tasks by kind and outcome, poll
  errors, heartbeats and their worst lateness, upload bytes and retries, token fetches.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from baton_cli.core.runner_health import RunnerHealth

DEFAULT_PORT = 8081
DEFAULT_BIND = "127.0.0.1"
VALIDATE_TIMEOUT = 30.0
SHUTDOWN_POLL_SECONDS = 0.05
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TransportCounters:
    """What the transport counted; read at scrape time (zero when no source is connected)."""

    def __init__(self, source: Any = None) -> None:
        self._source = source

    def value(self, name: str) -> int:
        return int(getattr(self._source, name, 0)) if self._source is not None else 0


class _RunnerCollector(Collector):
    def __init__(self, health: RunnerHealth, transport: TransportCounters) -> None:
        self._health = health
        self._transport = transport

    def collect(self) -> Iterator[Metric]:
        counts = self._health.counts
        tasks = CounterMetricFamily(
            "baton_tasks", "Tasks finished, by kind and outcome.", labels=["kind", "outcome"]
        )
        for (kind, outcome), n in sorted(counts.tasks.items()):
            tasks.add_metric([kind, outcome], n)
        yield tasks
        yield CounterMetricFamily("baton_poll_errors", "GetTask calls that failed.", value=counts.poll_errors)
        beats = CounterMetricFamily("baton_heartbeats", "Sync heartbeats, by result.", labels=["result"])
        for result in ("ok", "failed"):
            beats.add_metric([result], counts.heartbeats[result])
        yield beats
        yield GaugeMetricFamily(
            "baton_heartbeat_lateness_seconds",
            "How far the most overdue running sync is past its expected heartbeat.",
            value=self._health.heartbeat_lateness(),
        )
        yield GaugeMetricFamily(
            "baton_ready", "1 once Hello succeeded and polling runs.", value=int(self._health.is_ready)
        )
        yield CounterMetricFamily(
            "baton_upload_bytes", "Bytes of c1z files uploaded.", value=self._transport.value("upload_bytes")
        )
        yield CounterMetricFamily(
            "baton_upload_retries",
            "Upload attempts that were repeated.",
            value=self._transport.value("upload_retries"),
        )
        yield CounterMetricFamily(
            "baton_token_fetches",
            "Access tokens obtained (first and refreshes).",
            value=self._transport.value("token_fetches"),
        )


class HealthServer:
    """Serves the probes on a background thread; ``start()`` returns the bound port."""

    def __init__(
        self,
        health: RunnerHealth,
        validate: Callable[[], None],
        *,
        host: str = DEFAULT_BIND,
        port: int = DEFAULT_PORT,
        transport: TransportCounters | None = None,
        validate_timeout: float = VALIDATE_TIMEOUT,
    ) -> None:
        self._health = health
        self._validate = validate
        self._validate_timeout = validate_timeout
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_RunnerCollector(health, transport or TransportCounters()))
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="baton-health-validate")
        handler = self._handler_class()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # shutdown() waits for the loop to look at its flag, once per poll: 0.5 s by default.
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="baton-health",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> int:
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- answers -------------------------------------------------------------------------------

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of ``path``."""
        route = path.split("?", 1)[0].rstrip("/") or "/"
        if route == "/metrics":
            return HTTPStatus.OK, METRICS_CONTENT_TYPE, generate_latest(self._registry)
        if route == "/health":
            return self._json(*self._health_check())
        if route == "/ready":
            ready = self._health.is_ready
            return self._json(
                HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
                {"status": "ready" if ready else "not_ready"},
            )
        if route == "/live":
            live = self._health.liveness()
            if live.alive:
                return self._json(HTTPStatus.OK, {"status": "alive"})
            return self._json(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"status": "stalled", "details": {"problems": list(live.problems)}},
            )
        return self._json(
            HTTPStatus.NOT_FOUND,
            {"status": "not_found", "endpoints": ["/health", "/ready", "/live", "/metrics"]},
        )

    def _health_check(self) -> tuple[int, dict[str, Any]]:
        future = self._pool.submit(self._validate)
        try:
            future.result(timeout=self._validate_timeout)
        except FutureTimeout:
            error = f"validation did not finish within {self._validate_timeout:g} s"
            return HTTPStatus.SERVICE_UNAVAILABLE, _unhealthy(error, error)
        except Exception as exc:  # the connector may raise anything; report it, keep serving
            return HTTPStatus.SERVICE_UNAVAILABLE, _unhealthy(
                "connector validation failed", str(exc) or type(exc).__name__
            )
        return HTTPStatus.OK, {"status": "healthy", "timestamp": _now()}

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(body).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, content_type, body = server.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # probes every few seconds would drown the daemon's log

        return Handler


def _unhealthy(error: str, validation_error: str) -> dict[str, Any]:
    return {
        "status": "unhealthy",
        "timestamp": _now(),
        "details": {"error": error, "validation_error": validation_error},
    }
