"""Annotation type URLs shared by the layers that inspect ``google.protobuf.Any`` annotations.

Comparing ``Any.type_url`` strings avoids unpacking every annotation of every
row on hot paths. Lives at the package root (like ``errors``) because both the
core and the c1z layer need it and neither may import the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import Message

from baton_cli.pb.c1.connector.v2 import annotation_baton_id_pb2, annotation_grant_pb2

TYPE_URL_PREFIX = "type.googleapis.com/"


def type_url(message: type[Message]) -> str:
    return TYPE_URL_PREFIX + message.DESCRIPTOR.full_name


def has_any(annotations: Iterable[AnyPb], urls: frozenset[str] | str) -> bool:
    wanted = frozenset((urls,)) if isinstance(urls, str) else urls
    return any(a.type_url in wanted for a in annotations)


GRANT_EXPANDABLE = type_url(annotation_grant_pb2.GrantExpandable)
GRANT_IMMUTABLE = type_url(annotation_grant_pb2.GrantImmutable)
BATON_ID = type_url(annotation_baton_id_pb2.BatonID)
EXTERNAL_RESOURCE_MATCH = frozenset(
    type_url(m)
    for m in (
        annotation_baton_id_pb2.ExternalResourceMatch,
        annotation_baton_id_pb2.ExternalResourceMatchAll,
        annotation_baton_id_pb2.ExternalResourceMatchID,
    )
)
