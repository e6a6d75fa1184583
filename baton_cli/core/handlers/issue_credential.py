"""Issue credential tasks (runner.md §4, §8): a new API key, key pair, token or client secret.

The task must name the identity, the kind of credential and at least one
encryption config; without them it is malformed (non-retryable). The issuer is
the syncer of the identity's resource type; its request id is the task id, so
a connector can refuse to issue twice for one task. The new secrets are
encrypted for every config with the same code as rotation and account
creation, and the configs are checked before the connector is called. Every
failure is non-retryable: issuance may have happened before an error, and
upstream never replays that ambiguity.

An issuer that encrypts for itself (``SealingCredentialIssuer``, as an upstream
connector child does) gets the whole request, encryption configs included, and
its response is delivered as it comes.
"""

from __future__ import annotations

from datetime import UTC

from baton_cli.connector.api import (
    CredentialIssuer,
    IssueCredentialRequest,
    IssueRequest,
    SealingCredentialIssuer,
)
from baton_cli.core.handlers.common import (
    NoCapability,
    TaskContext,
    malformed,
    non_retryable,
    packed_success,
    syncer_for,
)
from baton_cli.core.handlers.encryption import encrypt_credentials, prepare
from baton_cli.core.task_source import Outcome
from baton_cli.pb.c1.connector.v2 import resource_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task


def handle_issue_credential(task: Task.IssueCredentialTask, ctx: TaskContext) -> Outcome:
    if not (task.HasField("identity_id") and task.HasField("credential_options") and task.encryption_configs):
        return malformed("issue credential")

    def issue() -> Outcome:
        issuer = credential_issuer(ctx, task.identity_id.resource_type)
        if isinstance(issuer, SealingCredentialIssuer):
            request_pb = IssueCredentialRequest(
                identity_id=task.identity_id,
                credential_options=task.credential_options,
                encryption_configs=task.encryption_configs,
                request_id=ctx.task_id,
            )
            if task.HasField("expires_at"):
                request_pb.expires_at.CopyFrom(task.expires_at)
            return packed_success(issuer.issue_credential_sealed(request_pb))
        encryptors = prepare(task.encryption_configs)
        request = IssueRequest(
            identity_id=task.identity_id,
            options=task.credential_options,
            request_id=ctx.task_id,
            expires_at=task.expires_at.ToDatetime(tzinfo=UTC) if task.HasField("expires_at") else None,
        )
        issued = issuer.issue_credential(request)
        response = resource_pb2.IssueCredentialResponse(
            encrypted_data=encrypt_credentials(issued.credentials, encryptors),
            resource_mode=issued.resource_mode,
            request_id=ctx.task_id,
        )
        if issued.secret is not None:
            response.secret.CopyFrom(issued.secret)
        return packed_success(response)

    return non_retryable(ctx, issue)


def credential_issuer(ctx: TaskContext, resource_type_id: str) -> CredentialIssuer | SealingCredentialIssuer:
    syncer = syncer_for(ctx.connector, resource_type_id)
    if isinstance(syncer, (CredentialIssuer, SealingCredentialIssuer)):
        return syncer
    shown = repr(resource_type_id) if resource_type_id else "(empty)"
    raise NoCapability(f"resource type {shown} has no credential issuer configured")
