"""The generated gRPC stubs must call and serve the wire names, not our Python package path."""

from __future__ import annotations

import pkgutil
import re
from importlib import import_module
from pathlib import Path

import baton_cli.pb
from tests.external import require_shared


def _grpc_modules() -> list[Path]:
    found = []
    for info in pkgutil.walk_packages(baton_cli.pb.__path__, "baton_cli.pb."):
        if info.name.endswith("_pb2_grpc"):
            module = import_module(info.name)
            assert module.__file__ is not None
            found.append(Path(module.__file__))
    return found


def _subprocess_md() -> str:
    return " ".join(require_shared("spec/subprocess.md").read_text().split())


def test_stub_method_paths_are_the_wire_paths() -> None:
    wire_paths = set(re.findall(r"`(/c1\.[\w.]+/\w+)`", require_shared("spec/wire.md").read_text()))
    assert "/c1.connectorapi.baton.v1.BatonService/Hello" in wire_paths
    # The child's limiter is named by subprocess.md §3, not tabulated in wire.md.
    limiter = re.search(r"`(c1\.ratelimit\.v1\.RateLimiterService)` \(([\w, ]+)\)", _subprocess_md())
    assert limiter is not None
    wire_paths |= {f"/{limiter[1]}/{method.strip()}" for method in limiter[2].split(",")}
    modules = _grpc_modules()
    assert len(modules) >= 10
    used: set[str] = set()
    for path in modules:
        text = path.read_text()
        used |= set(re.findall(r"'(/c1\.[\w.]+/\w+)'", text))
        assert "'/baton_cli." not in text and "('baton_cli." not in text, (
            f"{path.name} names our package on the wire"
        )
    assert "/c1.connectorapi.baton.v1.BatonService/UploadAsset" in used
    assert used <= wire_paths


def test_generated_classes_report_their_real_module() -> None:
    from baton_cli.pb.c1.connector.v2 import grant_pb2

    assert grant_pb2.Grant.__module__ == "baton_cli.pb.c1.connector.v2.grant_pb2"
    assert grant_pb2.Grant.DESCRIPTOR.full_name == "c1.connector.v2.Grant"
