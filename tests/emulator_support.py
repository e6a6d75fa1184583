"""Test support shared by the emulator's and the transport's tests: a movable clock, servers, c1z files."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from baton_cli.c1z import C1ZWriter
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import resource_pb2

ServerFactory = Callable[..., EmulatorServer]


class Clock:
    """Wall time a test can move forward (lease and token expiry) without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def server_factory(default_dir: Callable[[int], Path], clock: Clock) -> Iterator[ServerFactory]:
    """Body of a fixture: start emulators on 127.0.0.1 (any free port), stop them all afterwards.

    ``default_dir(n)`` is the data directory of the n-th server unless ``data_dir=`` is given.
    """
    started: list[EmulatorServer] = []

    def make(**kwargs: Any) -> EmulatorServer:
        kwargs.setdefault("clock", clock)
        data_dir = kwargs.pop("data_dir", None) or default_dir(len(started))
        server = EmulatorServer(data_dir, "127.0.0.1", 0, **kwargs)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def write_c1z(path: Path, resources: int = 3, *, noise: bool = False) -> Path:
    """A small real c1z: one resource type, ``resources`` users, one finished full sync.

    ``noise`` gives users random descriptions, so the file does not compress away.
    """
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
