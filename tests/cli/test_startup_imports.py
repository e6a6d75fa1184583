"""Start-up stays light (issue 13): which modules `baton --help` and `baton --version` import.

Each runs in a fresh interpreter, through the console entry point, and reports ``sys.modules``;
the assertion is on modules, never on time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.emulator_support import write_c1z

_PROBE = """
import sys
from baton_cli.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)))
"""

# The sync engine, the c1z reader/writer, the emulator and every protobuf/gRPC module.
HEAVY = (
    "baton_cli.core",
    "baton_cli.c1z",
    "baton_cli.emulator",
    "baton_cli.wiring",
    "baton_cli.transport",
    "baton_cli.pb",
    "baton_cli.connector",
    "google.protobuf",
    "grpc",
    "zstandard",
    "sqlite3",
    "rich",
    "yaml",
    "cryptography",
)


def imported(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True, timeout=60
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("MODULES "), done.stderr
    return last.split()[1:]


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_help_imports_no_engine_c1z_emulator_or_protobuf() -> None:
    modules = imported("--help")
    assert "baton_cli.cli.commands" in modules  # the probe really ran the command listing
    assert heavy(modules) == []


def test_version_imports_almost_nothing() -> None:
    modules = imported("--version")
    ours = [m for m in modules if m.startswith("baton_cli")]
    assert ours == ["baton_cli", "baton_cli.cli", "baton_cli.cli.app", "baton_cli.errors"]
    assert not [m for m in modules if m.split(".")[0] in ("typer", "click", "rich", "json", "logging")]
    assert heavy(modules) == []


def test_a_command_still_loads_its_module() -> None:
    # The lazy table really resolves commands: `sync --help` imports the sync command's module.
    assert "baton_cli.cli.sync_cmd" in imported("sync", "--help")


# What no common command needs: Typer's Pydantic conversions (baton_cli/cli/param_coercion.py),
# and, for these commands, the emulator, gRPC, TLS and the parsers of files they were not given.
NEVER = ("pydantic", "pydantic_core", "grpc", "cryptography", "baton_cli.emulator", "yaml")


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_inspecting_a_v1_file_imports_neither_the_writer_nor_the_v3_reader(tmp_path: Path) -> None:
    path = write_c1z(tmp_path / "small.c1z")
    for command in (("stats", "-f", str(path)), ("resources", "-f", str(path), "-o", "json")):
        modules = imported(*command)
        assert "baton_cli.c1z.reader" in modules  # the command really read the file
        unwanted = (*NEVER, "rich", "importlib.metadata", "baton_cli.c1z.writer", "baton_cli.c1z.v3")
        assert loaded(modules, (*unwanted, "baton_cli.core", "baton_cli.connector")) == [], command


def test_a_demo_sync_without_a_terminal_imports_no_rich_pydantic_or_v3_reader(tmp_path: Path) -> None:
    modules = imported("sync", "--plugin", "demo", "-f", str(tmp_path / "out.c1z"), "--progress", "plain")
    assert (tmp_path / "out.c1z").is_file()  # the sync really ran
    assert loaded(modules, (*NEVER, "rich", "baton_cli.c1z.v3")) == []


def test_help_of_provisioning_and_the_daemon_imports_no_pydantic() -> None:
    for command in ("grant", "run", "expand", "emulator"):
        modules = imported(command, "--help")
        assert loaded(modules, ("pydantic", "pydantic_core", "yaml")) == [], command
