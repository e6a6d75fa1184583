"""The upstream v3 (Pebble) samples open with the fixture README's counts and the same data as v1.

The template pair (file-template-sdk-v0.25.0-pebble.c1z / file-template-sdk-v0.25.0.c1z) is one
connector's data written by both engines: after the mapping of c1z-v3.md §7.3 every resource type,
resource, entitlement and grant must be the same message, compared as decoded content (map order
differs between the writers, also inside annotations).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader
from baton_cli.c1z.canonical import same_content, without_embedded_copies
from baton_cli.c1z.v3 import V3File
from baton_cli.c1z.v3.mapping import grant as map_grant
from baton_cli.c1z.v3.sstable import KIND_SET
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2
from baton_cli.pb.c1.storage.v3 import records_pb2
from tests.external import fixture_path

V3_SAMPLES = ("file-template-sdk-v0.25.0-pebble.c1z", "pebble-unexpanded-sdk-test.c1z")
V1_TWIN = "file-template-sdk-v0.25.0.c1z"
_NOTE = re.compile(
    r"- (\S+\.c1z)[^:\n]*:\s+engine\s+\"(\w+)\";\s+(\d+)\s+resource\s+types,\s+(\d+)\s+resources,"
    r"\s+(\d+)\s+entitlements,\s+(\d+)\s+grants"
)


def readme_counts() -> dict[str, tuple[str, tuple[int, int, int, int]]]:
    """The README's notes on the v3 files: name -> (engine, counts)."""
    text = fixture_path("README.md").read_text()
    found = {m[1]: (m[2], (int(m[3]), int(m[4]), int(m[5]), int(m[6]))) for m in _NOTE.finditer(text)}
    assert set(found) == set(V3_SAMPLES), found
    return found


# c1z-v3.md §8: the grants that need expansion in each sample (12 and 401).
NEEDS_EXPANSION = dict(zip(V3_SAMPLES, (12, 401), strict=True))


@pytest.mark.parametrize("name", V3_SAMPLES)
def test_sample_opens_with_the_readme_counts(name: str, tmp_path: Path) -> None:
    # One open per sample serves every check of the imported data: importing the larger one is
    # the slowest step of tests/c1z.
    engine, expected = readme_counts()[name]
    with C1ZReader.open(fixture_path(name), tmp_dir=tmp_path) as reader:
        assert reader.format == "v3"
        runs = reader.syncs()
        assert len(runs) == 1 and runs[0].finished and runs[0].sync_type == "full"
        counts = reader.counts(runs[0].sync_id)
        assert (counts.resource_types, counts.resources, counts.entitlements, counts.grants) == expected
        assert reader.pick_sync().sync_id == runs[0].sync_id
        stats = runs[0].stats
        assert stats is not None and stats["grants"] == expected[3]
        needing = reader._all(
            "SELECT count(*) FROM v1_grants WHERE needs_expansion = 1 AND expansion IS NOT NULL"
        )
        assert needing[0][0] == NEEDS_EXPANSION[name], "the grants that need expansion are the spec's"
    assert list(tmp_path.iterdir()) == [], "closing the reader removes its work copy"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with V3File.open(fixture_path(name), scratch, None) as v3:
        assert v3.manifest.engine == engine
        # The manifest's summary is a cache of the payload: both must agree.
        summary = v3.manifest.sync_runs[0]
        run = v3.sync_run()
        assert run is not None and summary.sync_id == run.sync_id == runs[0].sync_id
        assert (summary.stats.resource_types, summary.stats.resources) == expected[:2]
        assert (summary.stats.entitlements, summary.stats.grants) == expected[2:]
        stats_record = v3.stats()
        assert stats_record is not None and stats_record.sync_id == run.sync_id


