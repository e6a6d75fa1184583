"""A real emulator over TLS on 127.0.0.1, and task sources connected to it the way the CLI does."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from baton_cli.c1z import C1ZWriter
from baton_cli.emulator.credentials import MintedCredentials
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import resource_pb2
from baton_cli.transport.platform import PlatformTaskSource, connect_platform

HOST_ID = "transport-test-host"


class Clock:
    """Wall time a test can move forward; shared by the server and the token source."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


ServerFactory = Callable[..., EmulatorServer]
SourceFactory = Callable[..., PlatformTaskSource]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_server(tmp_path: Path, clock: Clock) -> Iterator[ServerFactory]:
    started: list[EmulatorServer] = []

    def make(**kwargs: Any) -> EmulatorServer:
        kwargs.setdefault("clock", clock)
        server = EmulatorServer(tmp_path / f"emu{len(started)}", "127.0.0.1", 0, **kwargs)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> EmulatorServer:
    return make_server()


@pytest.fixture
def creds(server: EmulatorServer) -> MintedCredentials:
    return server.mint_credentials("transport-test")


@pytest.fixture
def make_source() -> Iterator[SourceFactory]:
    """``connect_platform`` against a server (its CA trusted unless told otherwise), closed after."""
    opened: list[PlatformTaskSource] = []

    def make(
        server: EmulatorServer,
        creds: MintedCredentials | None = None,
        *,
        ca: bool = True,
        env: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> PlatformTaskSource:
        creds = creds or server.mint_credentials(f"client{len(opened)}")
        source = connect_platform(
            creds.client_id,
            creds.client_secret,
            ca_file=server.ca_file if ca else None,
            env={"BATON_HOST_ID": HOST_ID} if env is None else env,
            http_timeout=10,
            sleep=sleep,
        )
        opened.append(source)
        return source

    yield make
    for source in opened:
        source.close()


@pytest.fixture
def source(
    make_source: SourceFactory, server: EmulatorServer, creds: MintedCredentials
) -> PlatformTaskSource:
    return make_source(server, creds)


def write_c1z(path: Path, resources: int = 3, *, noise: bool = False) -> Path:
    """A small real c1z with one finished full sync; ``noise`` keeps it from compressing away."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with C1ZWriter.open(path) as writer:
        writer.start_sync("full")
        writer.put_resource_types([resource_pb2.ResourceType(id="user", display_name="User")])
        writer.put_resources(
            resource_pb2.Resource(
                id=resource_pb2.ResourceId(resource_type="user", resource=f"u{i}"),
                display_name=f"User {i}",
                description=secrets.token_hex(32) if noise else "",
            )
            for i in range(resources)
        )
        writer.end_sync()
        writer.save()
    return path
