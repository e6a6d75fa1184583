"""A small asyncio HTTP/2 server connection on the sans-IO ``h2`` library.

Why our own instead of an ASGI server: gRPC needs response trailers, per-stream flow control
and, for fault injection, the ability to cut a stream or a connection at an exact byte count.
With h2 every frame is ours to decide, in ~250 lines and one small dependency.

Each request stream runs its handler in its own task and reads its body through
:meth:`H2Stream.read`, which returns flow-control credit only as the handler consumes data,
so a slow upload handler pushes back on the client instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

log = logging.getLogger(__name__)

_WINDOW = 1 << 20  # per-stream receive window: an UploadAsset chunk (512 KiB) fits twice
_CONNECTION_WINDOW = 8 << 20
_READ_SIZE = 256 * 1024


class StreamClosed(Exception):
    """The client reset the stream or the connection went away."""


_END = object()
_RESET = object()


@dataclass(frozen=True, slots=True)
class _Chunk:
    data: bytes
    flow_controlled: int  # DATA frame length including padding: the credit to give back


class H2Stream:
    def __init__(self, conn: H2ServerConnection, stream_id: int, headers: list[tuple[str, str]]) -> None:
        self._conn = conn
        self.stream_id = stream_id
        self.headers = {name.lower(): value for name, value in headers}
        self.method = self.headers.get(":method", "")
        self.path = self.headers.get(":path", "").split("?", 1)[0]
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._window_open = asyncio.Event()
        self._ended = False
        self._closed = False
        self.local_closed = False
        self.remote_closed = False

    # -- reading -------------------------------------------------------------------------------

    async def read(self) -> bytes:
        """The next chunk of the request body; b"" once the client ended the stream."""
        if self._ended:
            return b""
        item = await self._inbox.get()
        if item is _END:
            self._ended = True
            return b""
        if item is _RESET:
            self._inbox.put_nowait(_RESET)  # keep raising for later reads
            raise StreamClosed
        assert isinstance(item, _Chunk)
        self._conn.acknowledge(self.stream_id, item.flow_controlled)
        return item.data

    # -- writing -------------------------------------------------------------------------------

    async def send_headers(self, headers: list[tuple[str, str]], *, end: bool = False) -> None:
        self._check_open()
        self._conn.call(lambda h2c: h2c.send_headers(self.stream_id, headers, end_stream=end))
        self.local_closed = end
        await self._conn.drain()

    async def send_data(self, data: bytes, *, end: bool = False) -> None:
        view = memoryview(data)
        while view:
            self._check_open()
            window = min(self._conn.window(self.stream_id), len(view))
            if window <= 0:
                self._window_open.clear()
                await self._window_open.wait()
                continue
            chunk = bytes(view[:window])
            self._conn.call(lambda h2c, c=chunk: h2c.send_data(self.stream_id, c))  # type: ignore[misc]
            view = view[window:]
            await self._conn.drain()
        if end:
            await self.end()

    async def end(self) -> None:
        self._check_open()
        self._conn.call(lambda h2c: h2c.end_stream(self.stream_id))
        self.local_closed = True
        await self._conn.drain()

    def cut(self) -> None:
        """Drop the whole connection mid-stream, as a network failure would (a fault)."""
        self._conn.abort()

    # -- called by the connection --------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosed

    def _deliver(self, data: bytes, flow_controlled: int) -> None:
        self._inbox.put_nowait(_Chunk(data, flow_controlled))

    def _remote_end(self) -> None:
        self.remote_closed = True
        self._inbox.put_nowait(_END)

    def _reset(self) -> None:
        self._closed = True
        self._inbox.put_nowait(_RESET)
        self._window_open.set()

    def _wake(self) -> None:
        self._window_open.set()


Handler = Callable[[H2Stream], Awaitable[None]]


class H2ServerConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        # h2's strict inbound header validation treats a value with surrounding whitespace
        # ("authorization: Bearer ", which grpcio will send) as a connection error; grpc-go and
        # the platform answer such a call with a status instead, so we check headers ourselves.
        config = h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8", validate_inbound_headers=False
        )
        self._h2 = h2.connection.H2Connection(config=config)
        self._streams: dict[int, H2Stream] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lost = False

    async def run(self) -> None:
        self._h2.initiate_connection()
        self._h2.update_settings(
            {
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: _WINDOW,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 256,
            }
        )
        self._h2.increment_flow_control_window(_CONNECTION_WINDOW)
        self._flush()
        try:
            while not self._lost:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    break
                try:
                    events = self._h2.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    log.debug("HTTP/2 protocol error from client: %s", exc)
                    self._flush()
                    break
                for event in events:
                    self._on_event(event)
                self._flush()
        except (ConnectionError, OSError) as exc:
            log.debug("connection lost: %s", exc)
        finally:
            await self._close_all()

    def close(self) -> None:
        """Server shutdown: send GOAWAY (best effort) and drop the connection."""
        if not self._lost:
            self.call(lambda h2c: h2c.close_connection())
        self.abort()

    def abort(self) -> None:
        self._lost = True
        for stream in self._streams.values():
            stream._reset()
        transport = self._writer.transport
        if not transport.is_closing():
            transport.abort()

    # -- used by streams -----------------------------------------------------------------------

    def call(self, action: Callable[[h2.connection.H2Connection], object]) -> None:
        """Run an h2 state change and send its frames; a dead stream becomes StreamClosed."""
        if self._lost:
            raise StreamClosed
        try:
            action(self._h2)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError) as exc:
            raise StreamClosed from exc
        self._flush()

    def window(self, stream_id: int) -> int:
        try:
            return min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError) as exc:
            raise StreamClosed from exc

    def acknowledge(self, stream_id: int, size: int) -> None:
        if size and not self._lost:
            self._h2.acknowledge_received_data(size, stream_id)
            self._flush()

    async def drain(self) -> None:
        if self._lost:
            raise StreamClosed
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise StreamClosed from exc

    # -- internals -----------------------------------------------------------------------------

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and not self._writer.transport.is_closing():
            self._writer.write(data)

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            headers = [(str(k), str(v).strip()) for k, v in (event.headers or [])]
            stream = H2Stream(self, event.stream_id, headers)
            self._streams[event.stream_id] = stream
            task = asyncio.get_running_loop().create_task(self._run_stream(stream))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            receiver = self._streams.get(event.stream_id)
            size = event.flow_controlled_length or 0
            if receiver is None:
                self.acknowledge(event.stream_id, size)  # a finished stream's late data: just credit
            else:
                receiver._deliver(event.data or b"", size)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id in self._streams:
            self._streams[event.stream_id]._remote_end()
        elif isinstance(event, h2.events.StreamReset) and event.stream_id in self._streams:
            self._streams[event.stream_id]._reset()
        elif isinstance(event, h2.events.WindowUpdated):
            wanted = self._streams.values() if not event.stream_id else [self._streams.get(event.stream_id)]
            for waiting in wanted:
                if waiting is not None:
                    waiting._wake()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for waiting in self._streams.values():
                waiting._wake()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._lost = True

    async def _run_stream(self, stream: H2Stream) -> None:
        try:
            await self._handler(stream)
        except StreamClosed:
            pass
        except Exception:
            log.exception("request handler failed on %s", stream.path)
        finally:
            self._streams.pop(stream.stream_id, None)
            self._finish_stream(stream)

    def _finish_stream(self, stream: H2Stream) -> None:
        if self._lost or stream._closed:
            return
        if not stream.local_closed:
            code = h2.errors.ErrorCodes.INTERNAL_ERROR  # the handler gave up without answering
        elif not stream.remote_closed:
            code = h2.errors.ErrorCodes.NO_ERROR  # answered early: the rest of the request is unwanted
        else:
            return
        with contextlib.suppress(StreamClosed):
            self.call(lambda h2c: h2c.reset_stream(stream.stream_id, code))

    async def _close_all(self) -> None:
        self._lost = True
        for stream in self._streams.values():
            stream._reset()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writer.close()
