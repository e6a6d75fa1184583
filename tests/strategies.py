"""Hypothesis strategies for c1.connector.v2 objects (ResourceType, Resource, Entitlement, Grant).

Values are realistic rather than exhaustive: ids are short non-empty strings
(colons allowed, as in real entitlement ids), annotations are real annotation
messages packed into ``Any``. Callers that need unique storage keys should
use ``unique_by`` with the key the c1z tables use (e.g. ``resource_key``).
"""

from __future__ import annotations

from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from hypothesis import strategies as st

from baton_cli.pb.c1.connector.v2 import (
    annotation_grant_pb2,
    annotation_resource_tree_pb2,
    annotation_trait_pb2,
    entitlement_pb2,
    grant_pb2,
    resource_pb2,
)

# Valid UTF-8 only (protobuf strings): no surrogates, and no NUL, which no real id contains.
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00", max_codepoint=0x2FF) | (
    st.sampled_from("é漢-_:./@ ")
)
ids = st.text(_CHARS, min_size=1, max_size=12)
texts = st.text(_CHARS, max_size=20)


def pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def resource_key(resource: resource_pb2.Resource) -> str:
    """The ``external_id`` a resource is stored under (c1z.md §4.2)."""
    return f"{resource.id.resource_type}:{resource.id.resource}"


trait_values = st.sampled_from(resource_pb2.ResourceType.Trait.values())

user_traits = st.builds(
    annotation_trait_pb2.UserTrait,
    login=texts,
    emails=st.lists(
        st.builds(annotation_trait_pb2.UserTrait.Email, address=texts, is_primary=st.booleans()), max_size=2
    ),
    login_aliases=st.lists(texts, max_size=2),
)
group_traits = st.builds(annotation_trait_pb2.GroupTrait, group_source_type=texts)
child_types = st.builds(annotation_resource_tree_pb2.ChildResourceType, resource_type_id=ids)
grant_expandables = st.builds(
    annotation_grant_pb2.GrantExpandable,
    # Blank ids matter: an expandable naming only blank ids is dropped (c1z.md §4.5 rule 2).
    entitlement_ids=st.lists(ids | st.sampled_from(["", " ", "\t"]), max_size=3),
    shallow=st.booleans(),
    resource_type_ids=st.lists(ids, max_size=2),
)
grant_immutables = st.builds(annotation_grant_pb2.GrantImmutable, source_id=texts)

resource_annotations = st.lists((user_traits | group_traits | child_types).map(pack), max_size=2)

resource_types = st.builds(
    resource_pb2.ResourceType,
    id=ids,
    display_name=texts,
    traits=st.lists(trait_values, max_size=2),
    annotations=st.lists(child_types.map(pack), max_size=2),
    description=texts,
    sourced_externally=st.booleans(),
)

resource_ids = st.builds(resource_pb2.ResourceId, resource_type=ids, resource=ids)

timestamps = st.builds(
    timestamp_pb2.Timestamp, seconds=st.integers(0, 4_000_000_000), nanos=st.integers(0, 999_999_999)
)

resources = st.builds(
    resource_pb2.Resource,
    id=resource_ids,
    parent_resource_id=st.none() | resource_ids,
    display_name=texts,
    annotations=resource_annotations,
    description=texts,
    external_id=st.none() | st.builds(resource_pb2.ExternalId, id=texts, link=texts, description=texts),
    created_at=st.none() | timestamps,
)

entitlements = st.builds(
    entitlement_pb2.Entitlement,
    resource=resources,
    id=ids,
    display_name=texts,
    description=texts,
    grantable_to=st.lists(resource_types, max_size=2),
    purpose=st.sampled_from(entitlement_pb2.Entitlement.PurposeValue.values()),
    slug=texts,
)

grant_sources = st.builds(
    grant_pb2.GrantSources,
    sources=st.dictionaries(
        ids, st.builds(grant_pb2.GrantSources.GrantSource, is_direct=st.booleans()), max_size=3
    ),
)

grant_annotations = st.lists((grant_expandables | grant_immutables).map(pack), max_size=3)

grants = st.builds(
    grant_pb2.Grant,
    entitlement=entitlements,
    principal=resources,
    id=ids,
    annotations=grant_annotations,
    sources=st.none() | grant_sources,
)
