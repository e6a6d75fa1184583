"""A connector child's ``c1.connector.v2`` services as a ``baton_cli.connector.api.Connector``.

The sync engine and the task handlers drive this exactly as they drive a Python plugin: one
resource syncer per resource type the child lists, with the optional Protocols (getter,
provisioner, deleter, creator, account manager, credential rotator, credential issuer) present
where the child's metadata reports the capability. The child encrypts new credentials itself,
from the encryption configs in the request (runner.md §8), so its account manager, rotator and
issuer are the sealing kind. Its connector-wide services (tickets, actions, event feeds) are in
services.py.
Static entitlements (ListStaticEntitlements) are materialized per resource on the first page of
its entitlements, as upstream's syncer does (runner.md §7.2 step 3).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

import grpc

from baton_cli.connector.api import (
    ConnectorMetadata,
    CredentialIssueDetails,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, CancelledError, ConnectorError, StatusCode
from baton_cli.pb.c1.connector.v2 import (
    action_pb2_grpc,
    annotation_exclusion_group_pb2,
    connector_pb2,
    connector_pb2_grpc,
    entitlement_pb2,
    entitlement_pb2_grpc,
    event_feed_pb2_grpc,
    grant_pb2,
    grant_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
    ticket_pb2_grpc,
)
from baton_cli.transport.child.process import ChildProcess
from baton_cli.transport.child.rpc_errors import connector_error, status_code

T = TypeVar("T")
DEFAULT_CALL_TIMEOUT_SECONDS = 300.0
# Upstream sends active_sync_id only to children built with SDK >= 0.4.3 (runner.md §7.1).
_SYNC_ID_SDK = (0, 4, 3)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_EXIT_WAIT_SECONDS = 0.5
_MAX_STATIC_PAGES = 1000
_CANCEL_POLL_SECONDS = 0.1  # how often a waiting call looks at the cancel token


def sdk_at_least(version: str, wanted: tuple[int, int, int]) -> bool:
    match = _VERSION.match(version.strip())
    return match is not None and tuple(int(g) for g in match.groups()) >= wanted


class ConnectorWideStubs:
    """Stubs of the child's connector-wide services (used by services.py)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.tickets = ticket_pb2_grpc.TicketsServiceStub(channel)
        self.actions = action_pb2_grpc.ActionServiceStub(channel)
        self.events = event_feed_pb2_grpc.EventServiceStub(channel)


