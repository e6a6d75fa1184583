"""Grant expansion (runner.md §7.5) against an in-memory store."""

from __future__ import annotations

import pytest

from baton_cli.connector.api import Entitlement, Grant
from baton_cli.core import expand
from baton_cli.core.cancel import CancelToken
from baton_cli.core.expand import ExpansionProgress, ExpansionSettings, ExpansionStore, expand_grants
from baton_cli.errors import CancelledError, FailedPreconditionError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2
from tests.expand.fake_store import FakeStore, resource

USER, GROUP, ROLE = "user", "group", "role"


def test_fake_store_is_an_expansion_store() -> None:
    store: ExpansionStore = FakeStore()  # mypy checks the structural match
    assert list(store.pending_expansions()) == []


def chain_store(*, shallow_last: bool = False) -> FakeStore:
    """u1 is in group ga; ga is a member of gb; members of gb get role r.

    Edges: ga:member -> gb:member -> r:assignment.
    """
    store = FakeStore()
    u1, ga, gb, r = resource(USER, "u1"), resource(GROUP, "ga"), resource(GROUP, "gb"), resource(ROLE, "r")
    ga_member = store.add_entitlement(ga, "member")
    gb_member = store.add_entitlement(gb, "member")
    r_assign = store.add_entitlement(r, "assignment")
    store.grant(ga_member, u1)
    store.grant(gb_member, ga, expand_from=[ga_member.id])
    store.grant(r_assign, gb, expand_from=[gb_member.id], shallow=shallow_last)
    return store


def test_chain_expands_in_topological_layers() -> None:
    store = chain_store()
    result = expand_grants(store, env={})

    assert (result.edges, result.layers, result.grants_created, result.grants_updated) == (2, 2, 3, 0)
    assert store.held(resource(USER, "u1")) == {
        "group:ga:member": {},
        # Direct: u1's grant on ga:member was never expanded.
        "group:gb:member": {"group:ga:member": True},
        # Indirect: u1 holds gb:member only through ga:member.
        "role:r:assignment": {"group:gb:member": False},
    }
    # The group holding gb:member directly gets the role too, directly.
    assert store.held(resource(GROUP, "ga"))["role:r:assignment"] == {"group:gb:member": True}
    assert store.expansion_done


def test_new_grant_has_upstream_id_entitlement_principal_and_immutable_annotation() -> None:
    store = chain_store()
    expand_grants(store, env={})

    grant = store.grants["role:r:assignment:user:u1"]
    assert grant.entitlement == store.entitlements["role:r:assignment"]
    assert grant.principal == resource(USER, "u1")  # the source grant's principal, as stored
    assert [a.type_url for a in grant.annotations] == ["type.googleapis.com/c1.connector.v2.GrantImmutable"]
    assert grant.annotations[0].value == b""
    assert grant.annotations[0].Is(annotation_grant_pb2.GrantImmutable.DESCRIPTOR)


def test_shallow_edge_only_follows_direct_source_grants() -> None:
    store = chain_store(shallow_last=True)
    result = expand_grants(store, env={})

    assert "role:r:assignment" not in store.held(resource(USER, "u1"))
    assert store.held(resource(GROUP, "ga"))["role:r:assignment"] == {"group:gb:member": True}
    assert result.grants_created == 2


def test_shallow_edge_counts_a_grant_that_lists_its_own_entitlement_as_direct() -> None:
    store = chain_store(shallow_last=True)
    u2 = resource(USER, "u2")
    # Held directly and also through expansion: sources contain the entitlement itself.
    store.grant(
        store.entitlements["group:gb:member"], u2, sources={"group:gb:member": True, "group:ga:member": False}
    )
    expand_grants(store, env={})

    assert store.held(u2)["role:r:assignment"] == {"group:gb:member": True}


def test_resource_type_filter_limits_principal_types() -> None:
    store = FakeStore()
    u1, g0, ga, r = resource(USER, "u1"), resource(GROUP, "g0"), resource(GROUP, "ga"), resource(ROLE, "r")
    ga_member = store.add_entitlement(ga, "member")
    r_assign = store.add_entitlement(r, "assignment")
    store.grant(ga_member, u1)
    store.grant(ga_member, g0)
    store.grant(r_assign, ga, expand_from=[ga_member.id], types=[USER])
    expand_grants(store, env={})

    assert "role:r:assignment" in store.held(u1)
    assert "role:r:assignment" not in store.held(g0)


