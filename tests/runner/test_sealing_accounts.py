"""Connectors that encrypt new credentials themselves (``SealingAccountManager`` /
``SealingCredentialRotator``): the handler forwards the whole request and delivers the
connector's ``EncryptedData`` as it comes, never encrypting on top (runner.md §8)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from baton_cli.connector.api import (
    CreateAccountRequest,
    CreateAccountResponse,
    Resource,
    ResourceId,
    RotateCredentialRequest,
    RotateCredentialResponse,
)
from baton_cli.connector.capabilities import connector_metadata_with_capabilities
from baton_cli.core.handlers import handle_task
from baton_cli.core.task_source import Failure, Success, Task
from baton_cli.errors import StatusCode
from baton_cli.pb.c1.connector.v2 import connector_pb2, resource_pb2

from .fakes import FakeConnector, PlainSyncer, context, demo
from .test_accounts_and_encryption import b64url, create_task, jwk_config

SEALED = resource_pb2.EncryptedData(
    provider="baton/jwk/v1", key_id="k1", key_ids=["k1"], name="password", encrypted_bytes=b"opaque"
)


class SealingUsers(PlainSyncer):
    """Records what it was asked and answers with ciphertext it made itself."""

    def __init__(self) -> None:
        super().__init__("user")
        self.created: list[CreateAccountRequest] = []
        self.rotated: list[RotateCredentialRequest] = []

    def create_account_sealed(self, request: CreateAccountRequest) -> CreateAccountResponse:
        self.created.append(request)
        response = CreateAccountResponse(encrypted_data=[SEALED])
        response.action_required.resource.CopyFrom(
            Resource(id=ResourceId(resource_type="user", resource="n"))
        )
        response.action_required.message = "confirm by email"
        return response

    def rotate_credentials_sealed(self, request: RotateCredentialRequest) -> RotateCredentialResponse:
        self.rotated.append(request)
        return RotateCredentialResponse(encrypted_data=[SEALED], resource_id=request.resource_id)


def ec_config() -> resource_pb2.EncryptionConfig:
    """A key our own encryption refuses (EC JWK): a sealing connector may still serve it."""
    numbers = generate_private_key(SECP256R1()).public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    return jwk_config(jwk)


def test_create_account_forwards_the_request_and_delivers_the_connector_ciphertext() -> None:
    users = SealingUsers()
    task = create_task(
        ec_config(), type_id="user", random_password=resource_pb2.CredentialOptions.RandomPassword(length=24)
    )
    outcome = handle_task(task, context(FakeConnector(users)))
    assert isinstance(outcome, Success) and outcome.response is not None
    response = CreateAccountResponse()
    assert outcome.response.Unpack(response)
    assert list(response.encrypted_data) == [SEALED]
    assert response.action_required.message == "confirm by email"
    [request] = users.created
    assert request.account_info == task.create_account.account_info
    assert list(request.encryption_configs) == list(task.create_account.encryption_configs)
    assert request.credential_options.random_password.length == 24
    assert request.resource_type_id == "user"


def test_rotate_forwards_configs_and_options_even_encrypted_password() -> None:
    users = SealingUsers()
    rid = ResourceId(resource_type="user", resource="one")
    options = resource_pb2.CredentialOptions(
        encrypted_password=resource_pb2.CredentialOptions.EncryptedPassword()
    )
    task = Task(
        id="t1",
        rotate_credentials=Task.RotateCredentialsTask(
            resource_id=rid, credential_options=options, encryption_configs=[ec_config()]
        ),
    )
    outcome = handle_task(task, context(FakeConnector(users)))
    assert isinstance(outcome, Success) and outcome.response is not None
    response = RotateCredentialResponse()
    assert outcome.response.Unpack(response)
    assert list(response.encrypted_data) == [SEALED] and response.resource_id == rid
    [request] = users.rotated
    assert request.resource_id == rid and request.credential_options == options
    assert list(request.encryption_configs) == list(task.rotate_credentials.encryption_configs)


def test_plaintext_connectors_still_refuse_what_the_runner_cannot_encrypt(tmp_path: Path) -> None:
    # The in-process demo returns plaintext, so the runner encrypts and its own limits hold.
    outcome = handle_task(create_task(ec_config()), context(demo(tmp_path)))
    assert isinstance(outcome, Failure) and outcome.code == StatusCode.UNIMPLEMENTED


def test_sealing_syncers_report_account_and_rotation_capabilities() -> None:
    metadata = connector_metadata_with_capabilities(FakeConnector(SealingUsers()))
    [entry] = metadata.capabilities.resource_type_capabilities
    assert connector_pb2.CAPABILITY_ACCOUNT_PROVISIONING in entry.capabilities
    assert connector_pb2.CAPABILITY_CREDENTIAL_ROTATION in entry.capabilities
