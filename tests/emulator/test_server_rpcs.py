"""Every BatonService RPC through grpcio's client, with a bearer token, over TLS."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import status_pb2

from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.service import Pacing
from baton_cli.pb.c1.connector.v2 import connector_pb2, grant_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2 as pb
from tests.emulator.conftest import HOST_ID, Client, ClientFactory
from tests.emulator_support import Clock, ServerFactory

Task = pb.Task


def sync_task() -> Task:
    return Task(sync_full=Task.SyncFullTask())


def code_of(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    code: grpc.StatusCode = info.value.code()
    return code


def get_task(client: Client, host_id: str = HOST_ID) -> pb.BatonServiceGetTaskResponse:
    response: pb.BatonServiceGetTaskResponse = client.call(
        "GetTask", pb.BatonServiceGetTaskRequest(host_id=host_id)
    )
    return response


def heartbeat(client: Client, task_id: str, host_id: str = HOST_ID) -> pb.BatonServiceHeartbeatResponse:
    request = pb.BatonServiceHeartbeatRequest(host_id=host_id, task_id=task_id)
    response: pb.BatonServiceHeartbeatResponse = client.call("Heartbeat", request)
    return response


def test_hello_records_the_host(server: EmulatorServer, client: Client) -> None:
    request = pb.BatonServiceHelloRequest(
        host_id=HOST_ID,
        build_info=pb.BatonServiceHelloRequest.BuildInfo(
            lang_version="3.11", package="baton_cli", package_version="0.1.0"
        ),
        os_info=pb.BatonServiceHelloRequest.OSInfo(hostname="box", os="linux", kernel_arch="amd64"),
        connector_metadata=connector_pb2.ConnectorMetadata(display_name="Demo"),
    )
    assert client.call("Hello", request) == pb.BatonServiceHelloResponse()
    [host] = server.queue.hosts()
    assert (host.host_id, host.connector_name) == (HOST_ID, "Demo")
    assert "baton_cli 0.1.0" in host.build_summary


def test_hello_answering_a_hello_task_finishes_it(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(Task(hello=Task.HelloTask()))
    assert get_task(client).task.id == task_id
    client.call("Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID, task_id=task_id))
    assert server.queue.get(task_id).state == "done"


def test_get_task_without_work_is_empty_but_paced(
    make_server: ServerFactory, make_client_for: ClientFactory
) -> None:
    server = make_server(pacing=Pacing(next_poll=2.5, next_heartbeat=7))
    response = get_task(make_client_for(server))
    assert not response.HasField("task")
    assert response.next_poll.ToNanoseconds() == 2_500_000_000
    assert response.next_heartbeat.seconds == 7


def test_get_task_leases_the_oldest_task(server: EmulatorServer, client: Client) -> None:
    first = server.queue.enqueue(sync_task())
    server.queue.enqueue(sync_task())
    response = get_task(client)
    assert (response.task.id, response.task.WhichOneof("task_type")) == (first, "sync_full")
    assert response.task.status == Task.STATUS_RUNNING
    record = server.queue.get(first)
    assert (record.state, record.host_id, record.attempts) == ("running", HOST_ID, 1)
    assert response.next_heartbeat.seconds == 10


def test_get_tasks_hands_out_a_page(server: EmulatorServer, client: Client) -> None:
    ids = [server.queue.enqueue(sync_task()) for _ in range(3)]
    page = client.call("GetTasks", pb.BatonServiceGetTasksRequest(host_id=HOST_ID, page_size=2))
    assert [t.id for t in page.tasks] == ids[:2]
    assert page.next_poll.seconds == 1
    rest = client.call("GetTasks", pb.BatonServiceGetTasksRequest(host_id=HOST_ID, page_size=5))
    assert [t.id for t in rest.tasks] == ids[2:]
    bad = pb.BatonServiceGetTasksRequest(host_id=HOST_ID, page_size=0)
    assert code_of(lambda: client.call("GetTasks", bad)) == grpc.StatusCode.INVALID_ARGUMENT


def test_heartbeat_reports_cancellation(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(sync_task())
    get_task(client)
    first = heartbeat(client, task_id)
    assert (first.cancelled, first.next_heartbeat.seconds) == (False, 10)
    server.queue.cancel(task_id)
    assert heartbeat(client, task_id).cancelled


def test_batch_heartbeat_lists_cancelled_ids(server: EmulatorServer, client: Client) -> None:
    keep, stop = server.queue.enqueue(sync_task()), server.queue.enqueue(sync_task())
    client.call("GetTasks", pb.BatonServiceGetTasksRequest(host_id=HOST_ID, page_size=2))
    server.queue.cancel(stop)
    response = client.call(
        "Heartbeat", pb.BatonServiceHeartbeatRequest(host_id=HOST_ID, task_ids=[keep, stop])
    )
    assert list(response.cancelled_task_ids) == [stop]


def test_calls_for_someone_elses_task_fail_precondition(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(sync_task())
    get_task(client)
    finish = pb.BatonServiceFinishTaskRequest(
        host_id="intruder", task_id=task_id, success=pb.BatonServiceFinishTaskRequest.Success()
    )
    assert code_of(lambda: heartbeat(client, task_id, "intruder")) == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(lambda: client.call("FinishTask", finish)) == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(lambda: heartbeat(client, "A" * 27)) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: heartbeat(client, "not-a-ksuid")) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: get_task(client, host_id="")) == grpc.StatusCode.INVALID_ARGUMENT


def test_finish_task_success_records_response_and_annotations(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(Task(grant=Task.GrantTask()))
    get_task(client)
    response = any_pb2.Any()
    response.Pack(grant_pb2.GrantManagerServiceGrantResponse())
    note = any_pb2.Any()
    note.Pack(status_pb2.Status(message="note"))
    request = pb.BatonServiceFinishTaskRequest(
        host_id=HOST_ID,
        task_id=task_id,
        success=pb.BatonServiceFinishTaskRequest.Success(response=response, annotations=[note]),
    )
    assert client.call("FinishTask", request) == pb.BatonServiceFinishTaskResponse()
    record = server.queue.get(task_id)
    assert (record.state, record.status_code) == ("done", 0)
    result = server.queue.result(task_id)
    assert any_pb2.Any.FromString(result.response) == response
    assert [any_pb2.Any.FromString(a) for a in result.annotations] == [note]
    # A repeat from the same host (its answer was lost) is accepted and changes nothing ...
    repeat = pb.BatonServiceFinishTaskRequest()
    repeat.CopyFrom(request)
    repeat.success.annotations.pop()
    assert client.call("FinishTask", repeat) == pb.BatonServiceFinishTaskResponse()
    assert [any_pb2.Any.FromString(a) for a in server.queue.result(task_id).annotations] == [note]
    # ... one from another host is refused.
    other = pb.BatonServiceFinishTaskRequest()
    other.CopyFrom(request)
    other.host_id = "other-host"
    assert code_of(lambda: client.call("FinishTask", other)) == grpc.StatusCode.FAILED_PRECONDITION


def test_finish_task_error_records_status_and_non_retryable(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(Task(grant=Task.GrantTask()))
    get_task(client)
    request = pb.BatonServiceFinishTaskRequest(
        host_id=HOST_ID,
        task_id=task_id,
        status=status_pb2.Status(code=9, message="provisioning is not enabled"),
        error=pb.BatonServiceFinishTaskRequest.Error(non_retryable=True),
    )
    client.call("FinishTask", request)
    record = server.queue.get(task_id)
    assert (record.state, record.status_code, record.non_retryable) == ("failed", 9, True)
    assert record.status_message == "provisioning is not enabled"


def test_finish_task_needs_a_final_state(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(sync_task())
    get_task(client)
    request = pb.BatonServiceFinishTaskRequest(host_id=HOST_ID, task_id=task_id)
    assert code_of(lambda: client.call("FinishTask", request)) == grpc.StatusCode.INVALID_ARGUMENT


def test_start_debugging_answers(client: Client) -> None:
    assert client.call("StartDebugging", pb.StartDebuggingRequest()).status is True


def test_unknown_method_is_unimplemented(client: Client) -> None:
    call = client.channel.unary_unary(
        "/c1.connectorapi.baton.v1.BatonService/Nope",
        request_serializer=pb.StartDebuggingRequest.SerializeToString,
        response_deserializer=pb.StartDebuggingResponse.FromString,
    )
    assert code_of(lambda: call(pb.StartDebuggingRequest(), metadata=client.md, timeout=10)) == (
        grpc.StatusCode.UNIMPLEMENTED
    )


def test_expired_lease_is_delivered_again(
    make_server: ServerFactory, clock: Clock, make_client_for: ClientFactory
) -> None:
    server = make_server(lease_seconds=5)
    client = make_client_for(server)
    task_id = server.queue.enqueue(sync_task())
    assert get_task(client, "host-a").task.id == task_id
    heartbeat(client, task_id, "host-a")
    clock.advance(4)
    assert not get_task(client, "host-b").HasField("task")  # heartbeat kept the lease alive
    clock.advance(6)
    again = get_task(client, "host-b")
    assert again.task.id == task_id
    assert server.queue.get(task_id).attempts == 2
    # The old holder lost it: its heartbeat is refused, the new holder's works.
    assert code_of(lambda: heartbeat(client, task_id, "host-a")) == grpc.StatusCode.FAILED_PRECONDITION
    assert not heartbeat(client, task_id, "host-b").cancelled


def test_two_pollers_never_get_the_same_task(
    server: EmulatorServer, make_client: Callable[[], Client]
) -> None:
    ids = {server.queue.enqueue(sync_task()) for _ in range(40)}
    got: dict[str, list[str]] = {"host-a": [], "host-b": []}
    errors: list[BaseException] = []

    def poll(host_id: str, client: Client) -> None:
        try:
            while (response := get_task(client, host_id)).HasField("task"):
                got[host_id].append(response.task.id)
        except BaseException as exc:  # surfaced below: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(host, make_client())) for host in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    delivered = got["host-a"] + got["host-b"]
    assert len(delivered) == len(set(delivered)) == 40
    assert set(delivered) == ids


def test_restart_keeps_the_queue(
    make_server: ServerFactory, data_dir: Path, make_client_for: ClientFactory
) -> None:
    first = make_server()
    leased, pending = first.queue.enqueue(sync_task()), first.queue.enqueue(sync_task())
    assert get_task(make_client_for(first)).task.id == leased
    first.stop()

    second = make_server()
    client = make_client_for(second)
    assert second.queue.get(leased).state == "running"
    assert get_task(client, "other-host").task.id == pending
    heartbeat(client, leased)  # the original holder carries on after the restart
    finish = pb.BatonServiceFinishTaskRequest(
        host_id=HOST_ID, task_id=leased, success=pb.BatonServiceFinishTaskRequest.Success()
    )
    client.call("FinishTask", finish)
    assert second.queue.get(leased).state == "done"
