"""The daemon's work area: a live daemon's files are kept, a killed one's are removed at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from baton_cli.core.workfiles import PREFIX, WorkArea, remove_stale, temp_root

HOLD_A_WORK_AREA = """
import sys
from pathlib import Path
from baton_cli.core.workfiles import WorkArea
area = WorkArea(Path(sys.argv[1]))
(area.path / "baton-sdk-sync-upload123.c1z").write_bytes(b"x" * 10)
print(area.path, flush=True)
sys.stdin.read()  # hold the lock until the test closes stdin or kills us
"""


def start_holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_WORK_AREA, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())  # the readiness line


def test_a_killed_daemons_work_area_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    killed, killed_dir = start_holder(tmp_path)
    alive, alive_dir = start_holder(tmp_path)
    try:
        killed.kill()  # SIGKILL: no clean-up of its own
        killed.communicate()
        foreign = tmp_path / f"{PREFIX}not-ours"  # our prefix but no lock file: not ours to judge
        foreign.mkdir()
        other = tmp_path / "c1z-something-else"
        other.mkdir()
        assert remove_stale(tmp_path) == [killed_dir]
        assert not killed_dir.exists()
        assert (alive_dir / "baton-sdk-sync-upload123.c1z").exists()
        assert foreign.exists() and other.exists()
    finally:
        alive.communicate()  # closes its stdin: it exits


def test_closing_the_work_area_removes_it(tmp_path: Path) -> None:
    with WorkArea(tmp_path) as area:
        (area.path / "work.db").write_bytes(b"")
        assert area.path.name.startswith(PREFIX)
    assert list(tmp_path.iterdir()) == []


def test_temp_root_prefers_the_flag_then_baton_tmpdir(tmp_path: Path) -> None:
    assert temp_root(tmp_path, {"BATON_TMPDIR": "/elsewhere"}) == tmp_path
    assert temp_root(None, {"BATON_TMPDIR": str(tmp_path)}) == tmp_path
