"""Plaintext HTTP/2 on a private Unix socket <-> mutual TLS on localhost TCP (subprocess.md §2).

grpcio's BoringSSL cannot do the Ed25519 handshake upstream children require, so grpcio speaks
plaintext to a Unix socket in a 0700 directory and this bridge does the TLS with OpenSSL (the
``ssl`` module). Both directions are needed: ``dial`` carries our calls to the child, ``front``
terminates the child's session-store callback before our grpcio server. One asyncio loop on a
daemon thread moves the bytes (asyncio's SSL transport keeps each TLS session on one thread),
with protocol callbacks rather than streams: each chunk is handed straight to the other
transport, which is what keeps a call's added latency low (bench/bench_bridge.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

_log = logging.getLogger("baton_cli.transport.child.tls_bridge")
T = TypeVar("T")
_Connect = Callable[["_Half"], Awaitable[object]]


class _Half(asyncio.Protocol):
    """One side of a relayed connection; what it receives is written to its peer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Half | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.closed:
            peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        # HTTP/2 has no use for half-closed connections: when either side ends, both end.
        self.closed = True
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    # Flow control: a slow reader on one side slows the writer on the other.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Accepted(_Half):
    """The accepted side: reads nothing until the far side is connected, then relays."""

    def __init__(self, bridge: TLSBridge, connect: _Connect, require_h2: bool) -> None:
        super().__init__()
        self._bridge = bridge
        self._connect = connect
        self._require_h2 = require_h2

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        if self._require_h2 and _alpn(self.transport) != "h2":
            self._bridge.last_error = "a session-store client did not negotiate ALPN h2"
            self.transport.close()
            return
        self.transport.pause_reading()
        self._bridge.track(self)
        self._linking = asyncio.ensure_future(self._link())

    async def _link(self) -> None:
        far = _Half()
        far.peer, self.peer = self, far
        try:
            await self._connect(far)
        except (OSError, ssl.SSLError) as error:
            self._bridge.last_error = f"{type(error).__name__}: {error}"
            _log.debug("bridge connect failed: %s", self._bridge.last_error)
            self.close()
            return
        if self.closed:
            far.close()
        elif self.transport is not None:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._bridge.untrack(self)


class TLSBridge:
    """The event loop thread and every listener on it; ``close`` ends all of them."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="baton-tls-bridge", daemon=True)
        self._servers: list[asyncio.Server] = []
        self._connections: set[_Accepted] = set()
        self.last_error = ""  # the newest handshake or connect failure, for error messages
        self._thread.start()

    def dial(self, unix_path: Path, port: int, context: ssl.SSLContext) -> None:
        """Accept plaintext on ``unix_path``; carry each connection over TLS to 127.0.0.1:port."""

        async def connect(far: _Half) -> object:
            return await self._loop.create_connection(
                lambda: far, "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
            )

        async def start() -> asyncio.Server:
            return await self._loop.create_unix_server(
                lambda: _Accepted(self, connect, require_h2=False), path=str(unix_path)
            )

        self._servers.append(self._run(start()))

    def front(self, context: ssl.SSLContext, unix_path: Path) -> int:
        """Accept TLS on a fresh 127.0.0.1 port (returned); carry each connection to ``unix_path``."""

        async def connect(far: _Half) -> object:
            return await self._loop.create_unix_connection(lambda: far, str(unix_path))

        async def start() -> asyncio.Server:
            return await self._loop.create_server(
                lambda: _Accepted(self, connect, require_h2=True), "127.0.0.1", 0, ssl=context
            )

        server = self._run(start())
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    def track(self, connection: _Accepted) -> None:
        self._connections.add(connection)

    def untrack(self, connection: _Accepted) -> None:
        self._connections.discard(connection)

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            for server in self._servers:
                server.close()
            for connection in list(self._connections):
                connection.close()
                if connection.peer is not None:
                    connection.peer.close()

        with contextlib.suppress(Exception):
            self._run(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _run(self, coroutine: Awaitable[T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_as_coroutine(coroutine), self._loop)
        return future.result()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _alpn(transport: asyncio.BaseTransport) -> str | None:
    ssl_object = transport.get_extra_info("ssl_object")
    return None if ssl_object is None else ssl_object.selected_alpn_protocol()