def test_newest_stats_key_wins_across_tables(tmp_path: Path) -> None:
    """§6: the larger sample's stats key is in two tables; the higher seqnum (written later) wins."""
    with V3File.open(fixture_path(V3_SAMPLES[1]), tmp_path, None) as v3:
        stats = v3.stats()
        assert stats is not None
        assert stats.written_at.seconds == v3.manifest.sync_runs[0].stats.written_at.seconds
        versions = [v for t in v3._tables for v in t.versions(b"\x03\xffstats\x00", b"\x03\xffstats\x00\x00")]
        assert len(versions) == 2 and {v.kind for v in versions} == {KIND_SET}
        newest, older = sorted(versions, key=lambda v: -v.seqnum)
        assert records_pb2.SyncStatsRecord.FromString(newest.value) == stats
        assert records_pb2.SyncStatsRecord.FromString(older.value).written_at != stats.written_at


def _keyed(reader: C1ZReader) -> dict[str, dict[object, object]]:
    sync_id = reader.pick_sync().sync_id
    return {
        "resource_types": {m.id: m for m in reader.resource_types(sync_id)},
        "resources": {(m.id.resource_type, m.id.resource): m for m in reader.resources(sync_id)},
        "entitlements": {m.id: m for m in reader.entitlements(sync_id)},
        "grants": {m.id: m for m in reader.grants(sync_id)},
    }


def test_v3_sample_holds_exactly_the_v1_twins_data(tmp_path: Path) -> None:
    with (
        C1ZReader.open(fixture_path(V1_TWIN), tmp_dir=tmp_path) as v1,
        C1ZReader.open(fixture_path(V3_SAMPLES[0]), tmp_dir=tmp_path) as v3,
    ):
        old, new = _keyed(v1), _keyed(v3)
        for kind in old:
            assert old[kind].keys() == new[kind].keys(), kind
            assert len(old[kind]) > 0
        for kind in ("resource_types", "resources"):
            for key, message in old[kind].items():
                assert same_content(message, new[kind][key]), (kind, key)  # type: ignore[arg-type]
        for kind in ("entitlements", "grants"):
            for key, message in old[kind].items():
                ours = without_embedded_copies(new[kind][key])  # type: ignore[arg-type]
                assert same_content(without_embedded_copies(message), ours), (kind, key)  # type: ignore[arg-type]
        # The reader fills each entitlement's resource from the resource record, as v1 files carry it.
        for entitlement in new["entitlements"].values():
            rid = entitlement.resource.id  # type: ignore[attr-defined]
            assert entitlement.resource == new["resources"][(rid.resource_type, rid.resource)]  # type: ignore[attr-defined]
        # GrantExpandable lives in the expansion column on both sides, with the same content.
        query = "SELECT external_id, expansion, needs_expansion FROM v1_grants WHERE expansion IS NOT NULL"
        expansions_v1 = {r[0]: (r[1], r[2]) for r in v1._all(query)}
        expansions_v3 = {r[0]: (r[1], r[2]) for r in v3._all(query)}
        assert len(expansions_v1) == 12 and expansions_v1.keys() == expansions_v3.keys()
        for key, (data, flag) in expansions_v1.items():
            parsed = annotation_grant_pb2.GrantExpandable.FromString(data)
            assert parsed == annotation_grant_pb2.GrantExpandable.FromString(expansions_v3[key][0])
            assert flag == expansions_v3[key][1] == 1


def test_the_comparison_is_not_blind(tmp_path: Path) -> None:
    with C1ZReader.open(fixture_path(V3_SAMPLES[0]), tmp_dir=tmp_path) as v3:
        grants = _keyed(v3)["grants"]
    first, second = list(grants.values())[:2]
    assert not same_content(without_embedded_copies(first), without_embedded_copies(second))  # type: ignore[arg-type]


def test_mapped_grants_carry_grant_expandable_like_upstreams_v3_reader(tmp_path: Path) -> None:
    with V3File.open(fixture_path(V3_SAMPLES[0]), tmp_path, None) as v3:
        mapped = [map_grant(r) for r in v3.grants()]
    marked = [
        g for g in mapped if any(a.Is(annotation_grant_pb2.GrantExpandable.DESCRIPTOR) for a in g.annotations)
    ]
    assert len(mapped) == 40 and len(marked) == 12
