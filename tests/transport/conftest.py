"""A real emulator over TLS on 127.0.0.1, and task sources connected to it the way the CLI does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baton_cli.emulator.credentials import MintedCredentials
from baton_cli.emulator.server import EmulatorServer
from baton_cli.transport.platform import PlatformTaskSource, connect_platform
from tests.emulator_support import Clock, ServerFactory, server_factory

HOST_ID = "transport-test-host"


SourceFactory = Callable[..., PlatformTaskSource]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_server(tmp_path: Path, clock: Clock) -> Iterator[ServerFactory]:
    yield from server_factory(lambda n: tmp_path / f"emu{n}", clock)


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
