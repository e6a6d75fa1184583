"""GrantExpandable lives in its own column, not in the grant blob (c1z.md §4.5).

Current upstream writers strip the annotation from ``data`` and keep the
message in ``expansion`` so grant expansion can find its work with an index
instead of decoding every grant.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import any_pb2

from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, grant_pb2

EXPANDABLE_NAME = annotation_grant_pb2.GrantExpandable.DESCRIPTOR.full_name
EXPANDABLE_URL = f"type.googleapis.com/{EXPANDABLE_NAME}"
# Bytes that must occur in any serialized grant carrying the annotation (its type URL).
EXPANDABLE_MARKER = EXPANDABLE_NAME.encode()


@dataclass(frozen=True, slots=True)
class SplitGrant:
    data: bytes  # the grant serialized without any GrantExpandable annotation
    expansion: bytes | None  # serialized GrantExpandable when it names an entitlement, else None
    found: bool  # whether the grant carried the annotation at all


def split_expandable(grant: grant_pb2.Grant) -> SplitGrant:
    """Rules 1-2 of §4.5; ``grant`` itself is left untouched."""
    positions = [i for i, ann in enumerate(grant.annotations) if _is_expandable(ann)]
    if not positions:
        return SplitGrant(grant.SerializeToString(deterministic=True), None, False)
    expandable = annotation_grant_pb2.GrantExpandable.FromString(grant.annotations[positions[0]].value)
    stripped = grant_pb2.Grant()
    stripped.CopyFrom(grant)
    for i in reversed(positions):
        del stripped.annotations[i]
    expansion = None
    if any(eid.strip() for eid in expandable.entitlement_ids):
        expansion = expandable.SerializeToString(deterministic=True)
    return SplitGrant(stripped.SerializeToString(deterministic=True), expansion, True)


def attach_expansion(grant: grant_pb2.Grant, expansion: bytes) -> None:
    """Re-add the GrantExpandable annotation (as the last annotation) from its column bytes."""
    grant.annotations.append(any_pb2.Any(type_url=EXPANDABLE_URL, value=expansion))


def _is_expandable(annotation: any_pb2.Any) -> bool:
    # Match on the message name after the last '/', as Any.Is does, whatever the URL prefix.
    return annotation.type_url.rpartition("/")[2] == EXPANDABLE_NAME