def test_existing_direct_grant_gains_itself_then_the_source() -> None:
    store = chain_store()
    u1 = resource(USER, "u1")
    store.grant(store.entitlements["role:r:assignment"], u1)  # held directly, no sources yet
    result = expand_grants(store, env={})

    assert store.held(u1)["role:r:assignment"] == {"role:r:assignment": True, "group:gb:member": False}
    assert result.grants_updated == 1


def test_indirect_source_is_upgraded_to_direct() -> None:
    store = chain_store()
    u2 = resource(USER, "u2")
    store.grant(store.entitlements["group:gb:member"], u2)  # direct member of gb
    store.grant(store.entitlements["role:r:assignment"], u2, sources={"group:gb:member": False})
    result = expand_grants(store, env={})

    assert store.held(u2)["role:r:assignment"] == {"group:gb:member": True}
    assert result.grants_updated == 1


def test_two_sources_into_one_entitlement_accumulate() -> None:
    store = FakeStore()
    u1, ga, gb, r = resource(USER, "u1"), resource(GROUP, "ga"), resource(GROUP, "gb"), resource(ROLE, "r")
    ga_member, gb_member = store.add_entitlement(ga, "member"), store.add_entitlement(gb, "member")
    r_assign = store.add_entitlement(r, "assignment")
    store.grant(ga_member, u1)
    store.grant(gb_member, u1)
    store.grant(r_assign, ga, expand_from=[ga_member.id])
    store.grant(r_assign, gb, expand_from=[gb_member.id])
    result = expand_grants(store, env={})

    assert store.held(u1)["role:r:assignment"] == {"group:ga:member": True, "group:gb:member": True}
    assert (result.layers, result.grants_created, result.grants_updated) == (1, 1, 1)


def cycle_store() -> FakeStore:
    """ga:member -> gb:member -> ga:member, and gb:member -> r:assignment."""
    store = FakeStore()
    u1, u2 = resource(USER, "u1"), resource(USER, "u2")
    ga, gb, r = resource(GROUP, "ga"), resource(GROUP, "gb"), resource(ROLE, "r")
    ga_member, gb_member = store.add_entitlement(ga, "member"), store.add_entitlement(gb, "member")
    r_assign = store.add_entitlement(r, "assignment")
    store.grant(ga_member, u1)
    store.grant(gb_member, u2)
    store.grant(gb_member, ga, expand_from=[ga_member.id])
    store.grant(ga_member, gb, expand_from=[gb_member.id])
    store.grant(r_assign, gb, expand_from=[gb_member.id])
    return store


def test_cycle_is_collapsed_and_expansion_finishes() -> None:
    store = cycle_store()
    result = expand_grants(store, env={})

    assert (result.cycles_collapsed, result.layers) == (1, 1)
    # Every holder of either cycle member reaches the role.
    assert store.held(resource(USER, "u1"))["role:r:assignment"] == {"group:ga:member": True}
    assert store.held(resource(USER, "u2"))["role:r:assignment"] == {"group:gb:member": True}
    assert store.held(resource(GROUP, "gb"))["role:r:assignment"] == {
        "role:r:assignment": True,
        "group:ga:member": True,
    }
    # As upstream: the members share one node, so the edges between them are gone.
    assert "group:gb:member" not in store.held(resource(USER, "u1"))


def test_cycle_fails_when_fixing_is_disabled_and_writes_nothing() -> None:
    store = cycle_store()
    before = {k: g.SerializeToString() for k, g in store.grants.items()}
    with pytest.raises(FailedPreconditionError, match=r"cycle.*BATON_DONT_FIX_CYCLES") as info:
        expand_grants(store, env={"BATON_DONT_FIX_CYCLES": "true"})

    assert "group:ga:member, group:gb:member" in str(info.value)
    assert {k: g.SerializeToString() for k, g in store.grants.items()} == before
    assert not store.upsert_sizes and not store.expansion_done


def test_self_loop_counts_as_a_cycle() -> None:
    store = FakeStore()
    ga = resource(GROUP, "ga")
    ga_member = store.add_entitlement(ga, "member")
    store.grant(ga_member, ga, expand_from=[ga_member.id])
    with pytest.raises(FailedPreconditionError, match="cycle"):
        expand_grants(store, env={"BATON_DONT_FIX_CYCLES": "1"})
    assert expand_grants(store, env={}).cycles_collapsed == 1


