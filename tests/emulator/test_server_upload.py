"""UploadAsset over grpcio: a good c1z is stored and counted; anything else leaves nothing."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from baton_cli.emulator.paths import uploads_dir
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2 as pb
from tests.emulator.conftest import HOST_ID, RPC_TIMEOUT, Client, upload_messages
from tests.emulator_support import write_c1z
from tests.external import fixture_path

Task = pb.Task


@pytest.fixture
def leased(server: EmulatorServer, client: Client) -> str:
    task_id = server.queue.enqueue(Task(sync_full=Task.SyncFullTask()))
    assert client.call("GetTask", pb.BatonServiceGetTaskRequest(host_id=HOST_ID)).task.id == task_id
    return task_id


@pytest.fixture
def c1z_bytes(tmp_path: Path) -> bytes:
    return write_c1z(tmp_path / "sync.c1z", resources=5).read_bytes()


def stored_files(server: EmulatorServer) -> list[Path]:
    root = uploads_dir(server.data_dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(
    client: Client, messages: list[pb.BatonServiceUploadAssetRequest]
) -> pb.BatonServiceUploadAssetResponse:
    response: pb.BatonServiceUploadAssetResponse = client.call("UploadAsset", iter(messages))
    return response


def refused(client: Client, messages: list[pb.BatonServiceUploadAssetRequest]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        upload(client, messages)
    return info.value


def test_good_upload_is_stored_and_counted(
    server: EmulatorServer, client: Client, leased: str, c1z_bytes: bytes
) -> None:
    assert upload(client, upload_messages(HOST_ID, leased, c1z_bytes)) == pb.BatonServiceUploadAssetResponse()
    record = server.queue.get(leased)
    assert record.upload_counts == {"resource_types": 1, "resources": 5, "entitlements": 0, "grants": 0}
    assert record.upload_sha256 == hashlib.sha256(c1z_bytes).hexdigest()
    assert Path(record.upload_path).read_bytes() == c1z_bytes
    assert stored_files(server) == [Path(record.upload_path)]


def test_large_upload_in_512k_chunks(
    server: EmulatorServer, client: Client, leased: str, tmp_path: Path
) -> None:
    data = write_c1z(tmp_path / "big.c1z", resources=20_000, noise=True).read_bytes()
    assert len(data) > 524_288  # at least two chunks, so flow control and framing are exercised
    upload(client, upload_messages(HOST_ID, leased, data))
    assert server.queue.get(leased).upload_counts == {
        "resource_types": 1,
        "resources": 20_000,
        "entitlements": 0,
        "grants": 0,
    }


def test_bad_hash_is_refused_and_nothing_is_stored(
    server: EmulatorServer, client: Client, leased: str, c1z_bytes: bytes
) -> None:
    error = refused(client, upload_messages(HOST_ID, leased, c1z_bytes, checksum=b"\0" * 32))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "sha256" in (error.details() or "")
    assert stored_files(server) == []
    assert server.queue.get(leased).upload_path == ""


def test_stream_without_eof_is_data_loss(
    server: EmulatorServer, client: Client, leased: str, c1z_bytes: bytes
) -> None:
    error = refused(client, upload_messages(HOST_ID, leased, c1z_bytes)[:-1])
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert stored_files(server) == []


def test_stream_cut_by_the_client_stores_nothing(
    server: EmulatorServer, client: Client, leased: str, c1z_bytes: bytes
) -> None:
    messages = upload_messages(HOST_ID, leased, c1z_bytes + b"\0" * 2_000_000)
    sent, release = threading.Event(), threading.Event()

    def stalled() -> Iterator[pb.BatonServiceUploadAssetRequest]:
        yield from messages[:3]
        sent.set()
        release.wait(RPC_TIMEOUT)  # holds the stream open until the call is cancelled

    future = client.stub.UploadAsset.future(stalled(), metadata=client.md, timeout=RPC_TIMEOUT)
    try:
        assert sent.wait(RPC_TIMEOUT)
        partial = uploads_dir(server.data_dir) / ".incoming"
        _wait_for(lambda: partial.exists() and any(partial.iterdir()))
        future.cancel()
        _wait_for(lambda: not any(partial.iterdir()))
    finally:
        release.set()
    assert stored_files(server) == []
    assert server.queue.get(leased).upload_path == ""


def test_not_a_c1z_is_refused(server: EmulatorServer, client: Client, leased: str) -> None:
    for junk in (b"hello world", b"C1ZF\x00" + b"\x01" * 64):
        error = refused(client, upload_messages(HOST_ID, leased, junk))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stored_files(server) == []


def test_debug_task_may_add_a_raw_log(server: EmulatorServer, client: Client, c1z_bytes: bytes) -> None:
    task_id = server.queue.enqueue(Task(sync_full=Task.SyncFullTask(), debug=True))
    client.call("GetTask", pb.BatonServiceGetTaskRequest(host_id=HOST_ID))
    upload(client, upload_messages(HOST_ID, task_id, c1z_bytes))
    upload(client, upload_messages(HOST_ID, task_id, b'{"level":"debug"}\n'))
    assert (uploads_dir(server.data_dir) / task_id / "debug.log").read_bytes() == b'{"level":"debug"}\n'
    assert server.queue.get(task_id).upload_counts is not None


def test_upload_for_another_hosts_task_fails_precondition(
    server: EmulatorServer, client: Client, leased: str, c1z_bytes: bytes
) -> None:
    error = refused(client, upload_messages("intruder", leased, c1z_bytes))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stored_files(server) == []


def test_out_of_order_messages_are_refused(
    server: EmulatorServer, client: Client, leased: str, c1z_bytes: bytes
) -> None:
    messages = upload_messages(HOST_ID, leased, c1z_bytes)
    for broken in (messages[1:], [messages[0], messages[-1], messages[1]], [messages[0], *messages]):
        assert refused(client, broken).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stored_files(server) == []


def _wait_for(condition: Callable[[], bool], timeout: float = RPC_TIMEOUT) -> None:
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        pause.wait(0.02)
    raise AssertionError("condition not met in time")


def test_v3_pebble_upload_is_accepted_and_counted(
    server: EmulatorServer, client: Client, leased: str
) -> None:
    """Upstream connectors write v3 by default; the platform accepts those uploads, and so do we."""
    data = fixture_path("file-template-sdk-v0.25.0-pebble.c1z").read_bytes()
    assert upload(client, upload_messages(HOST_ID, leased, data)) == pb.BatonServiceUploadAssetResponse()
    record = server.queue.get(leased)
    assert record.upload_counts == {"resource_types": 4, "resources": 15, "entitlements": 11, "grants": 40}
    assert Path(record.upload_path).read_bytes() == data
    assert stored_files(server) == [Path(record.upload_path)]


def test_damaged_v3_upload_is_refused(server: EmulatorServer, client: Client, leased: str) -> None:
    data = bytearray(fixture_path("file-template-sdk-v0.25.0-pebble.c1z").read_bytes())
    data[-40] ^= 0x01  # the frame index no longer matches its checksum
    error = refused(client, upload_messages(HOST_ID, leased, bytes(data)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "upload is not a readable c1z" in (error.details() or "") and "XXH64" in (error.details() or "")
    assert stored_files(server) == []
