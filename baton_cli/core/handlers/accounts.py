"""Create account and rotate credentials tasks (runner.md §4, §8).

Credential options: ``random_password``, ``no_password`` and ``sso`` are only
information here: the connector API (``AccountManager.create_account``,
``CredentialRotator.rotate_credentials``) takes no options, so the connector
decides what credentials to return. ``encrypted_password`` asks the runner to
decrypt a password with its own client-secret key, which this runner does not
hold: it is refused with UNIMPLEMENTED.

Returned secrets are encrypted for every encryption config (``encryption.py``).
The configs are checked before the connector is called, so an account is never
created whose password could not be delivered.

A connector that encrypts for itself (``SealingAccountManager``,
``SealingCredentialRotator``, as upstream connectors do) gets the request whole,
options and encryption configs included, and its ``EncryptedData`` is delivered
as it comes: the checks above are then the connector's, as upstream.
"""

from __future__ import annotations

from google.protobuf import json_format

from baton_cli.connector.api import (
    AccountManager,
    AccountRequest,
    Connector,
    CreateAccountRequest,
    RotateCredentialRequest,
    SealingAccountManager,
    SealingCredentialRotator,
)
from baton_cli.core.handlers.common import (
    NoCapability,
    TaskContext,
    credential_rotator,
    malformed,
    non_retryable,
    packed_success,
    typed_account_manager,
)
from baton_cli.core.handlers.encryption import encrypt_credentials, prepare
from baton_cli.core.task_source import Outcome
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connector.v2 import resource_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
CreateAccountResponse = resource_pb2.CreateAccountResponse

# With no resource_type_id and several account managers, upstream picks this type's.
DEFAULT_ACCOUNT_TYPE = "user"


def handle_create_account(task: Task.CreateAccountTask, ctx: TaskContext) -> Outcome:
    if not task.HasField("account_info"):
        return malformed("create account")

    def create() -> Outcome:
        manager = account_manager(ctx.connector, task.resource_type_id)
        if isinstance(manager, SealingAccountManager):
            request = CreateAccountRequest(
                account_info=task.account_info,
                credential_options=task.credential_options,
                encryption_configs=task.encryption_configs,
                resource_type_id=task.resource_type_id,
            )
            return packed_success(manager.create_account_sealed(request))
        _check_options(task.credential_options)
        encryptors = prepare(task.encryption_configs)
        result = manager.create_account(account_request(task.account_info))
        response = CreateAccountResponse(encrypted_data=encrypt_credentials(result.credentials, encryptors))
        # Connectors report their own accounts with is_create_account_result set; so do we.
        if result.already_existed:
            response.already_exists.resource.CopyFrom(result.resource)
            response.already_exists.is_create_account_result = True
        else:
            response.success.resource.CopyFrom(result.resource)
            response.success.is_create_account_result = True
        return packed_success(response)

    return non_retryable(ctx, create)


def handle_rotate_credentials(task: Task.RotateCredentialsTask, ctx: TaskContext) -> Outcome:
    if not task.HasField("resource_id"):
        return malformed("rotate credentials")

    def rotate() -> Outcome:
        rid = task.resource_id
        rotator = credential_rotator(ctx.connector, rid.resource_type)
        if isinstance(rotator, SealingCredentialRotator):
            request = RotateCredentialRequest(
                resource_id=rid,
                credential_options=task.credential_options,
                encryption_configs=task.encryption_configs,
            )
            return packed_success(rotator.rotate_credentials_sealed(request))
        _check_options(task.credential_options)
        encryptors = prepare(task.encryption_configs)
        credentials = rotator.rotate_credentials(rid)
        return packed_success(
            resource_pb2.RotateCredentialResponse(
                encrypted_data=encrypt_credentials(credentials, encryptors), resource_id=rid
            )
        )

    return non_retryable(ctx, rotate)


def account_manager(connector: Connector, resource_type_id: str) -> AccountManager | SealingAccountManager:
    """By type id; with none given: the only account manager, else the ``user`` type's (runner.md §8)."""
    if resource_type_id:
        return typed_account_manager(connector, resource_type_id)
    managers = {
        syncer.resource_type.id: syncer
        for syncer in connector.resource_syncers()
        if isinstance(syncer, (AccountManager, SealingAccountManager))
    }
    if len(managers) == 1:
        return next(iter(managers.values()))
    if DEFAULT_ACCOUNT_TYPE in managers:
        return managers[DEFAULT_ACCOUNT_TYPE]
    if not managers:
        raise NoCapability("connector has no account manager")
    raise NoCapability(
        f"connector has account managers for {', '.join(sorted(managers))} and none for "
        f"{DEFAULT_ACCOUNT_TYPE!r}; the task must name a resource_type_id"
    )


def account_request(info: resource_pb2.AccountInfo) -> AccountRequest:
    """The primary email (else the first); the profile as plain JSON values. Login aliases are dropped."""
    emails = [e.address for e in info.emails if e.is_primary] or [e.address for e in info.emails]
    profile = json_format.MessageToDict(info.profile) if info.HasField("profile") else {}
    return AccountRequest(login=info.login, email=emails[0] if emails else "", profile=profile)


def _check_options(options: resource_pb2.CredentialOptions) -> None:
    if options.WhichOneof("options") == "encrypted_password":
        raise BatonError(
            "credential option encrypted_password is not supported: this runner cannot decrypt "
            "passwords sent by the platform",
            code=StatusCode.UNIMPLEMENTED,
        )