def test_missing_source_entitlement_drops_only_that_edge() -> None:
    store = chain_store()
    # gb's role grant also names an entitlement of gb that was never stored.
    store.expansions["role:r:assignment:group:gb"].entitlement_ids.append("group:gb:owner")
    result = expand_grants(store, env={})

    assert (result.edges, result.dropped_edges) == (2, 1)
    assert "role:r:assignment" in store.held(resource(USER, "u1"))


def test_missing_destination_entitlement_drops_the_edge() -> None:
    store = chain_store()
    del store.entitlements["role:r:assignment"]
    result = expand_grants(store, env={})

    assert result.dropped_edges == 1
    assert "role:r:assignment" not in store.held(resource(USER, "u1"))
    assert "group:gb:member" in store.held(resource(USER, "u1"))


def test_source_entitlement_of_another_resource_fails_the_sync() -> None:
    store = chain_store()
    other = store.add_entitlement(resource(GROUP, "gc"), "member")
    store.expansions["role:r:assignment:group:gb"].entitlement_ids.append(other.id)
    with pytest.raises(FailedPreconditionError, match=r"'group:gc:member' belongs to group:gc.*group:gb"):
        expand_grants(store, env={})
    assert not store.upsert_sizes


def long_chain(edges: int) -> FakeStore:
    """u0 in g0; g(i) is a member of g(i+1) for every i < edges."""
    store = FakeStore()
    groups = [resource(GROUP, f"g{i}") for i in range(edges + 1)]
    members = [store.add_entitlement(g, "member") for g in groups]
    store.grant(members[0], resource(USER, "u0"))
    for i in range(edges):
        store.grant(members[i + 1], groups[i], expand_from=[members[i].id])
    return store


def test_default_depth_limit_is_twenty_layers() -> None:
    assert expand_grants(long_chain(20), env={}).layers == 20
    with pytest.raises(FailedPreconditionError, match=r"21 layers.*maximum depth of 20"):
        expand_grants(long_chain(21), env={})


def test_depth_limit_comes_from_the_environment() -> None:
    with pytest.raises(FailedPreconditionError, match="BATON_GRAPH_EXPAND_MAX_DEPTH"):
        expand_grants(long_chain(4), env={"BATON_GRAPH_EXPAND_MAX_DEPTH": "3"})
    store = long_chain(4)
    expand_grants(store, env={"BATON_GRAPH_EXPAND_MAX_DEPTH": "4"})
    assert "group:g4:member" in store.held(resource(USER, "u0"))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ExpansionSettings(20, True)),
        (
            {"BATON_GRAPH_EXPAND_MAX_DEPTH": " 7 ", "BATON_DONT_FIX_CYCLES": "TRUE"},
            ExpansionSettings(7, False),
        ),
        ({"BATON_GRAPH_EXPAND_MAX_DEPTH": "x", "BATON_DONT_FIX_CYCLES": "yes"}, ExpansionSettings(20, True)),
        (
            {"BATON_GRAPH_EXPAND_MAX_DEPTH": "0", "BATON_DONT_FIX_CYCLES": "false"},
            ExpansionSettings(20, True),
        ),
    ],
)
def test_settings_parse_like_upstream(env: dict[str, str], expected: ExpansionSettings) -> None:
    assert ExpansionSettings.from_env(env) == expected


def test_writes_are_batched_and_reads_see_earlier_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expand, "FLUSH_THRESHOLD", 3)
    monkeypatch.setattr(expand, "GATHER_LIMIT", 3)
    store = FakeStore()
    ga, gb, r = resource(GROUP, "ga"), resource(GROUP, "gb"), resource(ROLE, "r")
    ga_member, gb_member = store.add_entitlement(ga, "member"), store.add_entitlement(gb, "member")
    r_assign = store.add_entitlement(r, "assignment")
    users = [resource(USER, f"u{i}") for i in range(10)]
    for u in users:
        store.grant(ga_member, u)
        store.grant(gb_member, u)
    store.grant(r_assign, ga, expand_from=[ga_member.id])
    store.grant(r_assign, gb, expand_from=[gb_member.id])
    result = expand_grants(store, env={})

    assert len(store.upsert_sizes) > 2
    assert all(size <= 3 + store.page_size for size in store.upsert_sizes)
    for u in users:
        assert store.held(u)["role:r:assignment"] == {"group:ga:member": True, "group:gb:member": True}
    assert (result.grants_created, result.grants_updated) == (10, 10)


