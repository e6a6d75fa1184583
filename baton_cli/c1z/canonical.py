"""Message equality that ignores serialization choices: map order, also inside packed Any values.

Two writers of the same data (upstream Go, our Python; v1 and v3 engines)
serialize protobuf maps in different orders, and a map inside an annotation is
hidden in ``Any.value`` bytes. Canonical bytes unpack every Any whose type we
know, recursively, and serialize deterministically.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

_ANY = AnyPb.DESCRIPTOR.full_name
_TYPE_PREFIX = "/"


@functools.cache
def _load_annotation_types() -> None:
    # Annotations are Any values of connector v2 messages; their classes must be in the pool.
    import baton_cli.pb.c1.connector.v2 as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def canonicalize(message: Message) -> None:
    """Rewrite ``message`` in place so equal content gives equal bytes."""
    _load_annotation_types()
    _walk(message)


def canonical_bytes(message: Message) -> bytes:
    copy = type(message)()
    copy.CopyFrom(message)
    canonicalize(copy)
    return copy.SerializeToString(deterministic=True)


def same_content(a: Message, b: Message) -> bool:
    return canonical_bytes(a) == canonical_bytes(b)


def _walk(message: Message) -> None:
    if message.DESCRIPTOR.full_name == _ANY:
        _repack(message)
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        entry = field.message_type
        assert entry is not None  # a message field always has its type
        if entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    _walk(item)
        elif field.is_repeated:
            for item in value:
                _walk(item)
        else:
            _walk(value)


def _repack(message: Message) -> None:
    type_url = getattr(message, "type_url", "")
    name = type_url.rsplit(_TYPE_PREFIX, 1)[-1]
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
    except KeyError:
        return  # a type we do not know stays as its bytes
    inner = message_factory.GetMessageClass(descriptor)()
    try:
        inner.ParseFromString(message.value)  # type: ignore[attr-defined]
    except DecodeError:
        return
    _walk(inner)
    message.value = inner.SerializeToString(deterministic=True)  # type: ignore[attr-defined]


def without_embedded_copies(message: Message) -> Message:
    """A copy whose embedded resources/entitlements are reduced to their ids.

    An entitlement carries a copy of its resource and a grant copies of its entitlement and
    principal; how complete those copies are depends on the writer (connector, engine), and a
    change to the copied object is that object's own change.
    """
    copy = type(message)()
    copy.CopyFrom(message)
    if isinstance(copy, entitlement_pb2.Entitlement):
        _reduce_resource(copy.resource)
    elif isinstance(copy, grant_pb2.Grant):
        entitlement_id = copy.entitlement.id
        resource = copy.entitlement.resource
        _reduce_resource(resource)
        reduced_resource = resource_pb2.Resource()
        reduced_resource.CopyFrom(resource)
        copy.entitlement.Clear()
        copy.entitlement.id = entitlement_id
        if copy.HasField("entitlement"):
            copy.entitlement.resource.CopyFrom(reduced_resource)
        _reduce_resource(copy.principal)
    return copy


def _reduce_resource(resource: resource_pb2.Resource) -> None:
    rid = resource_pb2.ResourceId()
    rid.CopyFrom(resource.id)
    has_id = resource.HasField("id")
    resource.Clear()
    if has_id:
        resource.id.CopyFrom(rid)