class ChildConnector:
    """Calls the child; ``close`` is the launcher's (see launch.py), not the engine's."""

    def __init__(
        self,
        channel: grpc.Channel,
        process: ChildProcess,
        *,
        name: str,
        call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS,
        cancel: CancelToken | None = None,
        metadata: ConnectorMetadata | None = None,
    ) -> None:
        self.name = name
        self._cancel = cancel
        self.process = process
        self._timeout = call_timeout
        self._connector = connector_pb2_grpc.ConnectorServiceStub(channel)
        self._types = resource_pb2_grpc.ResourceTypesServiceStub(channel)
        self._resources = resource_pb2_grpc.ResourcesServiceStub(channel)
        self._getter = resource_pb2_grpc.ResourceGetterServiceStub(channel)
        self._manager = resource_pb2_grpc.ResourceManagerServiceStub(channel)
        self._deleter = resource_pb2_grpc.ResourceDeleterServiceStub(channel)
        self._entitlements = entitlement_pb2_grpc.EntitlementsServiceStub(channel)
        self._grants = grant_pb2_grpc.GrantsServiceStub(channel)
        self._grant_manager = grant_pb2_grpc.GrantManagerServiceStub(channel)
        self._accounts = resource_pb2_grpc.AccountManagerServiceStub(channel)
        self._credentials = resource_pb2_grpc.CredentialManagerServiceStub(channel)
        self.stubs = ConnectorWideStubs(channel)
        self._lock = threading.Lock()
        self._metadata: ConnectorMetadata | None = metadata
        self._syncers: list[ResourceSyncer] | None = None
        self._static: dict[str, list[Entitlement]] = {}
        self.sdk_version = ""
        self._send_sync_id = False
        self.sync_id = ""

    # -- Connector ----------------------------------------------------------------------

    def metadata(self) -> ConnectorMetadata:
        with self._lock:
            if self._metadata is None:
                response = self.call("GetMetadata", self._connector.GetMetadata, _pb_get_metadata())
                self._metadata = response.metadata
            return self._metadata

    def ping(self, timeout: float) -> ConnectorMetadata:
        """One GetMetadata within ``timeout``: the readiness probe after launch."""
        response = self.call("GetMetadata", self._connector.GetMetadata, _pb_get_metadata(), timeout=timeout)
        metadata: ConnectorMetadata = response.metadata
        return metadata

    def validate(self) -> None:
        response = self.call(
            "Validate", self._connector.Validate, connector_pb2.ConnectorServiceValidateRequest()
        )
        self.sdk_version = response.sdk_version
        self._send_sync_id = sdk_at_least(response.sdk_version, _SYNC_ID_SDK)

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        if self._syncers is None:
            by_type = {
                entry.resource_type.id: set(entry.capabilities)
                for entry in self.metadata().capabilities.resource_type_capabilities
            }
            self._syncers = [
                _syncer_class(frozenset(by_type.get(rt.id, _UNREPORTED)))(self, rt)
                for rt in self._list_resource_types()
            ]
        return self._syncers

    # -- SyncAware ----------------------------------------------------------------------

    def sync_started(self, sync_id: str) -> None:
        self.sync_id = sync_id

    def sync_finished(self, sync_id: str) -> None:
        request = connector_pb2.ConnectorServiceCleanupRequest(active_sync_id=self._active(sync_id))
        self.call("Cleanup", self._connector.Cleanup, request)
        self.sync_id = ""

    # -- calls --------------------------------------------------------------------------

    def active_sync_id(self) -> str:
        return self._active(self.sync_id)

    def _active(self, sync_id: str) -> str:
        return sync_id if self._send_sync_id else ""

    def call(self, where: str, method: Callable[..., T], request: Any, *, timeout: float | None = None) -> T:
        timeout = self._timeout if timeout is None else timeout
        try:
            if self._cancel is None:
                return method(request, timeout=timeout)
            result: T = self._cancellable(where, method.future(request, timeout=timeout))  # type: ignore[attr-defined]
            return result
        except grpc.RpcError as exc:
            raise self.error(exc, where) from None

    def _cancellable(self, where: str, future: Any) -> Any:
        """Wait for the call, or cancel it at once when our cancel token fires (Ctrl-C, SIGTERM)."""
        assert self._cancel is not None
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        while not done.wait(_CANCEL_POLL_SECONDS):
            if self._cancel.cancelled:
                future.cancel()
                if self.process.returncode is not None:  # the child's death is why we were cancelled
                    raise ConnectorError(
                        f"connector {self.name} {self.process.exit_description()} (during {where})"
                    )
                raise CancelledError(f"cancelled during connector {where}: {self._cancel.reason}")
        return future.result()

    def error(self, exc: Any, where: str) -> BatonError:
        """The child's own error, or, when the child is gone, why it went (never retried)."""
        transport_failure = status_code(exc) in (
            StatusCode.UNAVAILABLE,
            StatusCode.CANCELLED,
            StatusCode.UNKNOWN,
            StatusCode.INTERNAL,  # a stream reset by a dying peer
        )
        if transport_failure and self.process.wait(_EXIT_WAIT_SECONDS) is not None:
            return ConnectorError(f"connector {self.name} {self.process.exit_description()} (during {where})")
        return connector_error(exc, where)

    def _list_resource_types(self) -> list[ResourceType]:
        types: list[ResourceType] = []
        token = ""
        while True:
            request = resource_pb2.ResourceTypesServiceListResourceTypesRequest(
                page_token=token, active_sync_id=self.active_sync_id()
            )
            response = self.call("ListResourceTypes", self._types.ListResourceTypes, request)
            types.extend(response.list)
            if not response.next_page_token or response.next_page_token == token:
                return types
            token = response.next_page_token

    def static_entitlements(self, resource_type_id: str) -> list[Entitlement]:
        """The type's template entitlements, fetched once; none when the child has no such call."""
        if resource_type_id not in self._static:
            templates: list[Entitlement] = []
            token = ""
            for _ in range(_MAX_STATIC_PAGES):
                request = entitlement_pb2.EntitlementsServiceListStaticEntitlementsRequest(
                    resource_type_id=resource_type_id, page_token=token, active_sync_id=self.active_sync_id()
                )
                try:
                    response = self.call(
                        "ListStaticEntitlements", self._entitlements.ListStaticEntitlements, request
                    )
                except ConnectorError as exc:
                    if exc.code in (StatusCode.UNIMPLEMENTED, StatusCode.NOT_FOUND):
                        break
                    raise
                templates.extend(response.list)
                if not response.next_page_token or response.next_page_token == token:
                    break
                token = response.next_page_token
            self._static[resource_type_id] = templates
        return self._static[resource_type_id]


