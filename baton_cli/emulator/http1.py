"""HTTP/1.1 on the same port, for the token endpoint only.

The Go SDK offers HTTP/2 for its token call, but Python HTTPS clients (``requests``, which the
transport's OAuth2 client uses) speak HTTP/1.1 only; TLS ALPN tells us which one arrived.
gRPC needs HTTP/2, so a gRPC request here is answered 505.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import h11

from baton_cli.emulator.http_types import MAX_BODY, HttpRequest, HttpResponse

log = logging.getLogger(__name__)

HttpHandler = Callable[[HttpRequest, Callable[[], None]], Awaitable[HttpResponse | None]]


async def serve_http1(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: HttpHandler
) -> None:
    """Serve requests until the client closes; ``handler`` returning None means "cut"."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
    try:
        while True:
            request = await _read_request(conn, reader)
            if request is None:
                break
            if isinstance(request, HttpResponse):
                response: HttpResponse | None = request
            else:
                response = await handler(request, writer.transport.abort)
            if response is None or writer.transport.is_closing():
                break
            _send(conn, writer, response)
            await writer.drain()
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                break
            conn.start_next_cycle()
    except (ConnectionError, OSError, h11.ProtocolError) as exc:
        log.debug("HTTP/1.1 connection ended: %s", exc)
    finally:
        writer.close()


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader
) -> HttpRequest | HttpResponse | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(64 * 1024)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                too_large = {"error": "invalid_request", "error_description": "body too large"}
                return HttpResponse.json(413, too_large)
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers}
            target = head.target.decode("latin-1").split("?", 1)[0]
            if headers.get("content-type", "").startswith("application/grpc"):
                return HttpResponse(505, b"gRPC needs HTTP/2\n", [("content-type", "text/plain")])
            return HttpRequest(head.method.decode("ascii"), target, headers, bytes(body))
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


def _send(conn: h11.Connection, writer: asyncio.StreamWriter, response: HttpResponse) -> None:
    headers = [*response.headers, ("content-length", str(len(response.body)))]
    if conn.their_state is not h11.DONE:
        headers.append(("connection", "close"))  # we answered before reading the whole request
    writer.write(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
    writer.write(conn.send(h11.Data(data=response.body)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
