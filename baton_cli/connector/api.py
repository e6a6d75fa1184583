"""What a plugin author implements: the connector API.

A connector is a set of resource syncers, one per resource type. Optional
capabilities are plain methods: a syncer that has ``grant`` and ``revoke``
can provision, one with ``delete`` can delete resources, and so on. The
runner discovers them with the runtime-checkable Protocols below and reports
them in ``ConnectorMetadata`` (see ``capabilities.py``).

All messages are the ``c1.connector.v2`` protobuf types, so what a connector
returns goes into the c1z file and onto the wire unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeAlias, TypeVar, runtime_checkable

from baton_cli.pb.c1.connector.v2 import connector_pb2, entitlement_pb2, grant_pb2, resource_pb2

ResourceType = resource_pb2.ResourceType
Resource = resource_pb2.Resource
ResourceId = resource_pb2.ResourceId
Entitlement = entitlement_pb2.Entitlement
Grant = grant_pb2.Grant
ConnectorMetadata = connector_pb2.ConnectorMetadata
CredentialIssueOptions = resource_pb2.CredentialIssueOptions
CredentialIssueDetails = connector_pb2.CredentialDetailsCredentialIssue
CredentialResourceMode: TypeAlias = resource_pb2.CredentialResourceMode.ValueType
CreateAccountRequest = resource_pb2.CreateAccountRequest
CreateAccountResponse = resource_pb2.CreateAccountResponse
RotateCredentialRequest = resource_pb2.RotateCredentialRequest
RotateCredentialResponse = resource_pb2.RotateCredentialResponse
IssueCredentialRequest = resource_pb2.IssueCredentialRequest
IssueCredentialResponse = resource_pb2.IssueCredentialResponse

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; an empty ``next_token`` ends the listing."""

    items: Sequence[T]
    next_token: str = ""


@runtime_checkable
class ResourceSyncer(Protocol):
    """Lists one resource type: its resources, their entitlements and grants."""

    @property
    def resource_type(self) -> ResourceType: ...

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]: ...

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]: ...

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]: ...


@runtime_checkable
class ResourceGetter(Protocol):
    """Fetches one resource by id (targeted sync). Returns None when it does not exist."""

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None: ...


@runtime_checkable
class Provisioner(Protocol):
    """Grants and revokes this type's entitlements."""

    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]: ...

    def revoke(self, grant: Grant) -> None: ...


@runtime_checkable
class ResourceDeleter(Protocol):
    def delete(self, resource_id: ResourceId, parent: ResourceId | None) -> None: ...


@runtime_checkable
class ResourceCreator(Protocol):
    def create(self, resource: Resource) -> Resource: ...


@dataclass(frozen=True, slots=True)
class AccountRequest:
    """What the platform asks for when it creates an account."""

    login: str
    email: str = ""
    profile: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Credential:
    """A plaintext secret produced by account creation or rotation.

    The runner encrypts it before it leaves the process; connectors never log it.
    """

    name: str
    bytes_: bytes
    description: str = ""

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"Credential(name={self.name!r}, bytes_=<{len(self.bytes_)} bytes hidden>)"


@dataclass(frozen=True, slots=True)
class AccountResult:
    resource: Resource
    credentials: Sequence[Credential] = ()
    already_existed: bool = False


@runtime_checkable
class AccountManager(Protocol):
    def create_account(self, request: AccountRequest) -> AccountResult: ...


@runtime_checkable
class CredentialRotator(Protocol):
    def rotate_credentials(self, resource_id: ResourceId) -> Sequence[Credential]: ...


@runtime_checkable
class SealingAccountManager(Protocol):
    """An account manager that encrypts the new credentials itself.

    It gets the platform's request whole (account info, credential options, encryption
    configs) and answers with ``EncryptedData`` only, as upstream connectors do; the runner
    delivers that unchanged instead of encrypting plaintext ``Credential`` items itself.
    """

    def create_account_sealed(self, request: CreateAccountRequest) -> CreateAccountResponse: ...


@runtime_checkable
class SealingCredentialRotator(Protocol):
    """A credential rotator that encrypts the new credentials itself (see SealingAccountManager)."""

    def rotate_credentials_sealed(self, request: RotateCredentialRequest) -> RotateCredentialResponse: ...


@runtime_checkable
class SyncAware(Protocol):
    """A connector told which sync it serves (upstream sends ``active_sync_id`` with each call
    and ``Cleanup`` at the end; connectors that keep per-sync state scope it by this id)."""

    def sync_started(self, sync_id: str) -> None: ...

    def sync_finished(self, sync_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """What the platform asks a credential issuer for (an API key, key pair, token or secret)."""

    identity_id: ResourceId
    options: CredentialIssueOptions
    request_id: str  # the task id: the same request must not issue twice
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """The new secret: its resource (if the system shows one) and the plaintexts to deliver."""

    credentials: Sequence[Credential]
    secret: Resource | None = None
    resource_mode: CredentialResourceMode = resource_pb2.CREDENTIAL_RESOURCE_MODE_UNSPECIFIED


@runtime_checkable
class CredentialIssuer(Protocol):
    """Issues new credentials for identities of this type (CAPABILITY_CREDENTIAL_ISSUE)."""

    def credential_issue_details(self) -> CredentialIssueDetails:
        """The options offered, reported per type in ConnectorMetadata (runner.md §9)."""
        ...

    def issue_credential(self, request: IssueRequest) -> IssuedCredential: ...


@runtime_checkable
class SealingCredentialIssuer(Protocol):
    """A credential issuer that encrypts the new secrets itself (see SealingAccountManager)."""

    def credential_issue_details(self) -> CredentialIssueDetails: ...

    def issue_credential_sealed(self, request: IssueCredentialRequest) -> IssueCredentialResponse: ...


@runtime_checkable
class Connector(Protocol):
    """One configured connector instance."""

    def metadata(self) -> ConnectorMetadata: ...

    def validate(self) -> None:
        """Check credentials / reachability; raise a BatonError subclass if unusable."""
        ...

    def resource_syncers(self) -> Sequence[ResourceSyncer]: ...


ConfigValue = str | int | bool | list[str]
