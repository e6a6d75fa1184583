"""Shared helpers for the inspection-command tests (plus checks of the helpers themselves).

Commands run in-process through ``baton_cli.cli.app.main`` (the real console
entry point: same argument parsing, same error-to-exit-code mapping), which is
fast enough to run every command on every fixture; a few tests in
test_inspect_errors.py run a real process to see what a shell sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from baton_cli.c1z import C1ZWriter
from baton_cli.cli.app import main
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2
from tests.c1z.helpers import V1_FIXTURES
from tests.external import fixture_path, fixtures_dir

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("resource_types", "resources", "entitlements", "grants")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``baton ARGS`` in-process; main() always ends in SystemExit with the process exit code."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    code = info.value.code
    return Result(code if isinstance(code, int) else 0, captured.out, captured.err)


def ok(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    result = run(capsys, *args)
    assert result.code == 0, result.err
    assert result.err == ""
    return result


def fixture(name: str) -> Path:
    return fixture_path(name)


def readme_table() -> dict[str, dict[str, int | None]]:
    """The fixture README's table: file name -> expected counts (None where it says '-')."""
    readme = fixture_path("README.md")
    rows: dict[str, dict[str, int | None]] = {}
    header: list[str] | None = None
    for line in readme.read_text().splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.replace(" ", "_") for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells, strict=True))
        rows[row["file"]] = {k: None if row[k] == "-" else int(row[k]) for k in KINDS}
    return rows


def v1_fixtures() -> list[str]:
    """For parametrisation at collection time, where a skip would skip the whole module."""
    if not (fixtures_dir() / "README.md").is_file():
        return sorted(V1_FIXTURES)  # each test then skips (or fails) on its missing file
    return [name for name, counts in readme_table().items() if counts["resources"] is not None]


# -- building small c1z files with the writer ---------------------------------------------

USER = resource_pb2.ResourceType(
    id="user", display_name="User", traits=[resource_pb2.ResourceType.TRAIT_USER]
)
GROUP = resource_pb2.ResourceType(
    id="group", display_name="Group", traits=[resource_pb2.ResourceType.TRAIT_GROUP]
)


def resource(type_id: str, object_id: str, display_name: str = "") -> resource_pb2.Resource:
    return resource_pb2.Resource(
        id=resource_pb2.ResourceId(resource_type=type_id, resource=object_id), display_name=display_name
    )


def member(group: resource_pb2.Resource) -> entitlement_pb2.Entitlement:
    return entitlement_pb2.Entitlement(
        id=f"group:{group.id.resource}:member", resource=group, display_name="member", slug="member"
    )


def grant(
    entitlement: entitlement_pb2.Entitlement, principal: resource_pb2.Resource, sources: Iterable[str] = ()
) -> grant_pb2.Grant:
    g = grant_pb2.Grant(
        id=f"{entitlement.id}:{principal.id.resource_type}:{principal.id.resource}",
        entitlement=entitlement,
        principal=resource_pb2.Resource(id=principal.id),
    )
    for source in sources:
        g.sources.sources[source].CopyFrom(grant_pb2.GrantSources.GrantSource())
    return g


def write_sync(
    path: Path,
    resources: list[resource_pb2.Resource],
    entitlements: list[entitlement_pb2.Entitlement],
    grants: list[grant_pb2.Grant],
) -> None:
    """Add one finished full sync to ``path`` (created if missing)."""
    with C1ZWriter.open(path) as writer:
        writer.start_sync()
        writer.put_resource_types([USER, GROUP])
        writer.put_resources(resources)
        writer.put_entitlements(entitlements)
        writer.put_grants(grants)
        writer.end_sync()
        writer.save()


# -- checks of the helpers ----------------------------------------------------------------


def test_readme_table_lists_the_v1_fixtures_with_counts() -> None:
    table = readme_table()
    assert table["small-expanded.c1z"] == {
        "resource_types": 4,
        "resources": 1221,
        "entitlements": 342,
        "grants": 14981,
    }
    assert table["file-template-sdk-v0.25.0-pebble.c1z"]["grants"] is None
    assert len(v1_fixtures()) == 6
    for name in v1_fixtures():
        fixture(name)


def test_run_reports_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version").code == 0
    missing = run(capsys, "stats", "-f", str(fixtures_dir() / "no-such-file.c1z"))
    assert missing.code == 5 and missing.out == ""
