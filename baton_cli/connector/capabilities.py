"""The ``capabilities`` a connector reports in its metadata (runner.md §9).

They are derived from which optional Protocols each resource syncer implements,
so a plugin author never declares them by hand and they cannot drift.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TypeAlias

from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor

from baton_cli.connector.api import (
    AccountManager,
    Connector,
    ConnectorMetadata,
    CredentialIssuer,
    CredentialRotator,
    Provisioner,
    ResourceCreator,
    ResourceDeleter,
    ResourceGetter,
    ResourceSyncer,
    SealingAccountManager,
    SealingCredentialIssuer,
    SealingCredentialRotator,
)
from baton_cli.connector.services import ActionManager, EventFeedProvider, TicketManager
from baton_cli.errors import ConnectorError
from baton_cli.pb.c1.connector.v2 import annotation_external_ticket_pb2, connector_pb2

Capability: TypeAlias = connector_pb2.Capability.ValueType

CAPABILITY_PREFIX = "CAPABILITY_"

_RANDOM_PASSWORD = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD


def resource_type_capabilities(syncer: ResourceSyncer) -> list[Capability]:
    """Per-type capabilities, in the order of the runner.md §9 table."""
    caps = [connector_pb2.CAPABILITY_SYNC]
    if isinstance(syncer, ResourceGetter):
        caps.append(connector_pb2.CAPABILITY_TARGETED_SYNC)
    if isinstance(syncer, Provisioner):
        caps.append(connector_pb2.CAPABILITY_PROVISION)
    if isinstance(syncer, (AccountManager, SealingAccountManager)):
        caps.append(connector_pb2.CAPABILITY_ACCOUNT_PROVISIONING)
    if isinstance(syncer, ResourceDeleter):
        caps.append(connector_pb2.CAPABILITY_RESOURCE_DELETE)
        # Upstream's resource manager is create AND delete; a creator alone reports nothing.
        if isinstance(syncer, ResourceCreator):
            caps.append(connector_pb2.CAPABILITY_RESOURCE_CREATE)
    if isinstance(syncer, (CredentialRotator, SealingCredentialRotator)):
        caps.append(connector_pb2.CAPABILITY_CREDENTIAL_ROTATION)
    if isinstance(syncer, (CredentialIssuer, SealingCredentialIssuer)):
        caps.append(connector_pb2.CAPABILITY_CREDENTIAL_ISSUE)
    return caps


# Connector-wide services and the capability each adds to connector_capabilities (runner.md §9).
SERVICE_CAPABILITIES: tuple[tuple[type, Capability], ...] = (
    (TicketManager, connector_pb2.CAPABILITY_TICKETING),
    (ActionManager, connector_pb2.CAPABILITY_ACTIONS),
    (EventFeedProvider, connector_pb2.CAPABILITY_EVENT_FEED_V2),
)


def _marked(annotations: Iterable[any_pb2.Any], marker: Descriptor) -> bool:
    return any(annotation.Is(marker) for annotation in annotations)


def _type_capability(syncer: ResourceSyncer) -> connector_pb2.ResourceTypeCapability:
    rtype = syncer.resource_type
    entry = connector_pb2.ResourceTypeCapability(
        resource_type=rtype,
        capabilities=resource_type_capabilities(syncer),
        opt_in_required=_marked(rtype.annotations, connector_pb2.OptInRequired.DESCRIPTOR),
        skip_sync_anomaly_detection=_marked(
            rtype.annotations, connector_pb2.SkipSyncAnomalyDetection.DESCRIPTOR
        ),
        deprecated=_marked(rtype.annotations, connector_pb2.Deprecated.DESCRIPTOR),
    )
    for annotation in rtype.annotations:
        if annotation.Is(connector_pb2.CapabilityPermissions.DESCRIPTOR):
            annotation.Unpack(entry.permissions)
    if isinstance(syncer, (CredentialIssuer, SealingCredentialIssuer)):
        entry.credential_issue.CopyFrom(syncer.credential_issue_details())
    return entry


def _check_issue_details(per_type: list[connector_pb2.ResourceTypeCapability], deleters: set[str]) -> None:
    """Upstream refuses issuer details whose secrets could never be cleaned up or chosen."""
    for entry in per_type:
        if connector_pb2.CAPABILITY_CREDENTIAL_ISSUE not in entry.capabilities:
            continue
        details = entry.credential_issue
        where = f"credential issuer of {entry.resource_type.id!r}"
        offered = [option.option for option in details.options]
        if not offered:
            raise ConnectorError(f"{where}: offers no credential options")
        if details.preferred_option not in offered:
            raise ConnectorError(f"{where}: preferred option is not among the offered options")
        for option in details.options:
            secret_type = option.secret_resource_type_id
            if secret_type and secret_type not in deleters:
                raise ConnectorError(
                    f"{where}: secret resource type {secret_type!r} has no deleter, so issued "
                    "secrets could not be revoked"
                )


def connector_metadata_with_capabilities(
    connector: Connector, *, ticketing: bool = False
) -> ConnectorMetadata:
    """The connector's metadata with ``capabilities`` computed from its syncers.

    A connector with a ticket system also gets an ``ExternalTicketSettings``
    annotation saying whether ticketing is switched on (``--ticketing``, runner.md §2).

    Credential details the connector set itself are kept; otherwise account
    provisioning and rotation advertise a random password, the one option the
    runner's own one-shot commands ask for (cli.md §2).
    """
    metadata = ConnectorMetadata()
    metadata.CopyFrom(connector.metadata())
    syncers = sorted(connector.resource_syncers(), key=lambda s: s.resource_type.id)
    counts = Counter(s.resource_type.id for s in syncers)
    duplicates = sorted(type_id for type_id, count in counts.items() if count > 1)
    if duplicates:
        raise ConnectorError(f"connector has more than one syncer for resource type {duplicates[0]!r}")

    per_type = [_type_capability(s) for s in syncers]
    union: set[Capability] = {cap for entry in per_type for cap in entry.capabilities}
    if any(isinstance(s, ResourceGetter) for s in syncers):
        union.add(connector_pb2.CAPABILITY_SERVICE_MODE_TARGETED_SYNC)
    union.update(cap for service, cap in SERVICE_CAPABILITIES if isinstance(connector, service))
    _check_issue_details(per_type, {s.resource_type.id for s in syncers if isinstance(s, ResourceDeleter)})

    details = connector_pb2.CredentialDetails()
    if metadata.capabilities.HasField("credential_details"):
        details.CopyFrom(metadata.capabilities.credential_details)
    if connector_pb2.CAPABILITY_ACCOUNT_PROVISIONING in union and not details.HasField(
        "capability_account_provisioning"
    ):
        details.capability_account_provisioning.supported_credential_options.append(_RANDOM_PASSWORD)
        details.capability_account_provisioning.preferred_credential_option = _RANDOM_PASSWORD
    if connector_pb2.CAPABILITY_CREDENTIAL_ROTATION in union and not details.HasField(
        "capability_credential_rotation"
    ):
        details.capability_credential_rotation.supported_credential_options.append(_RANDOM_PASSWORD)
        details.capability_credential_rotation.preferred_credential_option = _RANDOM_PASSWORD

    capabilities = connector_pb2.ConnectorCapabilities(
        resource_type_capabilities=per_type, connector_capabilities=sorted(union)
    )
    if details.ByteSize():
        capabilities.credential_details.CopyFrom(details)
    metadata.capabilities.CopyFrom(capabilities)
    if isinstance(connector, TicketManager):
        # Replaces one the connector reported itself (a child's), as upstream's annotation Update does.
        marker = annotation_external_ticket_pb2.ExternalTicketSettings
        kept = [a for a in metadata.annotations if not a.Is(marker.DESCRIPTOR)]
        settings = any_pb2.Any()
        settings.Pack(marker(enabled=ticketing))
        del metadata.annotations[:]
        metadata.annotations.extend([*kept, settings])
    return metadata


def capability_name(capability: Capability) -> str:
    """``CAPABILITY_ACCOUNT_PROVISIONING`` -> ``account_provisioning``."""
    return connector_pb2.Capability.Name(capability).removeprefix(CAPABILITY_PREFIX).lower()


def capability_names(metadata: ConnectorMetadata, resource_type_id: str | None = None) -> list[str]:
    """Short names of the connector-level capabilities, or of one resource type's."""
    if resource_type_id is None:
        return [capability_name(c) for c in metadata.capabilities.connector_capabilities]
    for entry in metadata.capabilities.resource_type_capabilities:
        if entry.resource_type.id == resource_type_id:
            return [capability_name(c) for c in entry.capabilities]
    raise KeyError(resource_type_id)
