"""Plaintext HTTP/2 on a private Unix socket <-> mutual TLS on localhost TCP (subprocess.md §2).

grpcio's BoringSSL cannot do the Ed25519 handshake upstream children require, so grpcio speaks
plaintext to a Unix socket in a 0700 directory and this bridge does the TLS with OpenSSL (the
``ssl`` module). Both directions are needed: ``dial`` carries our calls to the child, ``front``
terminates the child's session-store callback before our grpcio server. One asyncio loop on a
daemon thread moves the bytes; asyncio's SSL transport keeps each TLS session on one thread.
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
_CHUNK = 256 * 1024
T = TypeVar("T")


class TLSBridge:
    """The event loop thread and every listener on it; ``close`` ends all of them."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="baton-tls-bridge", daemon=True)
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_error = ""  # the newest handshake or connect failure, for error messages
        self._thread.start()

    def dial(self, unix_path: Path, port: int, context: ssl.SSLContext) -> None:
        """Accept plaintext on ``unix_path``; carry each connection over TLS to 127.0.0.1:port."""

        async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1", limit=_CHUNK
            )
            return reader, writer

        async def start() -> asyncio.Server:
            return await asyncio.start_unix_server(self._relay_to(connect), path=str(unix_path), limit=_CHUNK)

        self._servers.append(self._run(start()))

    def front(self, context: ssl.SSLContext, unix_path: Path) -> int:
        """Accept TLS on a fresh 127.0.0.1 port (returned); carry each connection to ``unix_path``."""

        async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await asyncio.open_unix_connection(str(unix_path), limit=_CHUNK)

        async def start() -> asyncio.Server:
            return await asyncio.start_server(
                self._relay_to(connect, require_h2=True), "127.0.0.1", 0, ssl=context, limit=_CHUNK
            )

        server = self._run(start())
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            for server in self._servers:
                server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self._run(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _run(self, coroutine: Awaitable[T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_as_coroutine(coroutine), self._loop)
        return future.result()

    def _relay_to(
        self,
        connect: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
        *,
        require_h2: bool = False,
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                if require_h2 and _alpn(writer) != "h2":
                    self.last_error = "a session-store client did not negotiate ALPN h2"
                    return
                try:
                    far_reader, far_writer = await connect()
                except (OSError, ssl.SSLError) as error:
                    self.last_error = f"{type(error).__name__}: {error}"
                    _log.debug("bridge connect failed: %s", self.last_error)
                    return
                try:
                    await _pipe_both(reader, writer, far_reader, far_writer)
                finally:
                    far_writer.close()
            finally:
                writer.close()
                self._tasks.discard(task)

        return handle


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _alpn(writer: asyncio.StreamWriter) -> str | None:
    ssl_object = writer.get_extra_info("ssl_object")
    return None if ssl_object is None else ssl_object.selected_alpn_protocol()


async def _pipe_both(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    # HTTP/2 has no use for half-closed connections: when either side ends, both end.
    pipes = [
        asyncio.ensure_future(_pipe(a_reader, b_writer)),
        asyncio.ensure_future(_pipe(b_reader, a_writer)),
    ]
    try:
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pipe in pipes:
            pipe.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
