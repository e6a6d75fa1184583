"""The entitlement graph: edge folding, cycle detection and collapse, layering."""

from __future__ import annotations

import pytest

from baton_cli.core.expand_graph import EdgeSpec, EntitlementGraph

DEEP = EdgeSpec.of(False, [])
SHALLOW_USERS = EdgeSpec.of(True, ["user"])


def test_parallel_specs_fold_to_the_widest() -> None:
    assert SHALLOW_USERS.widen(DEEP) == DEEP
    assert DEEP.widen(SHALLOW_USERS) == DEEP
    assert SHALLOW_USERS.widen(EdgeSpec.of(True, ["group"])) == EdgeSpec(True, frozenset({"user", "group"}))


def test_duplicate_edges_are_one_edge() -> None:
    graph = EntitlementGraph()
    graph.add_edge("a", "b", SHALLOW_USERS)
    graph.add_edge("a", "b", DEEP)
    assert graph.edge_count == 1
    [[edge]] = graph.layers()
    assert (edge.source_ids, edge.destination_ids, edge.spec) == (("a",), ("b",), DEEP)


def test_layers_follow_the_longest_path() -> None:
    graph = EntitlementGraph()
    for src, dst in [("a", "b"), ("b", "c"), ("a", "c"), ("x", "c")]:
        graph.add_edge(src, dst, DEEP)
    layers = [sorted((e.source_ids[0], e.destination_ids[0]) for e in layer) for layer in graph.layers()]
    # c is only expanded from once b has everything it will get.
    assert layers == [[("a", "b"), ("a", "c"), ("x", "c")], [("b", "c")]]


def test_collapse_merges_cycle_members_and_keeps_outside_edges() -> None:
    graph = EntitlementGraph()
    graph.add_edge("in", "b", SHALLOW_USERS)
    graph.add_edge("in", "c", DEEP)
    graph.add_edge("b", "c", DEEP)
    graph.add_edge("c", "b", DEEP)
    graph.add_edge("c", "out", SHALLOW_USERS)
    assert graph.cyclic_components() == [["b", "c"]]

    assert graph.collapse_cycles() == 1
    assert graph.cyclic_components() == []
    assert graph.members("b") == graph.members("c") == ("b", "c")
    first, second = graph.layers()
    assert [(e.source_ids, e.destination_ids, e.spec) for e in first] == [(("in",), ("b", "c"), DEEP)]
    assert [(e.source_ids, e.destination_ids, e.spec) for e in second] == [
        (("b", "c"), ("out",), SHALLOW_USERS)
    ]


def test_layering_refuses_a_cyclic_graph() -> None:
    graph = EntitlementGraph()
    graph.add_edge("a", "b", DEEP)
    graph.add_edge("b", "a", DEEP)
    with pytest.raises(ValueError, match="cycle"):
        graph.layers()


def test_huge_cycle_needs_no_recursion() -> None:
    graph = EntitlementGraph()
    size = 50_000
    for i in range(size):
        graph.add_edge(f"e{i}", f"e{(i + 1) % size}", DEEP)
    graph.add_edge("e0", "tail", DEEP)
    [component] = graph.cyclic_components()
    assert len(component) == size
    graph.collapse_cycles()
    [[edge]] = graph.layers()
    assert len(edge.source_ids) == size and edge.destination_ids == ("tail",)


def test_long_chain_layers_without_recursion() -> None:
    graph = EntitlementGraph()
    for i in range(20_000):
        graph.add_edge(f"e{i}", f"e{i + 1}", DEEP)
    assert graph.cyclic_components() == []
    assert len(graph.layers()) == 20_000
