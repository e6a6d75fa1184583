"""Account creation and credential rotation through a connector child (runner.md §8).

The child encrypts the new credentials itself for the encryption configs it is sent, as an
upstream Go connector does; the runner only forwards configs and ciphertext. Checked with real
processes: the one-shot commands and the `baton run` daemon against the emulator.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest
from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import resource_pb2
from tests.child.support import run_child_daemon
from tests.cli.daemon_support import emulator
from tests.cli.invoke import baton_here

__all__ = ["emulator"]


def _key_id(recipient: str) -> str:
    return hashlib.sha256(recipient.encode()).hexdigest()


def _one_shot(tmp_path: Path, standin: Path, command: str, *args: str) -> tuple[dict[str, object], str]:
    result = baton_here(
        command, *args, "--plugin", f"exec:{standin}", "-o", "json", "--log-level", "debug",
        "--", "--state-file", str(tmp_path / "state.json"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body: dict[str, object] = json.loads(result.stdout)
    return body, result.stdout + result.stderr


def _decrypt(entry: dict[str, str], identity: object) -> bytes:
    plaintext: bytes = pyrage.decrypt(base64.b64decode(entry["encryptedBytes"]), [identity])
    return plaintext


def test_one_shot_create_account_and_rotate_through_the_child(standin: Path, tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())

    body, output = _one_shot(
        tmp_path, standin, "create-account", "--login", "newbie", "--email", "newbie@example.com",
        "--age-recipient", recipient,
    )  # fmt: skip
    assert body["success"]["resource"]["id"] == {"resourceType": "user", "resource": "u0000050"}  # type: ignore[index]
    [sealed] = body["encryptedData"]  # type: ignore[misc]
    assert (sealed["provider"], sealed["keyIds"]) == ("baton/age/v1", [_key_id(recipient)])
    password = _decrypt(sealed, identity).decode()
    assert len(password) >= 16
    assert password not in output
    assert "created account login=newbie sealed=1" in output  # encrypted by the child, not by us

    body, output = _one_shot(
        tmp_path, standin, "rotate-credentials", "-r", "user:u0000050", "--age-recipient", recipient
    )
    assert body["resourceId"] == {"resourceType": "user", "resource": "u0000050"}
    [sealed] = body["encryptedData"]  # type: ignore[misc]
    rotated = _decrypt(sealed, identity).decode()
    assert len(rotated) >= 16 and rotated != password
    assert rotated not in output and "rotated credentials resource=u0000050 sealed=1" in output


def test_one_shot_reveal_decrypts_what_the_child_sealed(standin: Path, tmp_path: Path) -> None:
    result = baton_here(
        "rotate-credentials", "-r", "user:u0000001", "--reveal", "--plugin", f"exec:{standin}",
        "--", "--state-file", str(tmp_path / "state.json"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("password: ")]
    secret = line.removeprefix("password: ")
    assert len(secret) >= 16 and secret not in result.stderr


def test_daemon_creates_accounts_and_rotates_through_the_child(
    standin: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    platform = pyrage.x25519.Identity.generate()
    other = pyrage.x25519.Identity.generate()
    recipients = [str(platform.to_public()), str(other.to_public())]
    queue = emulator.queue
    create_id = queue.enqueue(
        tb.create_account_task("newbie", emails=["newbie@example.com"], age_recipients=recipients)
    )
    rotate_id = queue.enqueue(tb.rotate_credentials_task("user:u0000001", age_recipients=recipients))
    result = run_child_daemon(
        emulator, tmp_path, standin, "--exit-when-idle", "--provisioning",
        "--log-level", "debug", "--log-format", "json",
        child_args=("--state-file", str(tmp_path / "state.json")),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    states = {t.id: (t.state, t.status_message) for t in queue.tasks()}
    assert all(state == "done" for state, _msg in states.values()), states

    created = resource_pb2.CreateAccountResponse()
    assert AnyPb.FromString(queue.result(create_id).response).Unpack(created)
    assert created.success.is_create_account_result
    assert created.success.resource.id.resource == "u0000050"
    rotated = resource_pb2.RotateCredentialResponse()
    assert AnyPb.FromString(queue.result(rotate_id).response).Unpack(rotated)
    assert rotated.resource_id.resource == "u0000001"

    secrets = []
    for response in (created, rotated):
        # One plaintext, sealed once per config in the task's order (runner.md §8).
        assert [list(d.key_ids) for d in response.encrypted_data] == [[_key_id(r)] for r in recipients]
        mine, theirs = response.encrypted_data
        secret = pyrage.decrypt(mine.encrypted_bytes, [platform])
        assert pyrage.decrypt(theirs.encrypted_bytes, [other]) == secret
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(theirs.encrypted_bytes, [platform])
        secrets.append(secret.decode())
    for secret in secrets:
        assert len(secret) >= 16 and secret not in result.stdout + result.stderr
