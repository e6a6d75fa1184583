"""``PlatformTaskSource``: the runner's ``TaskSource`` over BatonService (runner.md §2-§6).

Every call carries ``host_id`` and a bearer token. A call the server refuses as
UNAUTHENTICATED drops the cached token and is tried once more with a new one (a token revoked
or expired early must not cost a poll interval or a task). Other failures become
``PlatformError`` with the call's gRPC code; the runner decides about backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

import grpc
from google.protobuf import duration_pb2
from google.rpc import status_pb2

from baton_cli.core.task_source import Batch, Beat, Failure, Outcome, Poll, Success
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connector.v2 import connector_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2
from baton_cli.transport import hostinfo, upload
from baton_cli.transport.channel import PlatformChannel, ca_path, open_platform_channel, platform_host
from baton_cli.transport.client_credentials import parse_credentials
from baton_cli.transport.errors import PlatformError, from_rpc_error
from baton_cli.transport.token_source import AccessToken, TokenSource, token_url

log = logging.getLogger(__name__)

MAX_NEXT_POLL = 300.0  # runner.md §3: next_poll is clamped to [0, 5 min]
FINISH_TIMEOUT = 30.0  # runner.md §5: FinishTask's own deadline
# Upstream sets no deadline on these calls; a daemon must still never hang on one, and any
# platform answer comes well within this.
DEFAULT_RPC_TIMEOUT = 120.0

# Token-fetch failures an upload attempt may retry (auth.md §3.3 as classified in token_source).
TRANSIENT_TOKEN_CODES = frozenset(
    {StatusCode.UNAVAILABLE, StatusCode.RESOURCE_EXHAUSTED, StatusCode.DEADLINE_EXCEEDED}
)

_T = TypeVar("_T")
Metadata = tuple[tuple[str, str], ...]


class TokenProvider(Protocol):
    def token(self) -> AccessToken: ...

    def invalidate(self, stale: AccessToken | None = None) -> None: ...

    def close(self) -> None: ...


def _seconds(value: duration_pb2.Duration) -> float:
    return float(value.ToNanoseconds()) / 1e9


class PlatformTaskSource:
    """Thread-safe: the runner polls, heartbeats and finishes tasks from several threads."""

    def __init__(
        self,
        channel: PlatformChannel,
        tokens: TokenProvider,
        *,
        host_id: str,
        rpc_timeout: float = DEFAULT_RPC_TIMEOUT,
        finish_timeout: float = FINISH_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._channel = channel
        self._tokens = tokens
        self._host_id = host_id
        self._rpc_timeout = rpc_timeout
        self._finish_timeout = finish_timeout
        self._sleep = sleep
        # For /metrics: bytes of c1z files uploaded, and upload attempts that had to be repeated.
        self.upload_bytes = 0
        self.upload_retries = 0

    @property
    def host_id(self) -> str:
        return self._host_id

    @property
    def target(self) -> str:
        return self._channel.target

    @property
    def token_fetches(self) -> int:
        """Access tokens obtained so far (the first and every refresh)."""
        return int(getattr(self._tokens, "fetches", 0))

    # -- TaskSource ----------------------------------------------------------------------------

    def hello(self, metadata: connector_pb2.ConnectorMetadata, task_id: str = "") -> None:
        request = baton_pb2.BatonServiceHelloRequest(
            host_id=self._host_id,
            task_id=task_id,
            build_info=hostinfo.build_info(),
            os_info=hostinfo.os_info(),
            connector_metadata=metadata,
        )
        self._unary("Hello", request)

    def get_task(self) -> Poll:
        response = self._unary("GetTask", baton_pb2.BatonServiceGetTaskRequest(host_id=self._host_id))
        next_poll = _seconds(response.next_poll) if response.HasField("next_poll") else 0.0
        task: baton_pb2.Task | None = None
        # Absent or `none` means no work (runner.md §3); any other task, even one of a type we
        # do not know, is handed over so the runner can answer it "unsupported task type".
        if response.HasField("task") and response.task.WhichOneof("task_type") != "none":
            task = response.task
        return Poll(task=task, next_poll=min(max(next_poll, 0.0), MAX_NEXT_POLL))

    def get_tasks(self, page_size: int, known_task_ids: Sequence[str]) -> Batch:
        request = baton_pb2.BatonServiceGetTasksRequest(
            host_id=self._host_id, page_size=page_size, known_task_ids=list(known_task_ids)
        )
        response = self._unary("GetTasks", request)
        next_poll = _seconds(response.next_poll) if response.HasField("next_poll") else 0.0
        tasks = [task for task in response.tasks if task.WhichOneof("task_type") != "none"]
        return Batch(tasks=tasks, next_poll=min(max(next_poll, 0.0), MAX_NEXT_POLL))

    def heartbeat(self, task_id: str) -> Beat:
        request = baton_pb2.BatonServiceHeartbeatRequest(host_id=self._host_id, task_id=task_id)
        response = self._unary("Heartbeat", request)
        interval = _seconds(response.next_heartbeat) if response.HasField("next_heartbeat") else 0.0
        return Beat(cancelled=response.cancelled, next_heartbeat=interval if interval > 0 else None)

    def finish(self, task_id: str, outcome: Outcome) -> None:
        """Sent with its own deadline, waiting for a connection if the channel is reconnecting:
        this is the task's only result and it must get out even after a cut upload stream."""
        request = finish_request(self._host_id, task_id, outcome)
        self._unary("FinishTask", request, timeout=self._finish_timeout, wait_for_ready=True)

    def upload(
        self, task_id: str, path: Path, *, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Up to 3 attempts of the whole stream, each on a new connection (runner.md §6.2).

        A token that cannot be fetched for a transient reason (429, 5xx, network) costs an
        attempt like a cut stream; only a definitive refusal (UNAUTHENTICATED) ends at once.
        """
        last: BatonError | None = None
        for attempt in range(upload.ATTEMPTS):
            if attempt:
                wait = upload.WAITS[attempt - 1]
                log.warning(
                    "upload for task %s failed (attempt %d of %d), retrying in %gs: %s",
                    task_id,
                    attempt,
                    upload.ATTEMPTS,
                    wait,
                    last,
                )
                self._sleep(wait)
            if attempt:
                self.upload_retries += 1
            try:
                self._upload_once(task_id, path, on_progress)
                self.upload_bytes += path.stat().st_size
                return
            except PlatformError as exc:
                last = exc
            except BatonError as exc:  # from the token source
                if exc.code not in TRANSIENT_TOKEN_CODES:
                    raise
                last = exc
        assert last is not None  # the loop ran at least once and did not return
        raise last

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        self._channel.close()
        self._tokens.close()

    def __enter__(self) -> PlatformTaskSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- calls ---------------------------------------------------------------------------------

    def _upload_once(
        self, task_id: str, path: Path, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        # Hashed on every attempt: a file rewritten between attempts is sent with its own hash.
        digest = upload.file_sha256(path)
        with self._channel.fresh() as stub:

            def call(metadata: Metadata) -> Any:
                stream = upload.upload_requests(self._host_id, task_id, path, digest, on_progress)
                return stub.UploadAsset(stream, metadata=metadata)

            self._authorized("UploadAsset", call)

    def _unary(
        self, method: str, request: Any, *, timeout: float | None = None, wait_for_ready: bool = False
    ) -> Any:
        rpc = getattr(self._channel.stub, method)
        deadline = self._rpc_timeout if timeout is None else timeout

        def call(metadata: Metadata) -> Any:
            return rpc(request, metadata=metadata, timeout=deadline, wait_for_ready=wait_for_ready)

        return self._authorized(method, call)

    def _authorized(self, method: str, call: Callable[[Metadata], _T]) -> _T:
        token = self._tokens.token()
        try:
            return call((("authorization", token.authorization),))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise from_rpc_error(exc, method) from exc
            log.info("platform refused the access token for %s; fetching a new one", method)
        self._tokens.invalidate(token)
        token = self._tokens.token()
        try:
            return call((("authorization", token.authorization),))
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, method) from exc


NON_RETRYABLE_MARKER = "task failed and is non-retryable"  # upstream's ErrTaskNonRetryable


def finish_request(host_id: str, task_id: str, outcome: Outcome) -> baton_pb2.BatonServiceFinishTaskRequest:
    """FinishTask as runner.md §5 builds it: ``success`` alone, or ``error`` plus ``status``."""
    request = baton_pb2.BatonServiceFinishTaskRequest(host_id=host_id, task_id=task_id)
    if isinstance(outcome, Success):
        request.success.SetInParent()  # an empty success is still the chosen oneof member
        if outcome.response is not None:
            request.success.response.CopyFrom(outcome.response)
        request.success.annotations.extend(outcome.annotations)
        return request
    assert isinstance(outcome, Failure)
    request.error.non_retryable = outcome.non_retryable
    request.error.annotations.extend(outcome.annotations)
    request.error.SetInParent()
    # A failure reported as OK would read as success on the platform's side; UNKNOWN is what
    # the SDK reports for an error that carries no status.
    code = outcome.code if outcome.code != StatusCode.OK else StatusCode.UNKNOWN
    message = outcome.message
    if outcome.non_retryable and not message.endswith(NON_RETRYABLE_MARKER):
        # Upstream marks a failure non-retryable by joining this error to it, so its text is the
        # message's last line (runner.md §5); the platform sees the same text from us.
        message = f"{message}\n{NON_RETRYABLE_MARKER}"
    status = status_pb2.Status(code=int(code), message=message, details=outcome.details)
    request.status.CopyFrom(status)
    return request


def connect_platform(
    client_id: str,
    client_secret: str,
    *,
    ca_file: Path | None,
    env: Mapping[str, str],
    http_timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> PlatformTaskSource:
    """Build the daemon's task source; nothing is contacted until the first call (runner.md §2).

    Bad credentials or an unreadable CA file raise here, as ``UsageError`` / ``NotFoundError``.
    ``http_timeout`` bounds the token call; ``sleep`` is the wait between upload attempts.
    """
    credentials = parse_credentials(client_id, client_secret)
    host = platform_host(credentials.client_id, env)
    bundle = ca_path(ca_file, env)
    channel = open_platform_channel(credentials.client_id, env, ca_file=ca_file)
    try:
        tokens = TokenSource(
            credentials,
            url=token_url(host),
            verify=str(bundle) if bundle is not None else True,
            timeout=http_timeout,
        )
    except BaseException:
        channel.close()
        raise
    return PlatformTaskSource(channel, tokens, host_id=hostinfo.host_id(env), sleep=sleep)