def test_cancel_stops_expansion() -> None:
    token = CancelToken()
    token.cancel("user pressed Ctrl-C")
    store = chain_store()
    with pytest.raises(CancelledError, match="Ctrl-C"):
        expand_grants(store, env={}, cancel=token)
    assert not store.expansion_done


def test_progress_reports_each_expanded_pair() -> None:
    seen: list[ExpansionProgress] = []
    expand_grants(chain_store(), env={}, on_progress=seen.append)
    assert seen == [ExpansionProgress(1, 2, 1, 2), ExpansionProgress(2, 2, 2, 2)]


def test_no_expandable_grants_is_a_no_op() -> None:
    store = FakeStore()
    store.grant(store.add_entitlement(resource(GROUP, "ga"), "member"), resource(USER, "u1"))
    result = expand_grants(store, env={})
    assert (result.edges, result.layers, result.grants_created) == (0, 0, 0)
    assert store.expansion_done


def test_rerun_after_an_interrupted_expansion_changes_nothing_more() -> None:
    # A resumed sync reloads the graph and expands again (runner.md §7.6).
    store = chain_store()
    pending = dict(store.expansions)
    expand_grants(store, env={})
    after_first = {k: g.SerializeToString(deterministic=True) for k, g in store.grants.items()}
    store.expansions.update(pending)
    result = expand_grants(store, env={})

    assert (result.grants_created, result.grants_updated) == (0, 0)
    assert {k: g.SerializeToString(deterministic=True) for k, g in store.grants.items()} == after_first


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("long_principal", [False, True])
def test_assembled_grant_bytes_equal_the_message_serialization(direct: bool, long_principal: bool) -> None:
    owner = resource(ROLE, "r")
    owner.description = "d" * 300  # a length over 127 needs a multi-byte varint
    destination = Entitlement(id="role:r:assignment", resource=owner, slug="assignment", display_name="x")
    principal = resource(USER, "u" * (200 if long_principal else 3))
    source_grant = Grant(id="g", entitlement=Entitlement(id="group:g:member"), principal=principal)
    key = (principal.id.resource_type, principal.id.resource)
    grant_id, data = expand._Destination(destination).new_grant(
        key, expand.principal_field(principal), {"group:g:member": direct}
    )
    expected = expand.new_expanded_grant(destination, source_grant, "group:g:member", direct)
    assert grant_id == expected.id
    assert data == expected.SerializeToString(deterministic=True)


def test_assembled_grant_with_several_sources_equals_the_message_serialization() -> None:
    # Sources arrive in read order; the map's deterministic order is by key (UTF-8 bytes).
    destination = Entitlement(id="role:r:assignment", resource=resource(ROLE, "r"), slug="assignment")
    principal = resource(USER, "u1")
    arrivals = {"group:zz:member": False, "group:a:member": True, "group:\u00e9:member": False}
    arrivals["g" * 140] = True  # an entry over 127 bytes
    first = next(iter(arrivals))
    source_grant = Grant(id="g", entitlement=Entitlement(id=first), principal=principal)
    expected = expand.new_expanded_grant(destination, source_grant, first, arrivals[first])
    for source_id, direct in arrivals.items():
        expand.add_source(expected, destination.id, source_id, direct)
    writer_destination = expand._Destination(destination)
    for _ in range(2):  # the second time from the cached entries
        principal_bytes = expand.principal_field(principal)
        grant_id, data = writer_destination.new_grant(("user", "u1"), principal_bytes, arrivals)
        assert grant_id == expected.id
        assert data == expected.SerializeToString(deterministic=True)


