"""PlatformTaskSource against a running emulator over TLS: every BatonService call the runner makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import any_pb2, struct_pb2

from baton_cli.core.task_source import Failure, Success, TaskSource
from baton_cli.emulator.credentials import MintedCredentials
from baton_cli.emulator.faults import FaultPlan, FaultRule
from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.service import Pacing
from baton_cli.emulator.task_builders import hello_task, sync_task
from baton_cli.errors import BatonError, StatusCode, UsageError
from baton_cli.pb.c1.connector.v2 import connector_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2
from baton_cli.transport.channel import PlatformChannel, grpc_target, user_agent
from baton_cli.transport.client_credentials import parse_credentials
from baton_cli.transport.errors import PlatformError
from baton_cli.transport.platform import PlatformTaskSource, connect_platform, finish_request
from baton_cli.transport.token_source import TokenSource, token_url
from tests.emulator_support import ServerFactory
from tests.transport.conftest import HOST_ID, SourceFactory

Task = baton_pb2.Task
METADATA = connector_pb2.ConnectorMetadata(display_name="Transport Test", description="for tests")


def packed(**fields: str) -> any_pb2.Any:
    value = any_pb2.Any()
    value.Pack(struct_pb2.Struct(fields={k: struct_pb2.Value(string_value=v) for k, v in fields.items()}))
    return value


def lease(server: EmulatorServer, source: PlatformTaskSource, task: baton_pb2.Task | None = None) -> str:
    task_id = server.queue.enqueue(task or sync_task())
    poll = source.get_task()
    assert poll.task is not None and poll.task.id == task_id
    return task_id


def test_is_a_task_source(source: PlatformTaskSource) -> None:
    checked: TaskSource = source
    assert checked.host_id == HOST_ID


def test_hello_with_metadata(server: EmulatorServer, source: PlatformTaskSource) -> None:
    source.hello(METADATA)
    (host,) = server.queue.hosts()
    assert host.host_id == HOST_ID
    assert host.connector_name == "Transport Test"
    assert "baton_cli" in host.build_summary


def test_hello_answering_a_hello_task_finishes_it(server: EmulatorServer, source: PlatformTaskSource) -> None:
    task_id = lease(server, source, hello_task())
    source.hello(METADATA, task_id=task_id)
    record = server.queue.get(task_id)
    assert (record.state, record.status_code) == ("done", 0)


def test_get_task_returns_the_task_then_none(server: EmulatorServer, source: PlatformTaskSource) -> None:
    task_id = server.queue.enqueue(sync_task(skip_grants=True))
    poll = source.get_task()
    assert poll.task is not None and poll.task.id == task_id
    assert poll.task.WhichOneof("task_type") == "sync_full" and poll.task.sync_full.skip_grants
    assert poll.next_poll == pytest.approx(1.0)  # the emulator's default pacing
    empty = source.get_task()
    assert empty.task is None
    assert server.queue.get(task_id).host_id == HOST_ID


@pytest.mark.parametrize(("sent", "seen"), [(1000.0, 300.0), (0.25, 0.25), (0.0, 0.0)])
def test_next_poll_is_clamped(
    make_server: ServerFactory, make_source: SourceFactory, sent: float, seen: float
) -> None:
    source = make_source(make_server(pacing=Pacing(next_poll=sent)))
    assert source.get_task().next_poll == pytest.approx(seen)


def test_heartbeat_and_cancellation(make_server: ServerFactory, make_source: SourceFactory) -> None:
    server = make_server(pacing=Pacing(next_heartbeat=7.5))
    source = make_source(server)
    task_id = lease(server, source)
    beat = source.heartbeat(task_id)
    assert (beat.cancelled, beat.next_heartbeat) == (False, 7.5)
    server.queue.cancel(task_id)
    assert source.heartbeat(task_id).cancelled


def test_heartbeat_without_interval_is_none(make_server: ServerFactory, make_source: SourceFactory) -> None:
    server = make_server(pacing=Pacing(next_heartbeat=0))
    source = make_source(server)
    assert source.heartbeat(lease(server, source)).next_heartbeat is None


def test_finish_success_is_recorded(server: EmulatorServer, source: PlatformTaskSource) -> None:
    task_id = lease(server, source)
    response, note = packed(result="granted"), packed(note="n1")
    source.finish(task_id, Success(response=response, annotations=[note]))
    record = server.queue.get(task_id)
    assert (record.state, record.status_code, record.non_retryable) == ("done", 0, False)
    result = server.queue.result(task_id)
    assert result.response == response.SerializeToString()
    assert result.annotations == [note.SerializeToString()]


def test_finish_empty_success(server: EmulatorServer, source: PlatformTaskSource) -> None:
    task_id = lease(server, source)
    source.finish(task_id, Success())
    assert server.queue.get(task_id).state == "done"
    assert server.queue.result(task_id).response == b""


def test_finish_failure_is_recorded(server: EmulatorServer, source: PlatformTaskSource) -> None:
    task_id = lease(server, source)
    failure = Failure(
        code=int(StatusCode.FAILED_PRECONDITION),
        message="provisioning is not enabled",
        non_retryable=True,
        annotations=[packed(why="x")],
    )
    source.finish(task_id, failure)
    record = server.queue.get(task_id)
    assert (record.state, record.status_code) == ("failed", int(StatusCode.FAILED_PRECONDITION))
    # Upstream joins its non-retryable marker to the error, so the text ends with it (runner.md §5).
    assert record.status_message == "provisioning is not enabled\ntask failed and is non-retryable"
    assert record.non_retryable
    assert server.queue.result(task_id).annotations == [packed(why="x").SerializeToString()]


def test_finish_request_shape() -> None:
    detail = packed(reason="grant_cancelled")
    request = finish_request("h", "t", Failure(code=9, message="m", details=[detail]))
    assert request.WhichOneof("final_state") == "error"
    assert (request.status.code, request.status.message) == (9, "m")
    assert list(request.status.details) == [detail]
    assert not request.error.HasField("response")
    ok = finish_request("h", "t", Success())
    assert ok.WhichOneof("final_state") == "success" and not ok.HasField("status")
    # Only a non-retryable failure carries upstream's marker line, and only once.
    retryable = finish_request("h", "t", Failure(code=14, message="m"))
    assert retryable.status.message == "m"
    marked = finish_request("h", "t", Failure(code=2, message="m", non_retryable=True))
    assert marked.status.message == "m\ntask failed and is non-retryable"
    again = Failure(code=2, message=marked.status.message, non_retryable=True)
    assert finish_request("h", "t", again).status.message == marked.status.message
    # A failure must never read as OK on the platform's side.
    assert finish_request("h", "t", Failure(code=0, message="?")).status.code == int(StatusCode.UNKNOWN)


def test_finish_has_its_own_deadline(make_server: ServerFactory) -> None:
    server = make_server(faults=FaultPlan([FaultRule("FinishTask", latency=3.0)]))
    creds = server.mint_credentials("slow")
    parsed = parse_credentials(creds.client_id, creds.client_secret)
    channel = PlatformChannel(
        grpc_target(server.target),
        root_certificates=server.ca_file.read_bytes(),
        user_agent=user_agent(parsed.client_id),
    )
    tokens = TokenSource(parsed, url=token_url(server.target), verify=str(server.ca_file), timeout=10)
    # Only the finish deadline (0.3 s) is shorter than the injected 3 s: the general one is 600 s.
    with PlatformTaskSource(channel, tokens, host_id=HOST_ID, finish_timeout=0.3, rpc_timeout=600) as source:
        task_id = lease(server, source)
        with pytest.raises(PlatformError) as info:
            source.finish(task_id, Success())
        assert info.value.code == StatusCode.DEADLINE_EXCEEDED


def test_unauthenticated_answer_refreshes_the_token_once(
    make_server: ServerFactory, make_source: SourceFactory
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("GetTask", expire_token=True, limit=1)]))
    source = make_source(server)
    source.hello(METADATA)  # token #1
    assert source.get_task().task is None  # refused, then retried with token #2
    assert "token issued" in " ".join(e.text for e in server.events.last(50))
    issued = [e for e in server.events.last(50) if "token issued" in e.text]
    assert len(issued) == 2


def test_persistent_unauthenticated_is_raised_after_one_retry(
    make_server: ServerFactory, make_source: SourceFactory
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("GetTask", error=StatusCode.UNAUTHENTICATED)]))
    source = make_source(server)
    with pytest.raises(PlatformError) as info:
        source.get_task()
    assert info.value.code == StatusCode.UNAUTHENTICATED
    issued = [e for e in server.events.last(50) if "token issued" in e.text]
    assert len(issued) == 2


@pytest.mark.parametrize("status", [StatusCode.RESOURCE_EXHAUSTED, StatusCode.UNAVAILABLE])
def test_throttling_and_outages_surface_with_their_codes(
    make_server: ServerFactory, make_source: SourceFactory, status: StatusCode
) -> None:
    rule = FaultRule("GetTask", error=status, retry_after=2.5, limit=1)
    source = make_source(make_server(faults=FaultPlan([rule])))
    with pytest.raises(PlatformError) as info:
        source.get_task()
    error = info.value
    assert isinstance(error, BatonError) and error.code == status and error.method == "GetTask"
    assert str(error).startswith(f"platform GetTask failed: {status.name}")
    assert error.retry_after == (2.5 if status is StatusCode.RESOURCE_EXHAUSTED else None)
    assert source.get_task().task is None  # the limit is spent


def test_wrong_credentials_fail_hello_as_unauthenticated(
    server: EmulatorServer, make_source: SourceFactory
) -> None:
    real, impostor = server.mint_credentials("real"), server.mint_credentials("impostor")
    source = make_source(server, MintedCredentials(real.client_id, impostor.client_secret))
    with pytest.raises(BatonError) as info:
        source.hello(METADATA)
    assert info.value.code == StatusCode.UNAUTHENTICATED
    assert impostor.client_secret.rsplit(":", 1)[-1] not in str(info.value)


def test_without_the_ca_the_token_call_is_unavailable(
    server: EmulatorServer, make_source: SourceFactory
) -> None:
    source = make_source(server, ca=False, env={"BATON_HOST_ID": HOST_ID})
    with pytest.raises(BatonError) as info:
        source.hello(METADATA)
    assert info.value.code == StatusCode.UNAVAILABLE


def test_without_the_ca_the_grpc_channel_is_unavailable(
    server: EmulatorServer, creds: MintedCredentials
) -> None:
    parsed = parse_credentials(creds.client_id, creds.client_secret)
    # Tokens come from a client that trusts the CA; the channel uses the default roots only.
    tokens = TokenSource(parsed, url=token_url(server.target), verify=str(server.ca_file), timeout=10)
    channel = PlatformChannel(grpc_target(server.target), root_certificates=None, user_agent="t baton_cli/0")
    # A deadline this long would answer DEADLINE_EXCEEDED: UNAVAILABLE is the handshake failing.
    with PlatformTaskSource(channel, tokens, host_id=HOST_ID, rpc_timeout=600) as source:
        with pytest.raises(PlatformError) as info:
            source.get_task()
        assert info.value.code == StatusCode.UNAVAILABLE
    assert server.queue.hosts() == []  # nothing reached the service


def test_ssl_cert_file_is_honoured(server: EmulatorServer, make_source: SourceFactory) -> None:
    env = {"BATON_HOST_ID": HOST_ID, "SSL_CERT_FILE": str(server.ca_file)}
    source = make_source(server, ca=False, env=env)
    source.hello(METADATA)
    assert server.queue.hosts()[0].host_id == HOST_ID


def test_host_id_from_env(server: EmulatorServer, make_source: SourceFactory) -> None:
    source = make_source(server, env={"BATON_HOST_ID": ""})
    assert source.host_id == "baton-sdk"
    source.get_task()
    assert [h.host_id for h in server.queue.hosts()] == ["baton-sdk"]


def test_connect_platform_checks_its_inputs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--client-id"):
        connect_platform("nope", "secret-token:x:v1:abc", ca_file=None, env={})
    with pytest.raises(UsageError, match="--client-secret"):
        connect_platform("n@h.example/pcc", "nope", ca_file=None, env={})


def test_connect_platform_contacts_nothing(tmp_path: Path) -> None:
    # A host that does not resolve: building the source must still succeed (runner.md §2.1).
    from baton_cli.emulator.credentials import mint

    creds, _ = mint("offline", "nowhere.invalid", 443)
    with connect_platform(creds.client_id, creds.client_secret, ca_file=None, env={}) as source:
        assert source.target == "dns:///nowhere.invalid:443"
