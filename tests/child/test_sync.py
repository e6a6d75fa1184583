"""Syncs through the stand-in child: the same rows as in-process, crashes, retries, the session store."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZWriter
from baton_cli.c1z.reader import C1ZReader
from baton_cli.core.cancel import CancelToken
from baton_cli.core.sync import SyncEngine
from baton_cli.errors import CancelledError, ConnectorError, StatusCode
from baton_cli.transport.child import ChildOptions, launch_child
from baton_cli.wiring import PluginRequest, run_local_sync
from tests.child.support import alive

DEMO_ARGS = ("--users", "40", "--groups", "6", "--memberships", "90", "--roles", "3", "--page-size", "7")
TABLES = ("v1_resource_types", "v1_resources", "v1_entitlements", "v1_grants")


def _rows(path: Path) -> dict[str, list[tuple[str, bytes]]]:
    with C1ZReader.open(path) as reader:
        return {
            table: reader._conn.execute(
                f"SELECT external_id, data FROM {table} ORDER BY external_id"
            ).fetchall()
            for table in TABLES
        }


def _request(spec: str, *args: str) -> PluginRequest:
    return PluginRequest(spec=spec, args=list(args), env={"PATH": os.environ.get("PATH", "")})


@pytest.fixture(scope="module")
def direct_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, bytes]]]:
    """The rows of the same demo synced in-process: what every sync through the child must give."""
    out = tmp_path_factory.mktemp("direct") / "direct.c1z"
    run_local_sync(_request("demo", *DEMO_ARGS), out)
    return _rows(out)


def test_full_sync_through_the_child_matches_in_process_row_for_row(
    standin: Path, tmp_path: Path, direct_rows: dict[str, list[tuple[str, bytes]]]
) -> None:
    bridged = run_local_sync(_request(f"exec:{standin}", *DEMO_ARGS), tmp_path / "bridged.c1z")
    assert bridged.counts["grants"] > 90  # memberships plus role grants plus expanded ones
    bridged_rows = _rows(tmp_path / "bridged.c1z")
    for table in TABLES:
        assert bridged_rows[table] == direct_rows[table], table


def test_parallel_listing_through_the_child_gives_the_same_rows(
    standin: Path, tmp_path: Path, direct_rows: dict[str, list[tuple[str, bytes]]]
) -> None:
    run_local_sync(_request(f"exec:{standin}", *DEMO_ARGS), tmp_path / "parallel.c1z", workers=4)
    parallel_rows = _rows(tmp_path / "parallel.c1z")
    for table in TABLES:
        assert parallel_rows[table] == direct_rows[table], table


def test_bare_name_is_found_on_path(standin: Path, tmp_path: Path) -> None:
    request = PluginRequest(
        spec=f"exec:{standin.name}", args=["--users", "3"], env={"PATH": f"{standin.parent}:/usr/bin:/bin"}
    )
    summary = run_local_sync(request, tmp_path / "named.c1z")
    assert summary.counts["resources"] == 3 + 5 + 3


def test_crash_mid_sync_fails_with_the_childs_line_and_resumes(
    standin: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    direct_rows: dict[str, list[tuple[str, bytes]]],
) -> None:
    monkeypatch.setenv("BATON_SYNC_CHECKPOINT_SECONDS", "0")
    out = tmp_path / "crash.c1z"
    with pytest.raises(ConnectorError) as caught:
        run_local_sync(_request(f"exec:{standin}", *DEMO_ARGS, "--crash-on-grants", "5"), out)
    message = str(caught.value)
    assert caught.value.code == StatusCode.INTERNAL  # not UNAVAILABLE: a dead child is not retried
    assert "exited with status 3" in message
    assert "lost the connection to the directory" in message
    assert "run the same command again to resume" in message
    resumed = run_local_sync(_request(f"exec:{standin}", *DEMO_ARGS), out)
    assert resumed.resumed
    assert _rows(out)["v1_grants"] == direct_rows["v1_grants"]


def test_unavailable_is_retried_and_invalid_argument_is_not(standin: Path, tmp_path: Path) -> None:
    options = ChildOptions(executable=standin, args=("--users", "3", "--unavailable-grants", "2"), env={})
    with launch_child(options) as session, C1ZWriter.open(tmp_path / "retried.c1z") as writer:
        # No waiting between attempts here; the 1 s x attempt policy itself is core's (runner.md §7.8).
        result = SyncEngine(session.connector, writer, retry_base_seconds=0).run()
    # The first two ListGrants answered UNAVAILABLE; retried, every grant is there.
    direct = run_local_sync(_request("demo", "--users", "3"), tmp_path / "direct.c1z")
    assert result.counts["grants"] == direct.counts["grants"]
    with pytest.raises(ConnectorError) as caught:
        run_local_sync(_request(f"exec:{standin}", "--users", "3", "--invalid-grants"), tmp_path / "bad.c1z")
    assert caught.value.code == StatusCode.INVALID_ARGUMENT
    assert "the directory rejected the request" in str(caught.value)


def test_session_store_is_served_and_scoped_by_sync_id(standin: Path, tmp_path: Path) -> None:
    options = ChildOptions(executable=standin, args=("--users", "3", "--use-session-store"), env={})
    with launch_child(options) as session, C1ZWriter.open(tmp_path / "s.c1z") as writer:
        result = SyncEngine(session.connector, writer).run()
        assert session.session_store.keys(result.sync_id) == ["types/group", "types/role", "types/user"]
        assert session.session_store.keys("someothersyncid") == []


def test_old_sdk_children_get_no_active_sync_id(standin: Path, tmp_path: Path) -> None:
    # A v0.2.92 child is not sent the sync id (runner.md §7.1); its session writes then have none.
    options = ChildOptions(
        executable=standin, args=("--users", "3", "--use-session-store", "--sdk-version", "v0.2.92"), env={}
    )
    with (
        launch_child(options) as session,
        C1ZWriter.open(tmp_path / "s.c1z") as writer,
        pytest.raises(ConnectorError, match="sync_id is required"),
    ):
        SyncEngine(session.connector, writer).run()


def test_cancel_interrupts_a_call_in_flight_and_stops_the_child(standin: Path, tmp_path: Path) -> None:
    cancel = CancelToken()
    pid_file = tmp_path / "child.pid"
    options = ChildOptions(
        executable=standin,
        args=("--users", "3", "--hold-grants", "--pid-file", str(pid_file)),
        env={},
        name="held",
        cancel=cancel,
    )
    held = _CancelWhenHeld(cancel)
    logger = logging.getLogger("baton_cli.child.held")
    logger.addHandler(held)
    logger.setLevel(logging.INFO)
    try:
        with launch_child(options) as session, C1ZWriter.open(tmp_path / "c.c1z") as writer:
            with pytest.raises(CancelledError, match="cancelled during connector ListGrants"):
                SyncEngine(session.connector, writer, cancel=cancel).run()
            pid = int(pid_file.read_text())
    finally:
        logger.removeHandler(held)
    assert held.seen
    assert not alive(pid)


class _CancelWhenHeld(logging.Handler):
    """Cancels once the child says it holds a ListGrants call: the cancel lands mid-call."""

    def __init__(self, cancel: CancelToken) -> None:
        super().__init__()
        self._cancel = cancel
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("holding ListGrants"):
            self.seen = True
            self._cancel.cancel("test")
