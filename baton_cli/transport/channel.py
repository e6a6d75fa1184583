"""The TLS gRPC channel to the platform (auth.md §4): where it goes, what it trusts, who it says it is.

One long-lived channel serves the unary calls. Each channel gets its own subchannel pool, so a
connection one channel saw dropped (an upload stream cut mid-way) does not put the others into
grpc's reconnect backoff; ``fresh()`` gives a short-lived channel for calls that must start on
a new connection (runner.md §6.2: each upload attempt).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from baton_cli import __version__
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2_grpc
from baton_cli.transport.addresses import with_default_port
from baton_cli.transport.client_credentials import ClientId

API_HOST_ENV = "BATON_C1_API_HOST"
SSL_CERT_FILE_ENV = "SSL_CERT_FILE"

# grpc's reconnect backoff grows to 120 s by default; the runner has its own backoff, and a
# platform that is back must be reachable on the runner's next attempt, not minutes later.
_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.initial_reconnect_backoff_ms", 1000),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


def platform_host(client_id: ClientId, env: Mapping[str, str]) -> str:
    """``BATON_C1_API_HOST`` (optionally ``host:port``) when set, else the client id's token host.

    The same host serves the token endpoint and BatonService; only the JWT audience ignores
    the override.
    """
    return env.get(API_HOST_ENV, "").strip() or client_id.token_host


def grpc_target(host: str) -> str:
    return f"dns:///{with_default_port(host)}"


def user_agent(client_id: ClientId) -> str:
    return f"{client_id.name} baton_cli/{__version__}"


def ca_path(ca_file: Path | None, env: Mapping[str, str]) -> Path | None:
    """The CA bundle to trust instead of the system roots: ``ca_file``, else ``SSL_CERT_FILE``.

    OpenSSL-based clients read SSL_CERT_FILE by themselves; grpc (BoringSSL, own roots) does
    not, so it is honoured here explicitly for both the token call and the channel.
    """
    if ca_file is not None:
        return ca_file
    from_env = env.get(SSL_CERT_FILE_ENV, "")
    return Path(from_env) if from_env else None


def read_root_certificates(path: Path | None) -> bytes | None:
    if path is None:
        return None  # grpc's built-in roots
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"CA file {path} not found") from None
    except OSError as exc:
        raise UsageError(f"cannot read CA file {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UsageError(f"CA file {path} holds no PEM certificate")
    return data


class PlatformChannel:
    """A secure channel and its BatonService stub; thread-safe, as grpc channels are."""

    def __init__(self, target: str, *, root_certificates: bytes | None, user_agent: str) -> None:
        self.target = target
        self._credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        self._options = (*_CHANNEL_OPTIONS, ("grpc.primary_user_agent", user_agent))
        self._channel = self._open()
        self.stub = baton_pb2_grpc.BatonServiceStub(self._channel)

    def _open(self) -> Any:
        return grpc.secure_channel(self.target, self._credentials, options=self._options)

    @contextmanager
    def fresh(self) -> Iterator[Any]:
        """A stub on a new channel (new connection), closed when the block ends."""
        channel = self._open()
        try:
            yield baton_pb2_grpc.BatonServiceStub(channel)
        finally:
            channel.close()

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> PlatformChannel:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_platform_channel(
    client_id: ClientId, env: Mapping[str, str], *, ca_file: Path | None = None
) -> PlatformChannel:
    roots = read_root_certificates(ca_path(ca_file, env))
    return PlatformChannel(
        grpc_target(platform_host(client_id, env)), root_certificates=roots, user_agent=user_agent(client_id)
    )
