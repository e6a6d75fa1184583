"""Every upstream v1 sample file opens with exactly the counts its README states."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader
from baton_cli.c1z.expansion import EXPANDABLE_NAME
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, grant_pb2, resource_pb2
from tests.c1z.helpers import NEWEST_V1_FIXTURE, V1_FIXTURES, fixture

ALL_TABLES = [
    "v1_assets",
    "v1_connector_sessions",
    "v1_entitlements",
    "v1_grants",
    "v1_resource_types",
    "v1_resources",
    "v1_sync_runs",
]


def _has_expandable(grant: grant_pb2.Grant) -> bool:
    return any(a.type_url.endswith("/" + EXPANDABLE_NAME) for a in grant.annotations)


@pytest.mark.parametrize("name", sorted(V1_FIXTURES))
def test_fixture_counts(name: str, tmp_path: Path) -> None:
    with C1ZReader.open(fixture(name), tmp_dir=tmp_path) as reader:
        sync = reader.pick_sync()
        counts = reader.counts(sync.sync_id)
        assert (counts.resource_types, counts.resources, counts.entitlements, counts.grants) == V1_FIXTURES[
            name
        ]
        # The iterators agree with the SQL counts.
        assert sum(1 for _ in reader.resource_types(sync.sync_id)) == counts.resource_types
        assert sum(1 for _ in reader.resources(sync.sync_id)) == counts.resources
        assert sum(1 for _ in reader.entitlements(sync.sync_id)) == counts.entitlements
        assert sum(1 for _ in reader.grants(sync.sync_id)) == counts.grants
        # Old files are migrated on the temp copy to the full current table set.
        assert reader.table_names() == ALL_TABLES
    assert list(tmp_path.iterdir()) == []  # the temp copy is gone after close


@pytest.mark.parametrize(
    ("name", "type_ids"),
    [
        ("demo-sdk-v0.2.51.c1z", {"group", "project", "role", "user"}),
        ("file-template-sdk-v0.2.92.c1z", {"role", "team", "user", "workspace"}),
        ("file-template-sdk-v0.25.0.c1z", {"role", "team", "user", "workspace"}),
        ("sync-in-progress.c1z", {"group", "project", "role", "scoped_role", "user"}),
        ("small-expanded.c1z", {"group", "project", "role", "user"}),
    ],
)
def test_fixture_resource_types(name: str, type_ids: set[str], tmp_path: Path) -> None:
    with C1ZReader.open(fixture(name), tmp_dir=tmp_path) as reader:
        sync = reader.pick_sync()
        types = list(reader.resource_types(sync.sync_id))
        assert {t.id for t in types} == type_ids
        assert all(isinstance(t, resource_pb2.ResourceType) and t.display_name for t in types)


def test_known_objects_in_small_expanded(tmp_path: Path) -> None:
    with C1ZReader.open(fixture("small-expanded.c1z"), tmp_dir=tmp_path) as reader:
        sync = reader.pick_sync()
        assert sync.sync_id == "36zfOAoWMxQdISbixanQCRBiX7E"
        assert sync.started_at == "2025-12-17 16:31:25.057185"
        assert sync.ended_at == "2025-12-17 16:33:36.381422"
        assert sync.sync_type == "full"
        projects = list(reader.resources(sync.sync_id, resource_type_id="project"))
        assert projects and all(p.id.resource_type == "project" for p in projects)
        assert "project-0000099" in {p.id.resource for p in projects}
        ents = list(
            reader.entitlements(sync.sync_id, resource_type_id="project", resource_id="project-0000099")
        )
        assert {e.id for e in ents} == {"project:project-0000099:access", "project:project-0000099:owner"}
        grants = list(reader.grants(sync.sync_id, entitlement_id="project:project-0000099:access"))
        assert grants and all(g.entitlement.id == "project:project-0000099:access" for g in grants)
        by_principal = list(
            reader.grants(sync.sync_id, principal_type_id="user", principal_id="user-0000660")
        )
        assert by_principal and all(g.principal.id.resource == "user-0000660" for g in by_principal)
        assert "project:project-0000078:access:user:user-0000660" in {g.id for g in by_principal}


def test_old_file_grant_expandable_is_moved_to_the_expansion_column(tmp_path: Path) -> None:
    # The v0.2.x-era files keep GrantExpandable inside the grant blob; the open-time backfill
    # (c1z.md §4.5) moves it, so plain listing never shows it and with_expansion re-attaches it.
    with C1ZReader.open(fixture("small-unexpanded.c1z"), tmp_dir=tmp_path) as reader:
        sync_id = reader.pick_sync().sync_id
        assert not any(_has_expandable(g) for g in reader.grants(sync_id))
        expanded = [g for g in reader.grants(sync_id, with_expansion=True) if _has_expandable(g)]
        assert len(expanded) == 409
        expandable = annotation_grant_pb2.GrantExpandable()
        assert expanded[0].annotations[-1].Unpack(expandable)
        assert expandable.entitlement_ids and all(e.strip() for e in expandable.entitlement_ids)


def test_newest_fixture_sync_run_fields(tmp_path: Path) -> None:
    with C1ZReader.open(fixture(NEWEST_V1_FIXTURE), tmp_dir=tmp_path) as reader:
        [run] = reader.syncs()
        assert run == reader.pick_sync()
        assert run.sync_id == "3MieZzpLi4kMZzKDKUOB4y1zKew"
        assert run.parent_sync_id == ""
        assert run.stats is not None and run.stats["grants"] == 40
        assert run.sync_token.startswith("{")


def test_unfinished_fixture_is_still_picked(tmp_path: Path) -> None:
    # Started more than 7 days ago and never finished: only the inspection fallback finds it.
    with C1ZReader.open(fixture("sync-in-progress.c1z"), tmp_dir=tmp_path) as reader:
        run = reader.pick_sync()
        assert run.sync_id == "3ARefY5G8eOytquwYgm41Nq07IZ"
        assert run.ended_at is None and not run.finished
