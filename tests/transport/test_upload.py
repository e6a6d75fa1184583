"""UploadAsset through PlatformTaskSource (runner.md §6.2): stored and counted, retried on faults."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from baton_cli.core.task_source import Success
from baton_cli.emulator.faults import FaultPlan, FaultRule
from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.task_builders import sync_task
from baton_cli.errors import BatonError, NotFoundError, StatusCode
from baton_cli.transport.channel import open_platform_channel
from baton_cli.transport.client_credentials import parse_credentials
from baton_cli.transport.errors import PlatformError
from baton_cli.transport.platform import PlatformTaskSource, TokenProvider
from baton_cli.transport.token_source import AccessToken, TokenSource, token_error_code, token_url
from baton_cli.transport.upload import CHUNK_SIZE, upload_requests
from tests.emulator_support import ServerFactory, write_c1z
from tests.transport.conftest import SourceFactory


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def leased(server: EmulatorServer, source: PlatformTaskSource) -> str:
    task_id = server.queue.enqueue(sync_task())
    poll = source.get_task()
    assert poll.task is not None and poll.task.id == task_id
    return task_id


def test_small_c1z_is_stored_with_counts(
    server: EmulatorServer, source: PlatformTaskSource, tmp_path: Path
) -> None:
    path = write_c1z(tmp_path / "sync.c1z", resources=4)
    task_id = leased(server, source)
    source.upload(task_id, path)
    record = server.queue.get(task_id)
    assert record.upload_counts == {"resource_types": 1, "resources": 4, "entitlements": 0, "grants": 0}
    assert record.upload_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert Path(record.upload_path).read_bytes() == path.read_bytes()


def test_stream_is_metadata_chunks_eof(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = bytes(range(256)) * (2 * CHUNK_SIZE // 256 + 10)  # two full chunks and a remainder
    path.write_bytes(data)
    digest = hashlib.sha256(data).digest()
    messages = list(upload_requests("h", "t", path, digest))
    assert [m.WhichOneof("msg") for m in messages] == ["metadata", "data", "data", "data", "eof"]
    assert (messages[0].metadata.host_id, messages[0].metadata.task_id) == ("h", "t")
    assert [len(m.data.data) for m in messages[1:4]] == [CHUNK_SIZE, CHUNK_SIZE, len(data) - 2 * CHUNK_SIZE]
    assert messages[-1].eof.sha256_checksum == digest
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert [m.WhichOneof("msg") for m in upload_requests("h", "t", empty, b"")] == ["metadata", "eof"]


def test_multi_chunk_upload(server: EmulatorServer, source: PlatformTaskSource, tmp_path: Path) -> None:
    path = write_c1z(tmp_path / "big.c1z", resources=12_000, noise=True)
    assert path.stat().st_size > CHUNK_SIZE
    task_id = leased(server, source)
    source.upload(task_id, path)
    assert server.queue.get(task_id).upload_counts == {
        "resource_types": 1,
        "resources": 12_000,
        "entitlements": 0,
        "grants": 0,
    }


def test_cut_stream_is_retried_and_succeeds(
    make_server: ServerFactory, make_source: SourceFactory, tmp_path: Path
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("UploadAsset", cut_after_bytes=100_000, limit=1)]))
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    path = write_c1z(tmp_path / "s.c1z", resources=5000, noise=True)
    assert path.stat().st_size > 100_000
    task_id = leased(server, source)
    source.upload(task_id, path)
    assert sleeps.waits == [0.0]  # one failed attempt, retried at once
    assert server.queue.get(task_id).upload_counts is not None
    assert server.faults.fired_counts() == [("UploadAsset: cut after 100000 bytes @ 1", 1)]
    source.finish(task_id, Success())
    assert server.queue.get(task_id).state == "done"  # the main channel is unaffected by the cut


def test_third_attempt_succeeds_after_waits_of_0_and_1s(
    make_server: ServerFactory, make_source: SourceFactory, tmp_path: Path
) -> None:
    rule = FaultRule("UploadAsset", error=StatusCode.UNAVAILABLE, limit=2)
    server = make_server(faults=FaultPlan([rule]))
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    task_id = leased(server, source)
    source.upload(task_id, write_c1z(tmp_path / "s.c1z"))
    assert sleeps.waits == [0.0, 1.0]
    assert server.queue.get(task_id).upload_counts is not None


def test_random_outages_with_a_seed(
    make_server: ServerFactory, make_source: SourceFactory, tmp_path: Path
) -> None:
    rule = FaultRule("UploadAsset", error=StatusCode.UNAVAILABLE, rate=0.5)
    server = make_server(faults=FaultPlan([rule], seed=7))
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    path = write_c1z(tmp_path / "s.c1z")
    done = 0
    for _ in range(4):
        task_id = leased(server, source)
        try:
            source.upload(task_id, path)
        except PlatformError as exc:
            assert exc.code == StatusCode.UNAVAILABLE
        else:
            done += 1
            assert server.queue.get(task_id).upload_counts is not None
    fired = server.faults.fired_counts()[0][1]
    assert fired >= 1 and done >= 1  # seed 7: some attempts fail, uploads still get through
    assert len(sleeps.waits) >= 1


def test_three_failures_raise_the_last_error(
    make_server: ServerFactory, make_source: SourceFactory, tmp_path: Path
) -> None:
    rule = FaultRule("UploadAsset", error=StatusCode.UNAVAILABLE)
    server = make_server(faults=FaultPlan([rule]))
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    task_id = leased(server, source)
    with pytest.raises(PlatformError) as info:
        source.upload(task_id, write_c1z(tmp_path / "s.c1z"))
    assert info.value.code == StatusCode.UNAVAILABLE and info.value.method == "UploadAsset"
    assert sleeps.waits == [0.0, 1.0]
    assert server.faults.fired_counts()[0][1] == 3
    assert server.queue.get(task_id).upload_path == ""


def test_refused_upload_is_an_error(
    server: EmulatorServer, make_source: SourceFactory, tmp_path: Path
) -> None:
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    # Nobody holds this task: the platform refuses every attempt.
    task_id = server.queue.enqueue(sync_task())
    with pytest.raises(PlatformError) as info:
        source.upload(task_id, write_c1z(tmp_path / "s.c1z"))
    assert info.value.code == StatusCode.FAILED_PRECONDITION
    assert len(sleeps.waits) == 2


def test_missing_file_is_not_retried(
    server: EmulatorServer, make_source: SourceFactory, tmp_path: Path
) -> None:
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    with pytest.raises(NotFoundError):
        source.upload(leased(server, source), tmp_path / "missing.c1z")
    assert sleeps.waits == []


def test_unauthenticated_upload_refreshes_the_token(
    make_server: ServerFactory, make_source: SourceFactory, tmp_path: Path
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("UploadAsset", expire_token=True, limit=1)]))
    sleeps = Sleeps()
    source = make_source(server, sleep=sleeps)
    task_id = leased(server, source)
    source.upload(task_id, write_c1z(tmp_path / "s.c1z"))
    assert sleeps.waits == []  # not an upload retry: the same attempt, with a new token
    assert server.queue.get(task_id).upload_counts is not None


class RefreshFailsOnce:
    """Real tokens, except the first refresh after the platform refused one fails as given."""

    def __init__(self, inner: TokenProvider, error: BatonError) -> None:
        self._inner, self._error = inner, error
        self._pending: BatonError | None = None

    def token(self) -> AccessToken:
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error
        return self._inner.token()

    def invalidate(self, stale: AccessToken | None = None) -> None:
        self._inner.invalidate(stale)
        if self._error is not None:
            self._pending, self._error = self._error, None  # type: ignore[assignment]

    def close(self) -> None:
        self._inner.close()


def _source_with(server: EmulatorServer, tokens_wrapper: object, sleeps: Sleeps) -> PlatformTaskSource:
    creds = server.mint_credentials("refreshing")
    parsed = parse_credentials(creds.client_id, creds.client_secret)
    channel = open_platform_channel(
        parsed.client_id, {"BATON_C1_API_HOST": server.target}, ca_file=server.ca_file
    )
    tokens = TokenSource(parsed, url=token_url(server.target), verify=str(server.ca_file), timeout=10)
    wrapped = tokens_wrapper(tokens)  # type: ignore[operator]
    return PlatformTaskSource(channel, wrapped, host_id="transport-test-host", sleep=sleeps)


@pytest.mark.parametrize("status", [429, 503])
def test_a_transient_token_failure_during_upload_is_an_upload_retry(
    make_server: ServerFactory, tmp_path: Path, status: int
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("UploadAsset", expire_token=True, limit=1)]))
    sleeps = Sleeps()
    error = BatonError(f"failed to get token: {status}", code=token_error_code(status))
    with _source_with(server, lambda inner: RefreshFailsOnce(inner, error), sleeps) as source:
        task_id = leased(server, source)
        source.upload(task_id, write_c1z(tmp_path / "s.c1z"))
    assert sleeps.waits == [0.0]  # the second attempt, after upstream's 0 s wait
    assert server.queue.get(task_id).upload_counts is not None


def test_a_definitive_token_refusal_during_upload_fails_at_once(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("UploadAsset", expire_token=True, limit=1)]))
    sleeps = Sleeps()
    error = BatonError("failed to get token: 401 Unauthorized", code=token_error_code(401))
    with _source_with(server, lambda inner: RefreshFailsOnce(inner, error), sleeps) as source:
        task_id = leased(server, source)
        with pytest.raises(BatonError) as info:
            source.upload(task_id, write_c1z(tmp_path / "s.c1z"))
    assert info.value.code == StatusCode.UNAUTHENTICATED and sleeps.waits == []
