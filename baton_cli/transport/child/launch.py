"""One connector child, start to stop: credentials, bridge, session store, process, channel.

``launch_child`` returns a running ``ChildSession`` once the child answered GetMetadata (within a
bounded readiness wait), or raises with the child's own error line when it exited first (a bad
flag or a missing setting: our exit code then is INVALID_ARGUMENT). ``close`` stops everything
in reverse order and is safe to call more than once, from any exit path.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import grpc

from baton_cli.connector.api import ConnectorMetadata
from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, ConnectorError, StatusCode
from baton_cli.pb.c1.connector_wrapper.v1 import connector_wrapper_pb2
from baton_cli.pb.c1.ratelimit.v1 import ratelimit_pb2
from baton_cli.transport.child.connector import DEFAULT_CALL_TIMEOUT_SECONDS, ChildConnector
from baton_cli.transport.child.credentials import new_launch_credentials
from baton_cli.transport.child.process import ChildProcess
from baton_cli.transport.child.rate_limit import RateLimitInterceptor
from baton_cli.transport.child.services import connector_class
from baton_cli.transport.child.session_store import SessionStore, serve_session_store
from baton_cli.transport.child.tls_bridge import TLSBridge

READY_SECONDS = 5.0  # upstream's budget for the first successful dial
_RETRY_SECONDS = 0.05
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # pages of big resources; upstream's parent allows large messages


@dataclass(frozen=True, slots=True)
class ChildOptions:
    executable: Path
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    provisioning: bool = False
    ticketing: bool = False
    session_store: bool = True
    # The child's own limiter (subprocess.md §1); None: no config, the child's no-op limiter.
    rate_limit: ratelimit_pb2.RateLimiterConfig | None = None
    ready_seconds: float = READY_SECONDS
    call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS
    cancel: CancelToken | None = None

    def child_args(self) -> list[str]:
        extra = [
            flag
            for flag, on in (("--provisioning", self.provisioning), ("--ticketing", self.ticketing))
            if on
        ]
        return [*self.args, *(flag for flag in extra if flag not in self.args)]


class ChildSession:
    """The running child and everything serving it."""

    def __init__(self, options: ChildOptions) -> None:
        self.name = options.name or options.executable.name
        self.logger = logging.getLogger(f"baton_cli.child.{self.name}")
        self._closed = False
        self._cancel = options.cancel
        self.died = ""  # why the child exited by itself, once it has
        self._dir = Path(tempfile.mkdtemp(prefix="baton-child-"))  # 0700: our sockets and keys
        self._bridge = TLSBridge()
        self._session_server: grpc.Server | None = None
        self._channel: grpc.Channel | None = None
        self.process: ChildProcess | None = None
        self.session_store = SessionStore()
        try:
            self._start(options)
        except BaseException:
            self.close()
            raise

    def _start(self, options: ChildOptions) -> None:
        credentials = new_launch_credentials()
        session_port = 0
        if options.session_store:
            self._session_server = serve_session_store(self.session_store, self._dir / "session.sock")
            session_port = self._bridge.front(
                credentials.session_store_context(self._dir), self._dir / "session.sock"
            )

        def server_config(port: int) -> connector_wrapper_pb2.ServerConfig:
            config = connector_wrapper_pb2.ServerConfig(
                credential=credentials.server_credential(),
                listen_port=port,
                session_store_listen_port=session_port,
            )
            if options.rate_limit is not None:
                config.rate_limiter_config.CopyFrom(options.rate_limit)
            return config

        self.process = ChildProcess(
            options.executable, options.child_args(), options.env, server_config, self.logger
        )
        dial_path = self._dir / "dial.sock"
        self._bridge.dial(dial_path, self.process.port, credentials.client_context(self._dir))
        self._channel = grpc.insecure_channel(
            f"unix:{dial_path}",
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
                # The authority the child's certificate names; the bridge does the real check.
                ("grpc.default_authority", "127.0.0.1"),
            ],
        )
        calls: grpc.Channel = self._channel
        self.rate_limiter: RateLimitInterceptor | None = None
        if options.rate_limit is not None and options.rate_limit.WhichOneof("type") != "disabled":
            cancel = options.cancel
            self.rate_limiter = RateLimitInterceptor(
                self._channel, wait=cancel.wait if cancel is not None else None
            )
            calls = grpc.intercept_channel(self._channel, self.rate_limiter)
        probe = ChildConnector(calls, self.process, name=self.name, cancel=options.cancel)
        metadata = self._wait_ready(probe, options.ready_seconds)
        # With the services the child reports (tickets, actions, event feeds) as our Protocols.
        self.connector = connector_class(metadata)(
            calls,
            self.process,
            name=self.name,
            call_timeout=options.call_timeout,
            cancel=options.cancel,
            metadata=metadata,
        )
        threading.Thread(target=self._watch, name=f"{self.logger.name}-watch", daemon=True).start()

    def _watch(self) -> None:
        """Notices the child dying on its own: cancels our work so we stop instead of failing on."""
        assert self.process is not None
        self.process.wait(None)
        if not self._closed:
            self.died = f"connector {self.name} {self.process.exit_description()}"
            self.logger.error("%s", self.died)
            if self._cancel is not None:
                self._cancel.cancel(self.died)

    def _wait_ready(self, probe: ChildConnector, budget: float) -> ConnectorMetadata:
        """The child's metadata, once it answers within ``budget``."""
        assert self.process is not None
        deadline = time.monotonic() + budget
        while True:
            try:
                return probe.ping(timeout=max(0.1, deadline - time.monotonic()))
            except BatonError as exc:
                if self.process.returncode is not None or self.process.wait(0) is not None:
                    raise ConnectorError(
                        f"connector {self.name} {self.process.exit_description()}",
                        code=StatusCode.INVALID_ARGUMENT,
                    ) from None
                if exc.code not in (StatusCode.UNAVAILABLE, StatusCode.DEADLINE_EXCEEDED):
                    raise
                if time.monotonic() >= deadline:
                    hint = f"; last TLS error: {self._bridge.last_error}" if self._bridge.last_error else ""
                    raise ConnectorError(
                        f"connector {self.name} did not answer within {budget:g}s: {exc}{hint}",
                        code=StatusCode.UNAVAILABLE,
                    ) from None
                time.sleep(_RETRY_SECONDS)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._channel is not None:
            self._channel.close()
        if self.process is not None:
            self.process.stop()
        if self._session_server is not None:
            self._session_server.stop(grace=None)
        self._bridge.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> ChildSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def launch_child(options: ChildOptions) -> ChildSession:
    return ChildSession(options)