def _expand_one_pair_at_a_time(store: FakeStore) -> dict[str, bytes]:
    """The reference: every (source, destination) pair applied to the grants in turn."""
    grants = {k: Grant.FromString(g.SerializeToString()) for k, g in store.grants.items()}
    graph, _ = expand.load_graph(store)
    graph.collapse_cycles()
    for layer in graph.layers():
        for edge in layer:
            for source_id in edge.source_ids:
                for destination_id in edge.destination_ids:
                    destination = store.entitlements[destination_id]
                    holders = [g for g in list(grants.values()) if g.entitlement.id == source_id]
                    for source_grant in holders:
                        types = edge.spec.resource_type_ids
                        if types is not None and source_grant.principal.id.resource_type not in types:
                            continue
                        direct = expand.is_direct(source_grant, source_id)
                        if edge.spec.shallow and not direct:
                            continue
                        principal_id = source_grant.principal.id
                        held = [
                            g
                            for g in grants.values()
                            if g.entitlement.id == destination_id and g.principal.id == principal_id
                        ]
                        for g in held:
                            expand.add_source(g, destination_id, source_id, direct)
                        if not held:
                            new = expand.new_expanded_grant(destination, source_grant, source_id, direct)
                            grants[new.id] = new
    return {k: g.SerializeToString(deterministic=True) for k, g in grants.items()}


@pytest.mark.parametrize("gather_limit", [1, 4, 50_000])
def test_gathering_a_destination_gives_what_one_pair_at_a_time_gives(
    monkeypatch: pytest.MonkeyPatch, gather_limit: int
) -> None:
    # Several sources per destination, nested groups, a shallow and a filtered edge, a grant
    # that already existed, a principal holding a source twice (indirectly, then directly).
    monkeypatch.setattr(expand, "GATHER_LIMIT", gather_limit)
    monkeypatch.setattr(expand, "FLUSH_THRESHOLD", max(2, gather_limit))
    store = FakeStore(page_size=3)
    users = [resource(USER, f"u{i}") for i in range(12)]
    groups = [resource(GROUP, f"g{i}") for i in range(5)]
    members = [store.add_entitlement(g, "member") for g in groups]
    role = store.add_entitlement(resource(ROLE, "r"), "assignment")
    # Read before u5's direct grant of g1: u5 reaches g1's destinations indirectly, then directly.
    second = Grant(id="second-grant-of-u5", entitlement=members[1], principal=users[5])
    second.sources.sources["group:g0:member"].is_direct = False
    store.grants[second.id] = second
    for i, u in enumerate(users):
        store.grant(members[i % 4], u)
        if i % 3 == 0:
            store.grant(members[(i + 1) % 4], u)
    store.grant(role, users[7], sources={"group:g3:member": False})  # held before expansion
    store.grant(members[2], users[7])  # ... and reached through g2 and g3 in the same layer
    store.grant(members[4], groups[0], expand_from=[members[0].id])
    store.grant(members[4], groups[1], expand_from=[members[1].id], shallow=True)
    store.grant(role, groups[2], expand_from=[members[2].id], types=[USER])
    store.grant(role, groups[3], expand_from=[members[3].id])
    store.grant(role, groups[4], expand_from=[members[4].id])
    store.grant(role, groups[1], expand_from=[members[1].id])
    expected = _expand_one_pair_at_a_time(store)

    expand_grants(store, env={})
    assert {k: g.SerializeToString(deterministic=True) for k, g in store.grants.items()} == expected


def test_existing_grants_are_looked_up_a_chunk_of_holders_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A re-run over an expanded sync finds a grant for every holder: those come decoded, so
    # they are asked for (and held) a chunk at a time, and the outcome does not change.
    store = FakeStore()
    ga, r = resource(GROUP, "ga"), resource(ROLE, "r")
    ga_member, r_assign = store.add_entitlement(ga, "member"), store.add_entitlement(r, "assignment")
    users = [resource(USER, f"u{i}") for i in range(10)]
    for u in users:
        store.grant(ga_member, u)
    store.grant(r_assign, ga, expand_from=[ga_member.id])
    pending = dict(store.expansions)
    expand_grants(store, env={})
    after_first = {k: g.SerializeToString(deterministic=True) for k, g in store.grants.items()}
    monkeypatch.setattr(expand, "LOOKUP_CHUNK", 3)
    store.expansions.update(pending)
    store.lookup_sizes.clear()
    result = expand_grants(store, env={})

    assert store.lookup_sizes == [3, 3, 3, 1]  # ten holders
    assert (result.grants_created, result.grants_updated) == (0, 0)
    assert {k: g.SerializeToString(deterministic=True) for k, g in store.grants.items()} == after_first
