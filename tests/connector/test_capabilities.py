from __future__ import annotations

from collections.abc import Sequence

import pytest

from baton_cli.connector import builders
from baton_cli.connector.api import (
    AccountRequest,
    AccountResult,
    ConnectorMetadata,
    Credential,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.connector.capabilities import (
    capability_name,
    capability_names,
    connector_metadata_with_capabilities,
)
from baton_cli.errors import ConnectorError
from baton_cli.pb.c1.connector.v2 import connector_pb2
from baton_cli.pb.c1.connector.v2.annotation_external_ticket_pb2 import ExternalTicketSettings

from .conftest import MakeDemo


class Syncer:
    def __init__(self, type_id: str, annotations: Sequence[object] = ()) -> None:
        self._type = builders.resource_type(type_id, type_id.title(), annotations=annotations)  # type: ignore[arg-type]

    @property
    def resource_type(self) -> ResourceType:
        return self._type

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        return Page([])


class Getter(Syncer):
    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        return None


class Manager(Syncer):
    def create(self, resource: Resource) -> Resource:
        return resource

    def delete(self, resource_id: ResourceId, parent: ResourceId | None) -> None:
        return None


class CreatorOnly(Syncer):
    def create(self, resource: Resource) -> Resource:
        return resource


class Accounts(Syncer):
    def create_account(self, request: AccountRequest) -> AccountResult:
        raise NotImplementedError

    def rotate_credentials(self, resource_id: ResourceId) -> Sequence[Credential]:
        return []


class Fake:
    def __init__(self, *syncers: ResourceSyncer) -> None:
        self._syncers = syncers

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="Fake", description="for tests")

    def validate(self) -> None:
        return None

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return self._syncers


def per_type(metadata: ConnectorMetadata) -> dict[str, list[str]]:
    return {
        e.resource_type.id: capability_names(metadata, e.resource_type.id)
        for e in metadata.capabilities.resource_type_capabilities
    }


def test_demo_capabilities(make_demo: MakeDemo) -> None:
    metadata = connector_metadata_with_capabilities(make_demo())
    assert (metadata.display_name, metadata.description != "") == ("Demo", True)
    assert per_type(metadata) == {
        "group": ["sync", "targeted_sync", "provision", "resource_delete"],
        "role": ["sync", "targeted_sync", "provision", "resource_delete"],
        "user": [
            "sync",
            "targeted_sync",
            "account_provisioning",
            "resource_delete",
            "resource_create",
            "credential_rotation",
            "credential_issue",
        ],
    }
    assert [e.resource_type.id for e in metadata.capabilities.resource_type_capabilities] == [
        "group",
        "role",
        "user",
    ]
    # Sorted by enum number: PROVISION=1, SYNC=2, TICKETING=4, ACCOUNT_PROVISIONING=5,
    # CREDENTIAL_ROTATION=6, RESOURCE_CREATE=7, RESOURCE_DELETE=8, ACTIONS=10, TARGETED_SYNC=11,
    # EVENT_FEED_V2=12, SERVICE_MODE_TARGETED_SYNC=13, CREDENTIAL_ISSUE=14.
    assert capability_names(metadata) == [
        "provision",
        "sync",
        "ticketing",
        "account_provisioning",
        "credential_rotation",
        "resource_create",
        "resource_delete",
        "actions",
        "targeted_sync",
        "event_feed_v2",
        "service_mode_targeted_sync",
        "credential_issue",
    ]
    [user] = [e for e in metadata.capabilities.resource_type_capabilities if e.resource_type.id == "user"]
    api_key = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_API_KEY
    assert user.credential_issue.preferred_option == api_key
    assert [o.option for o in user.credential_issue.options] == [api_key]
    # A ticket system puts ExternalTicketSettings{enabled: --ticketing} in the metadata (runner.md §2).
    [settings] = [a for a in metadata.annotations if a.Is(ExternalTicketSettings.DESCRIPTOR)]
    unpacked = ExternalTicketSettings()
    assert settings.Unpack(unpacked) and not unpacked.enabled
    enabled = connector_metadata_with_capabilities(make_demo(), ticketing=True)
    [settings] = [a for a in enabled.annotations if a.Is(ExternalTicketSettings.DESCRIPTOR)]
    assert settings.Unpack(unpacked) and unpacked.enabled
    details = metadata.capabilities.credential_details
    random_password = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD
    assert list(details.capability_account_provisioning.supported_credential_options) == [random_password]
    assert details.capability_account_provisioning.preferred_credential_option == random_password
    assert details.capability_credential_rotation.preferred_credential_option == random_password


