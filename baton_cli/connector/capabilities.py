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
    CredentialRotator,
    Provisioner,
    ResourceCreator,
    ResourceDeleter,
    ResourceGetter,
    ResourceSyncer,
)
from baton_cli.errors import ConnectorError
from baton_cli.pb.c1.connector.v2 import connector_pb2

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
    if isinstance(syncer, AccountManager):
        caps.append(connector_pb2.CAPABILITY_ACCOUNT_PROVISIONING)
    if isinstance(syncer, ResourceDeleter):
        caps.append(connector_pb2.CAPABILITY_RESOURCE_DELETE)
        # Upstream's resource manager is create AND delete; a creator alone reports nothing.
        if isinstance(syncer, ResourceCreator):
            caps.append(connector_pb2.CAPABILITY_RESOURCE_CREATE)
    if isinstance(syncer, CredentialRotator):
        caps.append(connector_pb2.CAPABILITY_CREDENTIAL_ROTATION)
    return caps


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
    return entry


def connector_metadata_with_capabilities(connector: Connector) -> ConnectorMetadata:
    """The connector's metadata with ``capabilities`` computed from its syncers.

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