def _pb_get_metadata() -> connector_pb2.ConnectorServiceGetMetadataRequest:
    return connector_pb2.ConnectorServiceGetMetadataRequest()


# Without capability details (older SDKs) a type can at least try a targeted fetch: a child
# without the getter answers UNIMPLEMENTED, which a targeted sync skips.
_UNREPORTED = frozenset({connector_pb2.CAPABILITY_SYNC, connector_pb2.CAPABILITY_TARGETED_SYNC})


class ChildSyncer:
    """One resource type of the child: ListResources, ListEntitlements, ListGrants."""

    def __init__(self, connector: ChildConnector, resource_type: ResourceType) -> None:
        self._connector = connector
        self._type = resource_type

    @property
    def resource_type(self) -> ResourceType:
        return self._type

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        c = self._connector
        request = resource_pb2.ResourcesServiceListResourcesRequest(
            resource_type_id=self._type.id, page_token=page_token, active_sync_id=c.active_sync_id()
        )
        if parent is not None:
            request.parent_resource_id.CopyFrom(parent)
        response = c.call("ListResources", c._resources.ListResources, request)
        return Page(list(response.list), response.next_page_token)

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        c = self._connector
        request = entitlement_pb2.EntitlementsServiceListEntitlementsRequest(
            resource=resource, page_token=page_token, active_sync_id=c.active_sync_id()
        )
        response = c.call("ListEntitlements", c._entitlements.ListEntitlements, request)
        items = list(response.list)
        if not page_token:
            items = [*(_materialize(t, resource) for t in c.static_entitlements(self._type.id)), *items]
        return Page(items, response.next_page_token)

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        c = self._connector
        request = grant_pb2.GrantsServiceListGrantsRequest(
            resource=resource, page_token=page_token, active_sync_id=c.active_sync_id()
        )
        response = c.call("ListGrants", c._grants.ListGrants, request)
        return Page(list(response.list), response.next_page_token)


class _Getter:
    _connector: ChildConnector

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        c = self._connector
        request = resource_pb2.ResourceGetterServiceGetResourceRequest(
            resource_id=resource_id, active_sync_id=c.active_sync_id()
        )
        if parent is not None:
            request.parent_resource_id.CopyFrom(parent)
        try:
            response = c.call("GetResource", c._getter.GetResource, request)
        except ConnectorError as exc:
            if exc.code == StatusCode.NOT_FOUND:
                return None
            raise
        return response.resource if response.HasField("resource") else None


class _Provisioner:
    _connector: ChildConnector

    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]:
        c = self._connector
        request = grant_pb2.GrantManagerServiceGrantRequest(entitlement=entitlement, principal=principal)
        return list(c.call("Grant", c._grant_manager.Grant, request).grants)

    def revoke(self, grant: Grant) -> None:
        c = self._connector
        c.call("Revoke", c._grant_manager.Revoke, grant_pb2.GrantManagerServiceRevokeRequest(grant=grant))