def test_capabilities_follow_the_protocols_implemented() -> None:
    connector = Fake(Syncer("zeta"), Getter("alpha"), Manager("mid"), CreatorOnly("beta"), Accounts("user"))
    metadata = connector_metadata_with_capabilities(connector)
    assert per_type(metadata) == {
        "alpha": ["sync", "targeted_sync"],
        "beta": ["sync"],
        "mid": ["sync", "resource_delete", "resource_create"],
        "user": ["sync", "account_provisioning", "credential_rotation"],
        "zeta": ["sync"],
    }
    assert [e.resource_type.id for e in metadata.capabilities.resource_type_capabilities] == [
        "alpha",
        "beta",
        "mid",
        "user",
        "zeta",
    ]
    assert capability_names(metadata) == [
        "sync",
        "account_provisioning",
        "credential_rotation",
        "resource_create",
        "resource_delete",
        "targeted_sync",
        "service_mode_targeted_sync",
    ]


def test_sync_only_connector_has_no_credential_details() -> None:
    metadata = connector_metadata_with_capabilities(Fake(Syncer("user")))
    assert capability_names(metadata) == ["sync"]
    assert not metadata.capabilities.HasField("credential_details")


def test_connector_credential_details_are_kept() -> None:
    class WithDetails(Fake):
        def metadata(self) -> ConnectorMetadata:
            metadata = super().metadata()
            option = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD
            provisioning = metadata.capabilities.credential_details.capability_account_provisioning
            provisioning.supported_credential_options.append(option)
            provisioning.preferred_credential_option = option
            return metadata

    metadata = connector_metadata_with_capabilities(WithDetails(Accounts("user")))
    details = metadata.capabilities.credential_details
    no_password = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD
    assert details.capability_account_provisioning.preferred_credential_option == no_password
    random_password = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD
    assert details.capability_credential_rotation.preferred_credential_option == random_password


def test_resource_type_markers_are_surfaced() -> None:
    permissions = connector_pb2.CapabilityPermissions(
        permissions=[connector_pb2.CapabilityPermission(permission="read:users")]
    )
    marked = Syncer(
        "user",
        [
            builders.pack(connector_pb2.OptInRequired()),
            builders.pack(connector_pb2.Deprecated()),
            builders.pack(connector_pb2.SkipSyncAnomalyDetection()),
            builders.pack(permissions),
        ],
    )
    metadata = connector_metadata_with_capabilities(Fake(marked, Syncer("plain")))
    entries = {e.resource_type.id: e for e in metadata.capabilities.resource_type_capabilities}
    user = entries["user"]
    assert (user.opt_in_required, user.deprecated, user.skip_sync_anomaly_detection) == (True, True, True)
    assert user.permissions == permissions
    plain = entries["plain"]
    assert (plain.opt_in_required, plain.deprecated, plain.skip_sync_anomaly_detection) == (
        False,
        False,
        False,
    )
    assert not plain.HasField("permissions")


def test_metadata_of_the_connector_is_not_mutated() -> None:
    original = ConnectorMetadata(display_name="Fake")

    class Shared(Fake):
        def metadata(self) -> ConnectorMetadata:
            return original

    connector_metadata_with_capabilities(Shared(Syncer("user")))
    assert not original.HasField("capabilities")


def test_duplicate_resource_types_are_a_connector_error() -> None:
    with pytest.raises(ConnectorError, match="more than one syncer for resource type 'user'"):
        connector_metadata_with_capabilities(Fake(Syncer("user"), Getter("user")))


def test_capability_name_and_unknown_type() -> None:
    assert (
        capability_name(connector_pb2.CAPABILITY_SERVICE_MODE_TARGETED_SYNC) == "service_mode_targeted_sync"
    )
    with pytest.raises(KeyError):
        capability_names(connector_metadata_with_capabilities(Fake(Syncer("user"))), "group")
