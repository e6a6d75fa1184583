"""`baton run` end to end: the demo plugin, the emulator over TLS on 127.0.0.1.

The daemon runs through the console entry point in-process (tests/cli/daemon_support.py); Ctrl-C
goes to a real daemon process.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import grant_pb2, resource_pb2
from tests.cli.daemon_support import emulator, run_daemon
from tests.cli.invoke import baton_here

__all__ = ["emulator"]  # the fixture, shared with the other daemon tests


def test_daemon_serves_sync_and_provisioning_tasks(emulator: EmulatorServer, tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    queue = emulator.queue
    sync_id = queue.enqueue(tb.sync_task())
    grant_id = queue.enqueue(tb.grant_task("group:g000001:member", "user:u0000049"))
    delete_id = queue.enqueue(tb.delete_resource_task("user:u0000003"))
    rotate_id = queue.enqueue(
        tb.rotate_credentials_task("user:u0000001", age_recipients=[str(identity.to_public())])
    )
    result = run_daemon(emulator, tmp_path)
    assert result.returncode == 0, result.stderr
    states = {t.id: (t.state, t.status_code, t.status_message) for t in queue.tasks()}
    assert all(state == "done" for state, _code, _msg in states.values()), states

    sync = queue.get(sync_id)
    assert sync.upload_counts is not None and sync.upload_counts["resources"] == 58
    assert sync.upload_counts["grants"] == 345  # memberships, role grants and expanded role grants

    response = grant_pb2.GrantManagerServiceGrantResponse()
    assert AnyPb.FromString(queue.result(grant_id).response).Unpack(response)
    assert [g.id for g in response.grants] == ["group:g000001:member:user:u0000049"]

    rotated = resource_pb2.RotateCredentialResponse()
    assert AnyPb.FromString(queue.result(rotate_id).response).Unpack(rotated)
    [encrypted] = rotated.encrypted_data
    password = pyrage.decrypt(encrypted.encrypted_bytes, [identity])
    assert len(password) >= 8
    assert queue.get(delete_id).state == "done"
    assert "task" in result.stderr and "done" in result.stderr
    assert "secret-token" not in result.stderr + result.stdout


def test_daemon_keeps_serving_after_a_task_fails(emulator: EmulatorServer, tmp_path: Path) -> None:
    bad = emulator.queue.enqueue(tb.delete_resource_task("user:nosuchuser"))
    good = emulator.queue.enqueue(tb.sync_task(skip_entitlements_and_grants=True))
    result = run_daemon(emulator, tmp_path)
    assert result.returncode == 0, result.stderr
    failed = emulator.queue.get(bad)
    assert failed.state == "failed" and failed.non_retryable
    assert emulator.queue.get(good).state == "done"
    assert emulator.queue.get(good).upload_counts == {
        "resource_types": 3,
        "resources": 58,
        "entitlements": 0,
        "grants": 0,
    }


def test_wrong_secret_is_fatal_with_one_line_and_no_secret(emulator: EmulatorServer, tmp_path: Path) -> None:
    other = emulator.mint_credentials("someone-else")
    result = run_daemon(emulator, tmp_path, env={"BATON_CLIENT_SECRET": other.client_secret})
    assert result.returncode == 16, result.stderr  # UNAUTHENTICATED, as upstream's bootstrap Hello
    errors = [line for line in result.stderr.splitlines() if line.startswith("baton: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert other.client_secret not in result.stderr


def test_missing_secret_is_a_usage_error(emulator: EmulatorServer, tmp_path: Path) -> None:
    result = run_daemon(emulator, tmp_path, env={"BATON_CLIENT_SECRET": ""})
    assert result.returncode == 3 and "--client-secret" in result.stderr


def test_help_and_bad_ids_never_show_the_secret(tmp_path: Path) -> None:
    secret = "secret-token:conductorone.com:v1:c2VjcmV0"
    shown = baton_here("run", "--help", cwd=tmp_path, env={"BATON_CLIENT_SECRET": secret})
    assert shown.returncode == 0 and secret not in shown.stdout
    bad = baton_here(
        "run", "--plugin", "demo", "--client-id", "no-at-sign", "--client-secret", secret, cwd=tmp_path
    )
    assert bad.returncode == 3 and "--client-id" in bad.stderr and secret not in bad.stderr
    malformed = baton_here(
        "run",
        "--plugin",
        "demo",
        "--client-id",
        "x@127.0.0.1:9/pcc",
        cwd=tmp_path,
        env={"BATON_CLIENT_SECRET": secret},
    )
    assert malformed.returncode == 3 and "--client-secret" in malformed.stderr
    assert "c2VjcmV0" not in malformed.stderr


def test_ctrl_c_stops_the_daemon_cleanly(emulator: EmulatorServer, tmp_path: Path) -> None:
    import signal
    import sys
    import time

    from tests.cli.process import baton_env

    creds = emulator.mint_credentials("interrupted")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "baton_cli",
            "run",
            "--plugin",
            "demo",
            "--client-id",
            creds.client_id,
            "--ca-file",
            str(emulator.ca_file),
        ],
        cwd=tmp_path,
        env=baton_env({"BATON_CLIENT_SECRET": creds.client_secret}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not emulator.queue.hosts() and time.monotonic() < deadline:
            time.sleep(0.05)  # wait for its Hello
        assert emulator.queue.hosts(), "the daemon never said Hello"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err  # upstream treats Ctrl-C in daemon mode as a clean exit
    assert "Traceback" not in err and "stopped" in err
