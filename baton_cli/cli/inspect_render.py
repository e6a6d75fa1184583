"""Small rendering helpers shared by the inspection commands."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from google.protobuf.message import Message

from baton_cli.cli.inspect_output import to_json
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

K = TypeVar("K")
V = TypeVar("V")

# Enough for the entitlements, resources and principals of typical syncs; bounded (a few MB
# of JSON text at most) for huge ones, where misses just cost a re-render.
CACHE_SIZE = 16384


class Lru(Generic[K, V]):
    """A bounded cache: rows that share an entitlement or principal render it once."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[..., V], *args: object) -> V:
        """The cached value for ``key``, else ``make(*args)`` (arguments, not a closure: callers loop)."""
        try:
            self._items.move_to_end(key)
            return self._items[key]
        except KeyError:
            value = make(*args)
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
            return value


def element(**parts: str | None) -> str:
    """A JSON object from already-serialized JSON values, keys in the order given; None is left out."""
    return "{" + ",".join(f'"{key}":{value}' for key, value in parts.items() if value is not None) + "}"


def message_json(message: Message | None) -> str | None:
    return None if message is None else to_json(message)


def traits(resource_type: resource_pb2.ResourceType) -> str:
    names = (resource_pb2.ResourceType.Trait.Name(t) for t in resource_type.traits)
    return ", ".join(n.removeprefix("TRAIT_").lower() for n in names)


def resource_key(resource_id: resource_pb2.ResourceId) -> str:
    return f"{resource_id.resource_type}:{resource_id.resource}"


def name(resource: resource_pb2.Resource) -> str:
    """What a person recognises: the display name, else the id."""
    return resource.display_name or resource.id.resource


def entitlement_name(entitlement: entitlement_pb2.Entitlement) -> str:
    # Shown next to its resource, so the slug ("member", "admin") says the most; some connectors
    # reuse the resource's name as the entitlement's display name.
    return entitlement.slug or entitlement.display_name or entitlement.id


def sources_of(grant: grant_pb2.Grant) -> list[str]:
    """Entitlements this grant was expanded from; the grant's own entitlement means 'also direct'."""
    return sorted(k for k in grant.sources.sources if k != grant.entitlement.id)


def is_direct(grant: grant_pb2.Grant) -> bool:
    keys = grant.sources.sources
    return not keys or grant.entitlement.id in keys


def via(grant: grant_pb2.Grant) -> str:
    expanded = sources_of(grant)
    if not expanded:
        return "direct"
    text = ", ".join(expanded)
    return f"direct + {text}" if is_direct(grant) else text
