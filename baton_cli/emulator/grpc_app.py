"""gRPC calls to ``c1.connectorapi.baton.v1.BatonService`` on an HTTP/2 stream.

Order of work for a call: route, faults (latency, token expiry, injected error), bearer token,
request messages (with the cut fault counting their bytes), the handler on a worker thread,
then HEADERS + DATA + trailers, or a Trailers-Only error answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message

from baton_cli.emulator.events import EventLog
from baton_cli.emulator.faults import FaultDecision, FaultPlan
from baton_cli.emulator.grpc_framing import (
    CONTENT_TYPE,
    GrpcError,
    MessageDecoder,
    encode_message,
    retry_info_details,
    trailers,
)
from baton_cli.emulator.http2 import H2Stream
from baton_cli.emulator.service import BatonService
from baton_cli.emulator.tokens import InvalidToken, TokenIssuer
from baton_cli.emulator.uploads import DEFAULT_MAX_UPLOAD, UploadSession
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2 as pb

log = logging.getLogger(__name__)

SERVICE = "c1.connectorapi.baton.v1.BatonService"
_ENCODING = [("grpc-accept-encoding", "identity")]  # we never compress, and say so
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Method:
    request: type[Message]
    handler: str  # BatonService attribute; "" for the client-streaming UploadAsset


METHODS: dict[str, _Method] = {
    "Hello": _Method(pb.BatonServiceHelloRequest, "hello"),
    "GetTask": _Method(pb.BatonServiceGetTaskRequest, "get_task"),
    "GetTasks": _Method(pb.BatonServiceGetTasksRequest, "get_tasks"),
    "Heartbeat": _Method(pb.BatonServiceHeartbeatRequest, "heartbeat"),
    "FinishTask": _Method(pb.BatonServiceFinishTaskRequest, "finish_task"),
    "UploadAsset": _Method(pb.BatonServiceUploadAssetRequest, ""),
    "StartDebugging": _Method(pb.StartDebuggingRequest, "start_debugging"),
}


class _Cut(Exception):
    """The cut fault fired: drop the connection instead of answering."""


class _Body:
    """Request messages off the stream, counting bytes for the cut fault."""

    def __init__(self, stream: H2Stream, cut_after: int | None) -> None:
        self._stream = stream
        self._cut_after = cut_after
        self._seen = 0
        self._decoder = MessageDecoder()

    async def messages(self) -> AsyncIterator[bytes]:
        if self._cut_after == 0:
            raise _Cut
        while chunk := await self._stream.read():
            self._seen += len(chunk)
            if self._cut_after is not None and self._seen >= self._cut_after:
                raise _Cut
            for message in self._decoder.feed(chunk):
                yield message
        if self._cut_after is not None:
            raise _Cut  # the request was shorter than the byte count: cut before answering
        if self._decoder.partial:
            raise GrpcError(StatusCode.INTERNAL, "request ended in the middle of a message")


class GrpcApp:
    def __init__(
        self,
        service: BatonService,
        issuer: TokenIssuer,
        faults: FaultPlan,
        events: EventLog,
        executor: Executor,
        uploads_dir: Path,
        *,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    ) -> None:
        self._service = service
        self._issuer = issuer
        self._faults = faults
        self._events = events
        self._executor = executor
        self._uploads_dir = uploads_dir
        self._max_upload = max_upload_bytes

    async def handle(self, stream: H2Stream) -> None:
        service, _, name = stream.path.lstrip("/").partition("/")
        method = METHODS.get(name) if service == SERVICE else None
        if not stream.headers.get("content-type", "").startswith(CONTENT_TYPE):
            await stream.send_headers([(":status", "415"), ("content-type", "text/plain")], end=True)
            return
        try:
            if method is None:
                raise GrpcError(StatusCode.UNIMPLEMENTED, f"unknown method {stream.path}")
            decision = self._faults.decide(name)
            await self._apply_faults(name, decision)
            self._authenticate(stream.headers.get("authorization", ""))
            body = _Body(stream, decision.cut_after_bytes)
            if method.handler:
                response = await self._unary(method, body, decision)
            else:
                response = await self._upload(body, decision)
            if decision.lose_answer:
                # Handled and recorded, then the answer is lost: what a retrying client must survive.
                raise GrpcError(StatusCode.UNAVAILABLE, f"injected fault: {name} answer lost")
        except _Cut:
            self._events.add(f"fault: {name} connection cut")
            stream.cut()
            return
        except GrpcError as exc:
            await self._fail(stream, name, exc)
            return
        await stream.send_headers([(":status", "200"), ("content-type", CONTENT_TYPE), *_ENCODING])
        await stream.send_data(encode_message(response.SerializeToString()))
        await stream.send_headers(trailers(StatusCode.OK), end=True)

    async def _apply_faults(self, name: str, decision: FaultDecision) -> None:
        for text in decision.fired:
            self._events.add(f"fault: {text}")
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.expire_token:
            self._issuer.expire_all()
        rule = decision.error
        if rule is not None and rule.error is not None:
            message = f"injected fault: {rule.error.name} on {name}"
            details = None
            if rule.error is StatusCode.RESOURCE_EXHAUSTED:
                details = retry_info_details(rule.error, message, rule.retry_after)
            raise GrpcError(rule.error, message, details)

    def _authenticate(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GrpcError(StatusCode.UNAUTHENTICATED, "missing bearer token")
        try:
            self._issuer.verify(token.strip())
        except InvalidToken as exc:
            raise GrpcError(StatusCode.UNAUTHENTICATED, str(exc)) from exc

    async def _unary(self, method: _Method, body: _Body, decision: FaultDecision) -> Message:
        payloads = [m async for m in body.messages()]
        if len(payloads) != 1:
            raise GrpcError(StatusCode.INTERNAL, f"expected one request message, got {len(payloads)}")
        request = _parse(method.request, payloads[0])
        task_id = getattr(request, "task_id", "")
        if decision.cancel_task and task_id:
            await self._run(self._service.cancel, task_id)
        handler: Callable[[Any], Message] = getattr(self._service, method.handler)
        return await self._run(handler, request)

    async def _upload(self, body: _Body, decision: FaultDecision) -> Message:
        session = UploadSession(
            self._service.queue, self._uploads_dir, self._events, max_bytes=self._max_upload
        )
        try:
            async for payload in body.messages():
                message = _parse(pb.BatonServiceUploadAssetRequest, payload)
                assert isinstance(message, pb.BatonServiceUploadAssetRequest)
                if decision.cancel_task and message.HasField("metadata"):
                    await self._run(self._service.cancel, message.metadata.task_id)
                await self._run(session.feed, message)
            return await self._run(session.finish)
        finally:
            # Cut, reset, refused or cancelled: whatever arrived is thrown away (finish already
            # cleaned up after itself, so this is a no-op after success).
            session.abort()

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except GrpcError:
            raise
        except BatonError as exc:
            raise GrpcError(exc.code, str(exc)) from exc
        except Exception as exc:
            log.exception("BatonService handler failed")
            raise GrpcError(StatusCode.INTERNAL, f"internal error: {type(exc).__name__}") from exc

    async def _fail(self, stream: H2Stream, name: str, error: GrpcError) -> None:
        self._events.add(f"{name} -> {error.code.name}: {error.message}")
        headers = [(":status", "200"), ("content-type", CONTENT_TYPE), *_ENCODING]
        await stream.send_headers(headers + trailers(error.code, error.message, error.details), end=True)


def _parse(message_type: type[Message], payload: bytes) -> Message:
    try:
        return message_type.FromString(payload)
    except DecodeError as exc:
        raise GrpcError(StatusCode.INVALID_ARGUMENT, f"cannot parse {message_type.__name__}") from exc