class _Deleter:
    _connector: ChildConnector

    def delete(self, resource_id: ResourceId, parent: ResourceId | None) -> None:
        c = self._connector
        request = resource_pb2.DeleteResourceV2Request(resource_id=resource_id)
        if parent is not None:
            request.parent_resource_id.CopyFrom(parent)
        try:
            c.call("DeleteResourceV2", c._deleter.DeleteResourceV2, request)
        except ConnectorError as exc:
            if exc.code != StatusCode.UNIMPLEMENTED:
                raise
            # Children older than the deleter service (~v0.2.85) delete through the manager.
            legacy = resource_pb2.DeleteResourceRequest(resource_id=resource_id)
            if parent is not None:
                legacy.parent_resource_id.CopyFrom(parent)
            c.call("DeleteResource", c._manager.DeleteResource, legacy)


class _Creator:
    _connector: ChildConnector

    def create(self, resource: Resource) -> Resource:
        c = self._connector
        response = c.call(
            "CreateResource", c._manager.CreateResource, resource_pb2.CreateResourceRequest(resource=resource)
        )
        created: Resource = response.created
        return created


class _AccountManager:
    _connector: ChildConnector

    def create_account_sealed(
        self, request: resource_pb2.CreateAccountRequest
    ) -> resource_pb2.CreateAccountResponse:
        c = self._connector
        response: resource_pb2.CreateAccountResponse = c.call(
            "CreateAccount", c._accounts.CreateAccount, request
        )
        return response


class _CredentialRotator:
    _connector: ChildConnector

    def rotate_credentials_sealed(
        self, request: resource_pb2.RotateCredentialRequest
    ) -> resource_pb2.RotateCredentialResponse:
        c = self._connector
        response: resource_pb2.RotateCredentialResponse = c.call(
            "RotateCredential", c._credentials.RotateCredential, request
        )
        return response


class _Issuer:
    _connector: ChildConnector
    _type: ResourceType

    def credential_issue_details(self) -> CredentialIssueDetails:
        for entry in self._connector.metadata().capabilities.resource_type_capabilities:
            if entry.resource_type.id == self._type.id:
                return entry.credential_issue
        return CredentialIssueDetails()

    def issue_credential_sealed(
        self, request: resource_pb2.IssueCredentialRequest
    ) -> resource_pb2.IssueCredentialResponse:
        c = self._connector
        response: resource_pb2.IssueCredentialResponse = c.call(
            "IssueCredential", c._credentials.IssueCredential, request
        )
        return response


_MIXINS: tuple[tuple[int, type], ...] = (
    (connector_pb2.CAPABILITY_TARGETED_SYNC, _Getter),
    (connector_pb2.CAPABILITY_PROVISION, _Provisioner),
    (connector_pb2.CAPABILITY_RESOURCE_DELETE, _Deleter),
    (connector_pb2.CAPABILITY_RESOURCE_CREATE, _Creator),
    (connector_pb2.CAPABILITY_ACCOUNT_PROVISIONING, _AccountManager),
    (connector_pb2.CAPABILITY_CREDENTIAL_ROTATION, _CredentialRotator),
    (connector_pb2.CAPABILITY_CREDENTIAL_ISSUE, _Issuer),
)


@cache
def _syncer_class(capabilities: frozenset[int]) -> type[ChildSyncer]:
    """A syncer class with exactly the optional Protocols the child reports for the type, so
    capabilities computed from our Protocols (capabilities.py) agree with the child's own."""
    bases = tuple(mixin for capability, mixin in _MIXINS if capability in capabilities)
    if not bases:
        return ChildSyncer
    name = "ChildSyncer_" + "_".join(b.__name__.strip("_") for b in bases)
    return type(name, (ChildSyncer, *bases), {})


def _materialize(template: Entitlement, resource: Resource) -> Entitlement:
    """A static (per-type) entitlement made concrete for one resource (runner.md §7.2 step 3)."""
    entitlement = Entitlement()
    entitlement.CopyFrom(template)
    entitlement.resource.CopyFrom(resource)
    entitlement.id = f"{resource.id.resource_type}:{resource.id.resource}:{template.slug}"
    entitlement.display_name = template.display_name or resource.display_name
    entitlement.description = template.description or resource.description
    for annotation in entitlement.annotations:
        group = annotation_exclusion_group_pb2.EntitlementExclusionGroup()
        if annotation.Unpack(group) and group.scope_to_resource:
            group.exclusion_group_id += f"-{resource.id.resource}"
            annotation.Pack(group)
    return entitlement
