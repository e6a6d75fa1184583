"""The v3 import's grant rows are the rows of the general v1 path (mapped grant, annotation packed,
then the v1 split of c1z.md §4.5), byte for byte: every grant of the samples with an expansion or
annotations, every tenth other one, and the edge cases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from baton_cli.annotations import GRANT_IMMUTABLE
from baton_cli.c1z import C1ZReader
from baton_cli.c1z.v3 import V3File
from baton_cli.c1z.v3.importer import _Import
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2
from baton_cli.pb.c1.storage.v3 import records_pb2
from tests.external import fixture_path

SAMPLES = ("file-template-sdk-v0.25.0-pebble.c1z", "pebble-unexpanded-sdk-test.c1z")
NOW = "2026-01-02 03:04:05"


@contextmanager
def imported(name: str, tmp_path: Path) -> Iterator[tuple[_Import, V3File, str]]:
    """An importer over the work database of sample ``name`` as an open makes it (its resources
    and entitlements are what grant rows are filled from)."""
    source = fixture_path(name)
    with C1ZReader.open(source, tmp_dir=tmp_path) as opened, V3File.open(source, tmp_path / "pebble") as v3:
        sync_id = opened.pick_sync().sync_id
        yield _Import(opened._conn, v3), v3, sync_id


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_grant_rows_equal_the_general_path(name: str, tmp_path: Path) -> None:
    with imported(name, tmp_path) as (importer, v3, sync_id):
        compared = expanding = 0
        for i, record in enumerate(v3.grants()):
            if i % 10 and not record.HasField("expansion") and not record.annotations:
                continue  # of the plain grants of the larger sample a tenth is enough
            assert importer.grant_row(record, sync_id, NOW) == importer.general_grant_row(
                record, sync_id, NOW
            )
            compared += 1
            expanding += record.HasField("expansion")
    assert compared > 0 and expanding > 0, "the sample exercises grants with and without expansion"


def _expandable_any(entitlement_ids: list[str]) -> records_pb2.GrantRecord:
    record = records_pb2.GrantRecord()
    record.annotations.add().Pack(annotation_grant_pb2.GrantExpandable(entitlement_ids=entitlement_ids))
    return record


def test_edge_case_grant_rows_equal_the_general_path(tmp_path: Path) -> None:
    with imported(SAMPLES[0], tmp_path) as (importer, v3, sync_id):
        base = next(iter(v3.grants()))
        entitlement_id = base.entitlement.entitlement_id
        cases = []
        blank = records_pb2.GrantRecord()
        blank.CopyFrom(base)
        blank.expansion.entitlement_ids[:] = [" ", ""]  # names no entitlement: no expansion column
        cases.append(blank)
        own = _expandable_any(["other"])  # the record carries a GrantExpandable of its own
        own.MergeFrom(base)
        own.expansion.entitlement_ids[:] = [entitlement_id]
        cases.append(own)
        immutable = records_pb2.GrantRecord()
        immutable.CopyFrom(base)
        immutable.annotations.add(type_url=GRANT_IMMUTABLE)  # filled with the stored entitlement
        immutable.expansion.entitlement_ids[:] = [entitlement_id]
        immutable.needs_expansion = True
        cases.append(immutable)
        rows = [importer.grant_row(c, sync_id, NOW) for c in cases]
        assert rows == [importer.general_grant_row(c, sync_id, NOW) for c in cases]
    assert rows[0][6] is None and rows[1][6] is not None and rows[2][7] == 1
