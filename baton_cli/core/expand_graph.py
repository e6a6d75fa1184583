"""The entitlement graph of grant expansion (runner.md §7.5 steps 1, 2 and 4).

Nodes are sets of entitlement ids: one id each at first, several once a cycle
has been collapsed into one node. An edge S -> D means "holders of S also
hold D"; there is at most one edge per ordered node pair, so parallel specs
are folded together.

Nothing here recurses: graphs with hundreds of thousands of nodes are
ordinary, and Python's recursion limit is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    shallow: bool
    # None: every principal type. An empty filter in GrantExpandable means "all types".
    resource_type_ids: frozenset[str] | None

    @classmethod
    def of(cls, shallow: bool, resource_type_ids: Iterable[str]) -> EdgeSpec:
        types = frozenset(resource_type_ids)
        return cls(shallow, types or None)

    def widen(self, other: EdgeSpec) -> EdgeSpec:
        """Fold two specs for one node pair into the one that loses no access.

        A deep edge admits everything a shallow one does, and an unfiltered
        edge everything a filtered one does; taking the narrower spec (or a
        plain set union that treats "no filter" as "no types") would silently
        drop expanded grants, and would make the result depend on the order
        the grants were read in.
        """
        if self.resource_type_ids is None or other.resource_type_ids is None:
            types = None
        else:
            types = self.resource_type_ids | other.resource_type_ids
        return EdgeSpec(self.shallow and other.shallow, types)


@dataclass(frozen=True, slots=True)
class LayerEdge:
    source_ids: tuple[str, ...]
    destination_ids: tuple[str, ...]
    spec: EdgeSpec


class EntitlementGraph:
    def __init__(self) -> None:
        self._node_of: dict[str, int] = {}
        self._members: dict[int, tuple[str, ...]] = {}
        self._out: dict[int, dict[int, EdgeSpec]] = {}
        self._next_node = 0

    # -- building ------------------------------------------------------------

    def add_edge(self, source_id: str, destination_id: str, spec: EdgeSpec) -> None:
        src = self._node(source_id)
        dst = self._node(destination_id)
        row = self._out.setdefault(src, {})
        known = row.get(dst)
        row[dst] = spec if known is None else known.widen(spec)

    def _node(self, entitlement_id: str) -> int:
        node = self._node_of.get(entitlement_id)
        if node is None:
            node = self._new_node((entitlement_id,))
        return node

    def _new_node(self, members: tuple[str, ...]) -> int:
        self._next_node += 1
        node = self._next_node
        self._members[node] = members
        for entitlement_id in members:
            self._node_of[entitlement_id] = node
        return node

    @property
    def edge_count(self) -> int:
        return sum(len(row) for row in self._out.values())

    @property
    def node_count(self) -> int:
        return len(self._members)

    def members(self, entitlement_id: str) -> tuple[str, ...]:
        """The entitlement ids sharing a node with ``entitlement_id`` (itself included)."""
        node = self._node_of.get(entitlement_id)
        return () if node is None else self._members[node]

    # -- cycles --------------------------------------------------------------

    def cyclic_components(self) -> list[list[str]]:
        """Entitlement ids of every strongly connected component that holds a cycle.

        A component is cyclic when it has more than one node or its single
        node has an edge to itself.
        """
        return [
            sorted(eid for node in component for eid in self._members[node]) for component in self._cycles()
        ]

    def _cycles(self) -> list[list[int]]:
        return [
            component
            for component in _strongly_connected(self._out)
            if len(component) > 1 or component[0] in self._out.get(component[0], {})
        ]

    def collapse_cycles(self) -> int:
        """Merge each cyclic component into one node; returns how many were merged.

        Edges inside a component disappear (its members now share a node);
        edges into and out of it are re-pointed at the merged node and folded
        with ``EdgeSpec.widen`` where several now join the same pair.
        """
        components = self._cycles()
        if not components:
            return 0
        rename: dict[int, int] = {}
        for component in components:
            merged = self._new_node(tuple(sorted(eid for node in component for eid in self._members[node])))
            for node in component:
                rename[node] = merged
                del self._members[node]
        out: dict[int, dict[int, EdgeSpec]] = {}
        for src, row in self._out.items():
            new_src = rename.get(src, src)
            for dst, spec in row.items():
                new_dst = rename.get(dst, dst)
                if new_src == new_dst:
                    continue
                new_row = out.setdefault(new_src, {})
                known = new_row.get(new_dst)
                new_row[new_dst] = spec if known is None else known.widen(spec)
        self._out = out
        return len(components)

    # -- layering ------------------------------------------------------------

    def layers(self) -> list[list[LayerEdge]]:
        """Edges grouped so that every edge into a node runs in an earlier layer
        than any edge out of it (longest-path layering of the DAG).

        Raises ValueError if the graph still has a cycle.
        """
        indegree: dict[int, int] = {}
        for row in self._out.values():
            for dst in row:
                indegree[dst] = indegree.get(dst, 0) + 1
        depth = {node: 0 for node in self._out if indegree.get(node, 0) == 0}
        ready = list(depth)
        by_layer: dict[int, list[LayerEdge]] = {}
        visited = 0
        while ready:
            node = ready.pop()
            visited += 1
            successors = self._out.get(node)
            if not successors:
                continue
            level = depth[node]
            members = self._members[node]
            bucket = by_layer.setdefault(level, [])
            for dst, spec in successors.items():
                bucket.append(LayerEdge(members, self._members[dst], spec))
                depth[dst] = max(depth.get(dst, 0), level + 1)
                indegree[dst] -= 1
                if indegree[dst] == 0:
                    ready.append(dst)
        if visited < len(set(self._out) | set(indegree)):
            raise ValueError("the entitlement graph still has a cycle")
        return [by_layer[level] for level in sorted(by_layer)]


def _strongly_connected(out: dict[int, dict[int, EdgeSpec]]) -> Iterator[list[int]]:
    """Tarjan's algorithm with an explicit stack instead of recursion."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    counter = 0
    empty: dict[int, EdgeSpec] = {}
    for root in list(out):
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[int, Iterator[int]]] = [(root, iter(out.get(root, empty)))]
        while work:
            node, successors = work[-1]
            descended = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(out.get(succ, empty))))
                    descended = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                yield component
