"""Launching the stand-in connector executable as upstream's parent does (subprocess.md §1-§3)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from baton_cli.errors import ConnectorError, StatusCode
from baton_cli.transport.child import ChildOptions, launch_child
from baton_cli.transport.child.connector import sdk_at_least
from tests.child.support import alive


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "BATON_CLIENT_SECRET": "must-not-reach-the-child"}


def test_launch_serves_metadata_and_resource_types_then_stops(standin: Path) -> None:
    with launch_child(ChildOptions(executable=standin, args=("--users", "7"), env=_env())) as session:
        assert session.process is not None
        pid = session.process.pid
        connector = session.connector
        assert connector.metadata().display_name == "Demo"
        connector.validate()
        assert connector.sdk_version == "v0.5.0"
        types = [s.resource_type.id for s in connector.resource_syncers()]
        assert types == ["user", "group", "role"]
        (users,) = [s for s in connector.resource_syncers() if s.resource_type.id == "user"]
        assert len(users.list(None, "").items) == 7
        assert session.process.argv[-1] == "_connector-service"
    assert not alive(pid)
    assert session.process.returncode == 0  # stdin EOF: the child's own clean exit


def test_child_logs_are_relayed_at_their_levels(standin: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="baton_cli.child")
    with launch_child(ChildOptions(executable=standin, env=_env(), name="standin")):
        pass
    serving = [r for r in caplog.records if r.getMessage().startswith("serving")]
    assert serving and serving[0].levelno == logging.INFO and serving[0].name == "baton_cli.child.standin"
    assert "port=" in serving[0].getMessage()


def test_bad_config_gives_the_childs_own_line_and_invalid_argument(standin: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        launch_child(ChildOptions(executable=standin, args=("--users", "-1"), env=_env()))
    assert caught.value.code == StatusCode.INVALID_ARGUMENT
    assert "exited with status 1" in str(caught.value)
    assert "invalid value for --users: must be at least 0" in str(caught.value)


def test_missing_required_flag_is_reported_before_any_dial(standin: Path) -> None:
    with pytest.raises(ConnectorError, match='required flag\\(s\\) "domain" not set'):
        launch_child(ChildOptions(executable=standin, args=("--required-domain",), env=_env()))
    with launch_child(
        ChildOptions(executable=standin, args=("--required-domain", "--domain", "x.example"), env=_env())
    ) as session:
        session.connector.validate()


def test_provisioning_flag_is_passed_on_only_when_ours_has_it(standin: Path) -> None:
    with launch_child(ChildOptions(executable=standin, env=_env())) as session:
        assert session.process is not None and "--provisioning" not in session.process.argv
        group = next(s for s in session.connector.resource_syncers() if s.resource_type.id == "group")
        user = next(s for s in session.connector.resource_syncers() if s.resource_type.id == "user")
        entitlement = group.entitlements(group.list(None, "").items[0], "").items[0]
        principal = user.list(None, "").items[0]
        with pytest.raises(ConnectorError, match="provisioning is not enabled") as caught:
            group.grant(principal, entitlement)  # type: ignore[attr-defined]
        assert caught.value.code == StatusCode.FAILED_PRECONDITION
    options = ChildOptions(executable=standin, env=_env(), provisioning=True, ticketing=True)
    assert options.child_args() == ["--provisioning", "--ticketing"]


def test_platform_secret_is_withheld_from_the_child(standin: Path, tmp_path: Path) -> None:
    with launch_child(ChildOptions(executable=standin, env=_env())) as session:
        assert session.process is not None
        environ = Path(f"/proc/{session.process.pid}/environ").read_bytes().split(b"\0")
    assert not any(entry.startswith(b"BATON_CLIENT_SECRET=") for entry in environ)
    assert any(entry.startswith(b"BATON_CONNECTOR_SERVICE_LISTENER_FD=") for entry in environ)


def test_sdk_version_gate_for_active_sync_id() -> None:
    assert sdk_at_least("v0.4.3", (0, 4, 3))
    assert sdk_at_least("0.10.0", (0, 4, 3))
    assert not sdk_at_least("v0.2.92", (0, 4, 3))
    assert not sdk_at_least("", (0, 4, 3))
