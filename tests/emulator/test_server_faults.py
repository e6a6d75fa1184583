"""Injected faults: each kind as a grpcio (or HTTPS) client observes it, and how rules are read."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from baton_cli.emulator.credentials import private_key_from_secret
from baton_cli.emulator.faults import FaultPlan, FaultRule, build_plan, load_fault_file, parse_fault_flag
from baton_cli.emulator.paths import uploads_dir
from baton_cli.emulator.server import EmulatorServer
from baton_cli.errors import StatusCode, UsageError
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2 as pb
from tests.emulator.conftest import (
    HOST_ID,
    Client,
    ClientFactory,
    assertion,
    fetch_token,
    post_token,
    token_form,
    upload_messages,
)
from tests.emulator_support import ServerFactory, write_c1z

Task = pb.Task
GET_TASK = pb.BatonServiceGetTaskRequest(host_id=HOST_ID)


def serve_with(make_server: ServerFactory, *rules: FaultRule, seed: int = 1) -> EmulatorServer:
    return make_server(faults=FaultPlan(rules, seed=seed))


def rpc_error(client: Client, method: str, request: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        client.call(method, request)
    return info.value


@pytest.mark.parametrize("status", [StatusCode.UNAVAILABLE, StatusCode.UNAUTHENTICATED, StatusCode.INTERNAL])
def test_error_fault_ends_the_call_then_stops_at_its_limit(
    make_server: ServerFactory, make_client_for: ClientFactory, status: StatusCode
) -> None:
    server = serve_with(make_server, FaultRule("GetTask", error=status, limit=1))
    client = make_client_for(server)
    error = rpc_error(client, "GetTask", GET_TASK)
    assert error.code().value[0] == int(status)
    assert "injected fault" in (error.details() or "")
    client.call("GetTask", GET_TASK)  # the limit is spent
    client.call("Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID))  # other methods never matched
    assert server.faults.fired_counts() == [(f"GetTask: {status.name} @ 1", 1)]


def test_resource_exhausted_carries_retry_info(
    make_server: ServerFactory, make_client_for: ClientFactory
) -> None:
    server = serve_with(make_server, FaultRule("*", error=StatusCode.RESOURCE_EXHAUSTED, retry_after=2.5))
    error = rpc_error(make_client_for(server), "GetTask", GET_TASK)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata() or ())
    detail = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert detail.code == int(StatusCode.RESOURCE_EXHAUSTED)
    info = error_details_pb2.RetryInfo()
    assert detail.details[0].Unpack(info)
    assert info.retry_delay.ToNanoseconds() == 2_500_000_000


def test_latency_fault_delays_the_answer(make_server: ServerFactory, make_client_for: ClientFactory) -> None:
    server = serve_with(make_server, FaultRule("Hello", latency=0.4))
    client = make_client_for(server)
    started = time.monotonic()
    client.call("Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID))
    assert time.monotonic() - started >= 0.4  # a lower bound: load only makes it longer
    client.call("GetTask", GET_TASK)
    [(_rule, fired)] = server.faults.fired_counts()
    assert fired == 1  # Hello was delayed; GetTask matched no rule


def test_cut_fault_breaks_an_upload_and_stores_nothing(
    make_server: ServerFactory, make_client_for: ClientFactory, tmp_path: Path
) -> None:
    server = serve_with(make_server, FaultRule("UploadAsset", cut_after_bytes=100_000, limit=1))
    client = make_client_for(server)
    task_id = server.queue.enqueue(Task(sync_full=Task.SyncFullTask()))
    client.call("GetTask", GET_TASK)
    data = write_c1z(tmp_path / "s.c1z", resources=5000, noise=True).read_bytes()
    assert len(data) > 100_000
    error = rpc_error(client, "UploadAsset", iter(upload_messages(HOST_ID, task_id, data)))
    assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    root = uploads_dir(server.data_dir)
    assert not [p for p in root.rglob("*") if p.is_file()]
    assert server.queue.get(task_id).upload_path == ""
    # A retry goes through once the fault is spent. It goes over a new connection: whether the
    # cut one is already seen as broken when the next call starts is a race inside grpcio.
    retry = make_client_for(server)
    retry.call("UploadAsset", iter(upload_messages(HOST_ID, task_id, data)))
    assert server.queue.get(task_id).upload_counts is not None


def test_cut_fault_on_a_unary_call(make_server: ServerFactory, make_client_for: ClientFactory) -> None:
    server = serve_with(make_server, FaultRule("Heartbeat", cut_after_bytes=0))
    client = make_client_for(server)
    error = rpc_error(client, "Heartbeat", pb.BatonServiceHeartbeatRequest(host_id=HOST_ID, task_id="A" * 27))
    assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    make_client_for(server).call("GetTask", GET_TASK)  # the server goes on serving new connections


def test_expire_token_fault_forces_a_new_token(
    make_server: ServerFactory, make_client_for: ClientFactory
) -> None:
    server = serve_with(make_server, FaultRule("GetTask", expire_token=True, limit=1))
    client = make_client_for(server)
    client.call("Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID))
    error = rpc_error(client, "GetTask", GET_TASK)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert rpc_error(client, "Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID)).code() == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    client.token = fetch_token(server, server.mint_credentials("fresh"))
    client.call("GetTask", GET_TASK)


def test_cancel_task_fault_cancels_through_the_heartbeat(
    make_server: ServerFactory, make_client_for: ClientFactory
) -> None:
    server = serve_with(make_server, FaultRule("Heartbeat", cancel_task=True))
    client = make_client_for(server)
    task_id = server.queue.enqueue(Task(sync_full=Task.SyncFullTask()))
    client.call("GetTask", GET_TASK)
    response = client.call("Heartbeat", pb.BatonServiceHeartbeatRequest(host_id=HOST_ID, task_id=task_id))
    assert response.cancelled
    assert server.queue.get(task_id).cancel_requested


def test_lose_answer_fault_records_the_call_then_fails_it(
    make_server: ServerFactory, make_client_for: ClientFactory
) -> None:
    server = serve_with(make_server, FaultRule("FinishTask", lose_answer=True, limit=1))
    client = make_client_for(server)
    task_id = server.queue.enqueue(Task(grant=Task.GrantTask()))
    client.call("GetTask", GET_TASK)
    finish = pb.BatonServiceFinishTaskRequest(
        host_id=HOST_ID, task_id=task_id, success=pb.BatonServiceFinishTaskRequest.Success()
    )
    error = rpc_error(client, "FinishTask", finish)
    assert error.code() == grpc.StatusCode.UNAVAILABLE and "answer lost" in (error.details() or "")
    assert server.queue.get(task_id).state == "done"  # recorded all the same
    client.call("FinishTask", finish)  # the client's retry: accepted, nothing changes
    assert parse_fault_flag("FinishTask:lose-answer@0.2") == FaultRule(
        "FinishTask", lose_answer=True, rate=0.2
    )


def test_token_endpoint_faults_are_http_statuses(make_server: ServerFactory) -> None:
    server = serve_with(
        make_server,
        FaultRule("token", error=StatusCode.RESOURCE_EXHAUSTED, retry_after=3, limit=1),
        FaultRule("token", error=StatusCode.UNAVAILABLE, limit=1),
    )
    creds = server.mint_credentials("faulty")
    key = private_key_from_secret(creds.client_secret)
    throttled = post_token(server, token_form(creds.client_id, assertion(creds.client_id, key)))
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "3")
    unavailable = post_token(server, token_form(creds.client_id, assertion(creds.client_id, key)))
    assert unavailable.status_code == 503
    assert post_token(server, token_form(creds.client_id, assertion(creds.client_id, key))).status_code == 200


def test_rates_follow_the_seed() -> None:
    rule = FaultRule("GetTask", error=StatusCode.UNAVAILABLE, rate=0.5)
    plan_a, plan_b = FaultPlan([rule], seed=7), FaultPlan([rule], seed=7)
    draws_a = [plan_a.decide("GetTask").error is not None for _ in range(200)]
    draws_b = [plan_b.decide("GetTask").error is not None for _ in range(200)]
    assert draws_a == draws_b
    assert 60 < sum(draws_a) < 140


def test_fault_file_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "faults.yaml"
    yaml_file.write_text(
        "seed: 3\nfaults:\n"
        "  - {method: GetTask, error: unavailable, rate: 0.25}\n"
        "  - {method: GetTask, error: RESOURCE_EXHAUSTED, retry_after: 2}\n"
        "  - {method: '*', latency: 0.1}\n"
        "  - {method: UploadAsset, cut_after_bytes: 1000, limit: 1}\n"
        "  - {method: '*', expire_token: true, rate: 0.01}\n"
        "  - {method: Heartbeat, cancel_task: true}\n"
    )
    plan = load_fault_file(yaml_file)
    assert plan.seed == 3 and len(plan.rules) == 6
    assert plan.rules[0] == FaultRule("GetTask", error=StatusCode.UNAVAILABLE, rate=0.25)
    assert plan.rules[3] == FaultRule("UploadAsset", cut_after_bytes=1000, limit=1)

    json_file = tmp_path / "faults.json"
    json_file.write_text(json.dumps([{"method": "Hello", "latency": 1}]))
    assert load_fault_file(json_file).rules == (FaultRule("Hello", latency=1.0),)


@pytest.mark.parametrize(
    "body",
    [
        "faults: [{method: GetTask}]",
        "faults: [{method: GetTask, error: UNAVAILABLE, latency: 1}]",
        "faults: [{method: GetTask, error: NOPE}]",
        "faults: [{method: GetTask, error: OK}]",
        "faults: [{method: GetTask, latency: fast}]",
        "faults: [{method: GetTask, error: UNAVAILABLE, rate: 2}]",
        "faults: [{method: GetTask, error: UNAVAILABLE, typo: 1}]",
        "seeds: 1",
        "faults: [1, 2]",
        "faults: [",
    ],
)
def test_bad_fault_files_are_usage_errors(tmp_path: Path, body: str) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(body)
    with pytest.raises(UsageError):
        load_fault_file(path)


def test_fault_flags() -> None:
    assert parse_fault_flag("GetTask:unavailable@0.5") == FaultRule(
        "GetTask", error=StatusCode.UNAVAILABLE, rate=0.5
    )
    assert parse_fault_flag("*:resource-exhausted=2.5") == FaultRule(
        "*", error=StatusCode.RESOURCE_EXHAUSTED, retry_after=2.5
    )
    assert parse_fault_flag("*:latency=0.2").latency == 0.2
    assert parse_fault_flag("UploadAsset:cut=100").cut_after_bytes == 100
    assert parse_fault_flag("GetTask:expire-token@0.1").expire_token
    assert parse_fault_flag("Heartbeat:cancel").cancel_task
    for bad in ("GetTask", ":unavailable", "GetTask:bogus", "GetTask:latency=x", "GetTask:unavailable@x"):
        with pytest.raises(UsageError):
            parse_fault_flag(bad)


def test_flags_add_to_the_file_and_the_flag_seed_wins(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("seed: 3\nfaults: [{method: Hello, latency: 1}]\n")
    plan = build_plan(path, ["GetTask:internal"], seed=9)
    assert plan.seed == 9 and [r.method for r in plan.rules] == ["Hello", "GetTask"]


def test_fired_faults_reach_the_event_log(make_server: ServerFactory, make_client_for: ClientFactory) -> None:
    server = serve_with(make_server, FaultRule("GetTask", error=StatusCode.INTERNAL))
    rpc_error(make_client_for(server), "GetTask", GET_TASK)
    texts = [e.text for e in server.events.last(20)]
    assert "fault: GetTask: INTERNAL @ 1" in texts
    assert any(t.startswith("GetTask -> INTERNAL") for t in texts)
