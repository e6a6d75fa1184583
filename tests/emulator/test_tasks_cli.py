"""``baton emulator enqueue|tasks|cancel`` against a real queue file in a temporary directory.

The commands are mounted on a local ``emulator`` sub-app exactly as
``register_task_commands`` is meant to be called. Error cases go through the
real console entry point (``baton_cli.cli.app.main``) with that app in place,
since turning errors into one stderr line and an exit code is main()'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from baton_cli.cli import app as app_module
from baton_cli.cli.emulator_tasks_cmd import register_task_commands
from baton_cli.emulator.paths import DATA_DIR_ENV, DEFAULT_DATA_DIR, queue_path
from baton_cli.emulator.queue import TaskQueue
from baton_cli.emulator.task_builders import sync_task
from tests.external import fixture_path


def make_root() -> typer.Typer:
    root = typer.Typer(no_args_is_help=True)
    emulator = typer.Typer(no_args_is_help=True)
    register_task_commands(emulator)
    root.add_typer(emulator, name="emulator")
    return root


@pytest.fixture
def root() -> typer.Typer:
    return make_root()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    # As `baton emulator serve` leaves it: enqueue refuses a directory no emulator made.
    directory = tmp_path / "emu"
    directory.mkdir()
    return directory


def invoke(root: typer.Typer, data_dir: Path, *args: str) -> Any:
    result = CliRunner().invoke(root, ["emulator", *args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def baton(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], root: typer.Typer
) -> Iterator[Any]:
    """``baton ARGS`` through main(), with the emulator commands mounted."""
    monkeypatch.setattr(app_module, "app", root)

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            app_module.main(list(args))
        captured = capsys.readouterr()
        code = info.value.code
        return Outcome(code if isinstance(code, int) else 0, captured.out, captured.err)

    yield run


ENQUEUE_CASES: list[tuple[list[str], str]] = [
    (["sync", "-t", "user", "-r", "group:eng", "--skip-grants", "--storage-engine", "sqlite"], "sync_full"),
    (["grant", "-e", "group:eng:member", "-p", "user:alice", "--duration", "60"], "grant"),
    (["revoke", "-e", "group:eng:member", "-p", "user:alice"], "revoke"),
    (
        ["create-account", "--login", "bob", "--email", "bob@example.com", "--profile", '{"team": "x"}'],
        "create_account",
    ),
    (["delete-resource", "-r", "repo:org:42", "--parent", "org:org"], "delete_resource"),
    (["rotate-credentials", "-r", "user:alice", "--password-length", "24"], "rotate_credentials"),
    (["hello"], "hello"),
]


@pytest.mark.parametrize(("args", "kind"), ENQUEUE_CASES, ids=[k for _, k in ENQUEUE_CASES])
def test_enqueue_prints_the_id_and_stores_the_task(
    root: typer.Typer, data_dir: Path, args: list[str], kind: str
) -> None:
    task_id = invoke(root, data_dir, "enqueue", *args).output.strip()
    with TaskQueue.open(data_dir) as queue:
        record = queue.get(task_id)
        message = queue.task_message(task_id)
    assert (record.kind, record.state) == (kind, "pending")
    assert message.WhichOneof("task_type") == kind
    assert message.id == task_id


def test_enqueued_fields_reach_the_task(root: typer.Typer, data_dir: Path) -> None:
    sync_id = invoke(root, data_dir, "enqueue", "sync", "-r", "group:eng", "--debug").output.strip()
    grant_id = invoke(
        root, data_dir, "enqueue", "grant", "-e", "group:eng:member", "-p", "user:alice", "--duration", "60"
    ).output.strip()
    with TaskQueue.open(data_dir) as queue:
        sync = queue.task_message(sync_id)
        grant = queue.task_message(grant_id).grant
    assert sync.debug
    assert [r.id.resource for r in sync.sync_full.targeted_sync_resources] == ["eng"]
    assert (grant.entitlement.id, grant.principal.id.resource, grant.duration.seconds) == (
        "group:eng:member",
        "alice",
        60,
    )


def test_enqueue_json(root: typer.Typer, data_dir: Path) -> None:
    payload = json.loads(invoke(root, data_dir, "enqueue", "sync", "-o", "json").output)
    assert payload["kind"] == "sync_full"
    assert payload["state"] == "pending"
    assert len(payload["id"]) == 27


def test_enqueue_grant_from_a_c1z(root: typer.Typer, data_dir: Path) -> None:
    entitlement, principal = "workspace:development_workspace:member", "role:development_workspace_runner"
    args = [
        "enqueue",
        "grant",
        "-e",
        entitlement,
        "-p",
        principal,
        "--c1z",
        str(fixture_path("file-template-sdk-v0.25.0.c1z")),
    ]
    task_id = invoke(root, data_dir, *args).output.strip()
    with TaskQueue.open(data_dir) as queue:
        grant = queue.task_message(task_id).grant
    assert grant.entitlement.resource.display_name == "Development Workspace"  # from the sync, not the flag
    assert grant.principal.parent_resource_id.resource == "development_workspace"


def test_tasks_json_shows_every_state(root: typer.Typer, data_dir: Path) -> None:
    ids = [invoke(root, data_dir, "enqueue", "sync").output.strip() for _ in range(3)]
    with TaskQueue.open(data_dir) as queue:
        assert queue.lease("host-1") is not None
        queue.record_upload(ids[0], "host-1", path=data_dir / "u.c1z", sha256="ff", counts={"resources": 2})
        queue.finish(ids[0], "host-1", status_code=0)
        assert queue.lease("host-1") is not None
    payload = json.loads(invoke(root, data_dir, "tasks", "-o", "json").output)
    tasks = payload["tasks"]
    assert [t["id"] for t in tasks] == ids
    assert [t["state"] for t in tasks] == ["done", "running", "pending"]
    assert tasks[0]["upload_counts"] == {"resources": 2}
    assert tasks[0]["status_name"] == "OK"
    assert tasks[1]["host_id"] == "host-1"
    assert tasks[2]["attempts"] == 0
    # Timestamps are RFC 3339 UTC, as everywhere in our JSON; unset ones stay null.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", tasks[0]["created_at"])
    assert tasks[0]["finished_at"].endswith("Z") and tasks[2]["finished_at"] is None


def test_tasks_plain_table(root: typer.Typer, data_dir: Path) -> None:
    done, failed, pending = (invoke(root, data_dir, "enqueue", "sync").output.strip() for _ in range(3))
    with TaskQueue.open(data_dir) as queue:
        assert queue.lease("host-1") is not None
        queue.record_upload(done, "host-1", path=Path("u"), sha256="", counts={"resources": 2, "grants": 5})
        queue.finish(done, "host-1", status_code=0)
        assert queue.lease("host-2") is not None
        queue.finish(
            failed, "host-2", status_code=13, status_message="sync failed\ndetails", non_retryable=True
        )
    lines = invoke(root, data_dir, "tasks").output.splitlines()
    header = ["id", "kind", "state", "attempts", "host", "created", "duration", "result", "response"]
    assert lines[0].split() == header
    assert len(lines) == 4
    assert lines[1].startswith(done) and "OK (2 resources, 5 grants)" in lines[1]
    assert "INTERNAL: sync failed [non-retryable]" in lines[2] and "host-2" in lines[2]
    assert lines[3].startswith(pending) and " pending " in lines[3]
    # Columns line up: every row's state starts where the header's does.
    column = lines[0].index("state")
    assert [line[column:].split()[0] for line in lines[1:]] == ["done", "failed", "pending"]


def test_tasks_without_a_queue_is_empty_and_creates_nothing(root: typer.Typer, tmp_path: Path) -> None:
    data_dir = tmp_path / "never-served"
    assert json.loads(invoke(root, data_dir, "tasks", "-o", "json").output) == {"tasks": []}
    assert not data_dir.exists()


def test_cancel_pending_and_running(root: typer.Typer, data_dir: Path) -> None:
    running = invoke(root, data_dir, "enqueue", "sync").output.strip()
    pending = invoke(root, data_dir, "enqueue", "grant", "-e", "g:e:m", "-p", "u:a").output.strip()
    with TaskQueue.open(data_dir) as queue:
        assert queue.lease("host-1") is not None
    assert invoke(root, data_dir, "cancel", pending).output.strip() == f"cancelled {pending}"
    out = invoke(root, data_dir, "cancel", running).output
    assert f"cancellation requested: {running} is running on host-1" in out
    with TaskQueue.open(data_dir) as queue:
        assert queue.get(pending).state == "cancelled"
        assert queue.heartbeat(running, "host-1") is True


def test_the_data_dir_comes_from_the_environment_or_defaults_to_the_cwd(
    root: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULT_DATA_DIR).mkdir()
    runner = CliRunner()
    first = runner.invoke(root, ["emulator", "enqueue", "hello"])
    assert first.exit_code == 0, first.output
    assert queue_path(tmp_path / DEFAULT_DATA_DIR).is_file()
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    second = runner.invoke(root, ["emulator", "enqueue", "hello"], env={DATA_DIR_ENV: str(elsewhere)})
    assert second.exit_code == 0, second.output
    with TaskQueue.open(elsewhere) as queue:
        assert [r.id for r in queue.tasks()] == [second.output.strip()]


# -- errors: one line on stderr, the status code as exit code -------------------------------------


BAD_INPUT = [
    (["enqueue", "grant", "-e", "group:member", "-p", "user:a"], "--entitlement"),
    (["enqueue", "grant", "-e", "group:eng:member", "-p", "alice"], "--principal"),
    (["enqueue", "grant", "-e", "group:eng:member", "-p", "user:a", "--duration", "0"], "--duration"),
    (["enqueue", "grant", "-e", "group:eng:member"], "--principal"),  # missing: Typer's own usage error
    (["enqueue", "sync", "-r", "nocolon"], "--resource"),
    (["enqueue", "sync", "--storage-engine", "badger"], "--storage-engine"),
    (["enqueue", "create-account", "--login", "bob", "--profile", "{"], "--profile"),
    (["enqueue", "create-account", "--login", "bob", "--email", "bob"], "--email"),
    (["enqueue", "rotate-credentials", "-r", "user:a", "--password", "secret"], "--password"),
    (["enqueue", "delete-resource", "-r", "x"], "--resource"),
]


@pytest.mark.parametrize(("args", "flag"), BAD_INPUT)
def test_bad_input_exits_3_with_one_line(baton: Any, data_dir: Path, args: list[str], flag: str) -> None:
    outcome = baton("emulator", *args, "--data-dir", str(data_dir))
    assert outcome.code == 3
    assert outcome.out == ""
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("baton: error: ")
    assert flag in lines[0]
    assert not queue_path(data_dir).exists()  # nothing was queued, not even the directory made


def test_cancel_errors(baton: Any, data_dir: Path) -> None:
    missing = baton("emulator", "cancel", "nope", "--data-dir", str(data_dir))
    assert (missing.code, missing.err.count("\n")) == (5, 1)
    assert "task nope not found" in missing.err
    with TaskQueue.open(data_dir) as queue:
        task_id = queue.enqueue(sync_task())
        queue.cancel(task_id)
    again = baton("emulator", "cancel", task_id, "--data-dir", str(data_dir))
    assert (again.code, again.err.count("\n")) == (9, 1)  # FAILED_PRECONDITION: already cancelled
    assert "already cancelled" in again.err


def test_enqueue_without_a_data_dir_refuses_naming_where_it_looked(
    baton: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = baton("emulator", "enqueue", "sync")
    assert result.code == 5, result.err
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and str(DEFAULT_DATA_DIR) in lines[0] and "baton emulator serve" in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_tasks_show_each_response_type_and_a_summary(root: typer.Typer, data_dir: Path) -> None:
    from google.protobuf.any_pb2 import Any as AnyPb

    from baton_cli.pb.c1.connector.v2 import action_pb2

    invoked = invoke(root, data_dir, "enqueue", "action-invoke", "--name", "export").output.strip()
    response = AnyPb()
    response.Pack(
        action_pb2.InvokeActionResponse(
            id="act1", name="export", status=action_pb2.BATON_ACTION_STATUS_RUNNING
        )
    )
    with TaskQueue.open(data_dir) as queue:
        assert queue.lease("host-1") is not None
        queue.finish(invoked, "host-1", status_code=0, response=response.SerializeToString())
    lines = invoke(root, data_dir, "tasks").output.splitlines()
    assert "InvokeActionResponse: export: running (id act1)" in lines[1]
    [task] = json.loads(invoke(root, data_dir, "tasks", "-o", "json").output)["tasks"]
    assert task["response_type"] == "type.googleapis.com/c1.connector.v2.InvokeActionResponse"
    assert task["response_summary"] == "export: running (id act1)"
