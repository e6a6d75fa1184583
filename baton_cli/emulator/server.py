"""The emulator's server: one TLS port, HTTP/2 gRPC BatonService plus ``POST /auth/v1/token``.

Stack choice (measured, see tests/emulator/test_server_*.py): our own asyncio server on the
sans-IO ``h2`` library (HTTP/2) and ``h11`` (HTTP/1.1), behind the standard ``ssl`` module
with ALPN. grpcio's server cannot answer a plain POST, so it cannot share a port with the
token endpoint; an ASGI server (hypercorn) could, but would hide the frames that fault
injection must control (a stream cut at an exact byte count, a dropped connection), and
grpclib routes gRPC only. With h2 the gRPC framing and trailers are ~100 lines of ours, and
HTTP/1.1 on the same port lets ``requests``-based OAuth clients fetch tokens too.

Measured on one machine against grpcio's client (``grpc.secure_channel`` trusting our CA):
about 1 ms per unary call on a kept channel, an 18.7 MB c1z uploaded in 512 KiB chunks,
verified and counted in about 0.25 s, and a token call over a fresh TLS connection with
``requests`` in about 5 ms.

``EmulatorServer`` runs the event loop on a background thread; blocking work (SQLite queue,
hashing and opening uploaded c1z files, Ed25519 verification) runs on a small thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from baton_cli.emulator.credentials import CredentialStore, MintedCredentials, host_with_port, mint
from baton_cli.emulator.events import EventLog
from baton_cli.emulator.faults import TOKEN_METHOD, FaultPlan
from baton_cli.emulator.grpc_app import GrpcApp
from baton_cli.emulator.http1 import serve_http1
from baton_cli.emulator.http2 import H2ServerConnection, H2Stream
from baton_cli.emulator.http_types import MAX_BODY, HttpRequest, HttpResponse
from baton_cli.emulator.live import LiveSnapshot
from baton_cli.emulator.paths import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TOKEN_TTL,
    credentials_path,
    tls_dir,
    uploads_dir,
)
from baton_cli.emulator.queue import DEFAULT_MAX_ATTEMPTS, DEFAULT_QUIET_LEASE_SECONDS, TaskQueue
from baton_cli.emulator.service import BatonService, Pacing
from baton_cli.emulator.tls import ensure_tls, server_ssl_context, tls_files
from baton_cli.emulator.token_endpoint import TokenEndpoint
from baton_cli.emulator.tokens import TokenIssuer, load_or_create_key
from baton_cli.emulator.uploads import DEFAULT_MAX_UPLOAD
from baton_cli.errors import BatonError, FailedPreconditionError, StatusCode

log = logging.getLogger(__name__)

_STOP_TIMEOUT = 10.0
_HANDSHAKE_TIMEOUT = 10.0
# What an injected error on the token endpoint looks like over HTTP.
_HTTP_STATUS = {
    StatusCode.UNAVAILABLE: 503,
    StatusCode.RESOURCE_EXHAUSTED: 429,
    StatusCode.UNAUTHENTICATED: 401,
    StatusCode.PERMISSION_DENIED: 403,
    StatusCode.INVALID_ARGUMENT: 400,
    StatusCode.NOT_FOUND: 404,
    StatusCode.DEADLINE_EXCEEDED: 504,
}


class EmulatorServer:
    """Start with :meth:`start` (returns the bound ``(host, port)``), stop with :meth:`stop`."""

    def __init__(
        self,
        data_dir: Path,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        lease_seconds: float = 60.0,
        quiet_lease_seconds: float = DEFAULT_QUIET_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        pacing: Pacing | None = None,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.time,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
        workers: int = 8,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = port
        self.port = port
        self.faults = faults or FaultPlan()
        self.events = EventLog(clock=clock)
        self._token_ttl = token_ttl
        self._lease_seconds = lease_seconds
        self._quiet_lease_seconds = quiet_lease_seconds
        self._max_attempts = max_attempts
        self._pacing = pacing or Pacing()
        self._clock = clock
        self._max_upload = max_upload_bytes
        self._workers = workers
        self._queue: TaskQueue | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[H2ServerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Raw TCP transports: weak, so a connection that closed by itself simply drops out.
        self._transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
        self._context: ssl.SSLContext | None = None

    # -- public API --------------------------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        return tls_files(tls_dir(self.data_dir)).ca_cert

    @property
    def target(self) -> str:
        """``host:port`` as a client dials it (and as BATON_C1_API_HOST takes it)."""
        return host_with_port(self.host, self.port)

    @property
    def queue(self) -> TaskQueue:
        if self._queue is None:
            raise FailedPreconditionError("the emulator is not running")
        return self._queue

    def mint_credentials(self, name: str, *, replace: bool = False) -> MintedCredentials:
        """Credentials whose client id names this server's host and bound port."""
        minted, public_key = mint(name, self.host, self.port)
        CredentialStore(credentials_path(self.data_dir)).add(minted.client_id, public_key, replace=replace)
        return minted

    def snapshot(self, *, events: int = 10) -> LiveSnapshot:
        """Hosts, tasks, recent events and fault counts for the live view (any thread)."""
        queue = self.queue
        return LiveSnapshot(
            target=self.target,
            ca_file=self.ca_file,
            hosts=queue.hosts(),
            tasks=queue.tasks(),
            events=self.events.last(events),
            faults=self.faults.fired_counts(),
            now=self._clock(),
        )

    def start(self) -> tuple[str, int]:
        if self._thread is not None:
            raise FailedPreconditionError("the emulator is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        files = ensure_tls(tls_dir(self.data_dir), [self.host])
        context = server_ssl_context(files)
        sock = _bind(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        try:
            self._build(context, sock)
        except BaseException:
            sock.close()
            self._release()
            raise
        self.events.add(f"listening on https://{self.target} (CA {files.ca_cert})")
        return self.host, self.port

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(_STOP_TIMEOUT)
        except Exception:  # a stuck handler must not keep the process alive
            log.warning("emulator did not shut down cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT)
        self._release()
        self.events.add("stopped")

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- set-up and tear-down ----------------------------------------------------------------------

    def _build(self, context: ssl.SSLContext, sock: socket.socket) -> None:
        self._queue = TaskQueue.open(
            self.data_dir,
            clock=self._clock,
            lease_seconds=self._lease_seconds,
            quiet_lease_seconds=self._quiet_lease_seconds,
            max_attempts=self._max_attempts,
        )
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="baton-emulator")
        issuer = TokenIssuer(
            load_or_create_key(self.data_dir), ttl_seconds=self._token_ttl, clock=self._clock
        )
        self._token_endpoint = TokenEndpoint(
            CredentialStore(credentials_path(self.data_dir)), issuer, clock=self._clock, events=self.events
        )
        service = BatonService(self._queue, self.events, self._pacing)
        self._grpc = GrpcApp(
            service,
            issuer,
            self.faults,
            self.events,
            self._executor,
            uploads_dir(self.data_dir),
            max_upload_bytes=self._max_upload,
        )
        self._context = context
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_exception_handler)
        ready: list[BaseException | None] = []
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._on_connection, sock=sock))
            except BaseException as exc:
                ready.append(exc)
                started.set()
                loop.close()
                return
            ready.append(None)
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="baton-emulator-loop", daemon=True)
        self._thread.start()
        started.wait()
        if ready[0] is not None:
            self._thread.join()
            raise ready[0]

    def _release(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        if self._queue is not None:
            self._queue.close()
        self._executor, self._queue, self._loop, self._thread, self._server = None, None, None, None, None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # Connections still in their TLS handshake or close_notify belong to no task: abort
        # them at the TCP level, then let the loop run the callbacks that close their sockets.
        for transport in list(self._transports):
            transport.abort()
        for _ in range(3):
            await asyncio.sleep(0)
        if self._server is not None:
            await self._server.wait_closed()

    # -- connections and routing -------------------------------------------------------------------

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        # TLS is started here rather than by the listener so every raw connection is known
        # to us from its first byte, and stop() can close even those mid-handshake.
        raw = writer.transport
        assert isinstance(raw, asyncio.Transport) and self._context is not None
        self._transports.add(raw)
        # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP, which
        # socket.create_server's are not; without it each small gRPC reply waits ~40 ms (Nagle).
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            try:
                await writer.start_tls(self._context, ssl_handshake_timeout=_HANDSHAKE_TIMEOUT)
            except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
                log.debug("TLS handshake failed: %s", exc)
                writer.transport.abort()
                return
            ssl_object = writer.get_extra_info("ssl_object")
            protocol = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
            if protocol == "h2":
                conn = H2ServerConnection(reader, writer, self._route)
                self._connections.add(conn)
                try:
                    await conn.run()
                finally:
                    self._connections.discard(conn)
            else:
                await serve_http1(reader, writer, self._http)
        except asyncio.CancelledError:
            # Only stop() cancels these; finishing normally keeps asyncio's stream callback from
            # logging the cancellation as an error (it calls task.exception() on 3.11).
            pass
        finally:
            self._tasks.discard(task)

    async def _route(self, stream: H2Stream) -> None:
        if stream.headers.get("content-type", "").startswith("application/grpc"):
            await self._grpc.handle(stream)
            return
        body = bytearray()
        while chunk := await stream.read():
            body += chunk
            if len(body) > MAX_BODY:
                await stream.send_headers([(":status", "413")], end=True)
                return
        request = HttpRequest(stream.method, stream.path, stream.headers, bytes(body))
        response = await self._http(request, stream.cut)
        if response is None:
            return
        headers = [(":status", str(response.status)), *response.headers]
        headers.append(("content-length", str(len(response.body))))
        await stream.send_headers(headers)
        await stream.send_data(response.body, end=True)

    async def _http(self, request: HttpRequest, cut: Callable[[], None]) -> HttpResponse | None:
        decision = self.faults.decide(TOKEN_METHOD)
        for text in decision.fired:
            self.events.add(f"fault: {text}")
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.cut_after_bytes is not None:
            cut()
            return None
        rule = decision.error
        if rule is not None and rule.error is not None:
            status = _HTTP_STATUS.get(rule.error, 500)
            extra = [("retry-after", str(max(1, round(rule.retry_after))))] if status == 429 else []
            description = f"injected fault: {rule.error.name}"
            body = {"error": "temporarily_unavailable", "error_description": description}
            return HttpResponse.json(status, body, extra)
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._token_endpoint.handle, request)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, backlog=128)
    except OSError as exc:
        raise BatonError(
            f"cannot listen on {host_with_port(host, port)}: {exc.strerror or exc}",
            code=StatusCode.UNAVAILABLE,
        ) from exc


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    # Clients that drop a connection mid-handshake are routine for a test server, not errors.
    if isinstance(context.get("exception"), ssl.SSLError | ConnectionError):
        log.debug("connection error: %s", context.get("message"))
        return
    with contextlib.suppress(Exception):
        loop.default_exception_handler(context)
