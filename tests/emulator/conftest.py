"""Shared pieces for the emulator server tests: a running server over real TLS, token helpers.

The client assertion is built here by hand from auth.md §3.2 (not with any project code that
signs), so the server is checked against the spec rather than against itself.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from baton_cli.emulator.credentials import MintedCredentials, private_key_from_secret
from baton_cli.emulator.jose import b64url_encode
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2, baton_pb2_grpc
from tests.emulator_support import Clock, ServerFactory, server_factory

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RPC_TIMEOUT = 10.0
HOST_ID = "test-host"
SERVICE = baton_pb2.DESCRIPTOR.services_by_name["BatonService"]


def assertion(
    client_id: str,
    key: Ed25519PrivateKey,
    *,
    aud: str | None = None,
    now: float | None = None,
    lifetime: int = 120,
    alg: str = "EdDSA",
    claims: dict[str, Any] | None = None,
) -> str:
    """A JWS compact client assertion exactly as auth.md §3.2 describes it."""
    token_host = client_id.split("@", 1)[1].split("/", 1)[0]
    audience = aud if aud is not None else token_host.rsplit(":", 1)[0]
    issued = int(time.time() if now is None else now)
    header = {"alg": alg, "nonce": secrets.token_hex(16)}
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "exp": issued + lifetime,
        "nbf": issued - 120,
        "iat": issued,
        **(claims or {}),
    }
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":"), sort_keys=sort).encode())
        for part, sort in ((header, True), (payload, False))
    )
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


def token_form(client_id: str, signed: str) -> dict[str, str]:
    return {
        "client_assertion": signed,
        "client_assertion_type": ASSERTION_TYPE,
        "client_id": client_id,
        "grant_type": "client_credentials",
    }


def post_token(server: EmulatorServer, form: dict[str, str]) -> requests.Response:
    with requests.Session() as session:
        return session.post(
            f"https://{server.target}/auth/v1/token",
            data=form,
            verify=str(server.ca_file),
            timeout=RPC_TIMEOUT,
        )


def fetch_token(server: EmulatorServer, creds: MintedCredentials, now: float | None = None) -> str:
    key = private_key_from_secret(creds.client_secret)
    response = post_token(server, token_form(creds.client_id, assertion(creds.client_id, key, now=now)))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _stub_paths_ok() -> bool:
    # The generated stub must dial the wire path (wire.md §1.1); see the report on gen_protos.py.
    source = Path(baton_pb2_grpc.__file__).read_text(encoding="utf-8")
    return f"'/{SERVICE.full_name}/Hello'" in source


class DescriptorStub:
    """BatonService callables built from the service descriptor: the wire paths of wire.md §1.1."""

    def __init__(self, channel: grpc.Channel) -> None:
        for method in SERVICE.methods:
            request = getattr(baton_pb2, method.input_type.name)
            response = getattr(baton_pb2, method.output_type.name)
            factory = channel.stream_unary if method.client_streaming else channel.unary_unary
            setattr(
                self,
                method.name,
                factory(
                    f"/{SERVICE.full_name}/{method.name}",
                    request_serializer=request.SerializeToString,
                    response_deserializer=response.FromString,
                ),
            )


@dataclass
class Client:
    """One grpcio channel to the emulator (secure, trusting the emulator's CA) and its stub."""

    channel: grpc.Channel
    stub: Any
    token: str

    @property
    def md(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")]

    def call(self, method: str, request: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("metadata", self.md)
        kwargs.setdefault("timeout", RPC_TIMEOUT)
        return getattr(self.stub, method)(request, **kwargs)


def open_channel(server: EmulatorServer, target: str | None = None) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=server.ca_file.read_bytes())
    # Each channel gets its own connection: grpcio otherwise shares one per target between channels,
    # and a connection a fault cut would then break the next test client's first call.
    options = [("grpc.use_local_subchannel_pool", 1)]
    return grpc.secure_channel(target or server.target, credentials, options=options)


def make_stub(channel: grpc.Channel) -> Any:
    return baton_pb2_grpc.BatonServiceStub(channel) if _stub_paths_ok() else DescriptorStub(channel)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "emu"


@pytest.fixture
def make_server(data_dir: Path, clock: Clock) -> Iterator[ServerFactory]:
    yield from server_factory(lambda _n: data_dir, clock)


@pytest.fixture
def server(make_server: ServerFactory) -> EmulatorServer:
    return make_server()


@pytest.fixture
def creds(server: EmulatorServer) -> MintedCredentials:
    return server.mint_credentials("test-connector")


@pytest.fixture
def make_client(server: EmulatorServer, creds: MintedCredentials) -> Iterator[Callable[[], Client]]:
    channels: list[grpc.Channel] = []

    def make() -> Client:
        channel = open_channel(server)
        channels.append(channel)
        return Client(channel, make_stub(channel), fetch_token(server, creds))

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture
def client(make_client: Callable[[], Client]) -> Client:
    return make_client()


ClientFactory = Callable[[EmulatorServer], Client]


@pytest.fixture
def make_client_for() -> Iterator[ClientFactory]:
    """Clients for servers a test starts itself, each with fresh credentials."""
    channels: list[grpc.Channel] = []

    def make(server: EmulatorServer) -> Client:
        channel = open_channel(server)
        channels.append(channel)
        creds = server.mint_credentials(f"client{len(channels)}")
        return Client(channel, make_stub(channel), fetch_token(server, creds))

    yield make
    for channel in channels:
        channel.close()


def upload_messages(
    host_id: str, task_id: str, data: bytes, *, checksum: bytes | None = None, chunk: int = 524_288
) -> list[baton_pb2.BatonServiceUploadAssetRequest]:
    """The UploadAsset stream of runner.md §6.2: metadata, 512 KiB chunks, eof with SHA-256."""
    req = baton_pb2.BatonServiceUploadAssetRequest
    messages = [req(metadata=req.UploadMetadata(host_id=host_id, task_id=task_id))]
    messages += [req(data=req.UploadData(data=data[i : i + chunk])) for i in range(0, len(data), chunk)]
    digest = checksum if checksum is not None else hashlib.sha256(data).digest()
    messages.append(req(eof=req.UploadEOF(sha256_checksum=digest)))
    return messages
