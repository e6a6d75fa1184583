"""`--plugin` by file or by module from the current directory; tracebacks only when debugging."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.cli.invoke import baton_here

CONNECTOR = """
from baton_cli.connector import ConnectorMetadata, Page, Plugin, Resource, ResourceId, ResourceType
{extra_import}

class Users:
    resource_type = ResourceType(id="user", display_name="User")

    def list(self, parent, page_token):
        {list_body}

    def entitlements(self, resource, page_token):
        return Page([])

    def grants(self, resource, page_token):
        return Page([])


class Local:
    def metadata(self):
        return ConnectorMetadata(display_name="local")

    def validate(self):
        pass

    def resource_syncers(self):
        return [Users()]


plugin = Plugin(name="local", description="a connector in a file", fields=(), factory=lambda config: Local())
"""

LISTS_ONE_USER = (
    'return Page([Resource(id=ResourceId(resource_type="user", resource=NAME), display_name=NAME)])'
)
NAME_HERE = 'NAME = "alice"'
NAME_FROM_SIBLING = "from helper_names import NAME"
BUGGY = 'return Page([{}["missing"]])'


def write_connector(path: Path, *, list_body: str = LISTS_ONE_USER, extra_import: str = NAME_HERE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(CONNECTOR.format(list_body=list_body, extra_import=extra_import)))


def synced_users(tmp_path: Path, *args: str, cwd: Path) -> str:
    out = tmp_path / "out.c1z"
    result = baton_here("sync", *args, "--out", str(out), "--progress", "off", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_module_colon_attr_from_the_current_directory_needs_no_pythonpath(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_connector(project / "local_conn_mod.py")
    stdout = synced_users(tmp_path, "--plugin", "local_conn_mod:plugin", cwd=project)
    assert '"resources": 1' in stdout


def test_a_file_path_loads_and_its_siblings_import(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_connector(project / "conn" / "local_conn_file.py", extra_import=NAME_FROM_SIBLING)
    (project / "conn" / "helper_names.py").write_text('NAME = "bob"\n')
    stdout = synced_users(tmp_path, "--plugin", "./conn/local_conn_file.py:plugin", cwd=project)
    assert '"resources": 1' in stdout


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    result = baton_here("sync", "--plugin", "./nope/conn.py:plugin", "--out", "x.c1z", cwd=tmp_path)
    assert result.returncode == 5
    assert result.stderr.strip().splitlines() == [
        f"baton: error: plugin './nope/conn.py:plugin': no such file {str(tmp_path / 'nope/conn.py')!r}"
    ]


def _buggy_sync(tmp_path: Path, env: dict[str, str], *extra: str) -> tuple[int, str]:
    write_connector(tmp_path / "buggy_conn.py", list_body=BUGGY)
    args = ("sync", "--plugin", "./buggy_conn.py:plugin", "--out", "b.c1z", "--progress", "off", *extra)
    result = baton_here(*args, cwd=tmp_path, env=env)
    return result.returncode, result.stderr


def test_a_connector_bug_is_one_line_without_debugging(tmp_path: Path) -> None:
    code, stderr = _buggy_sync(tmp_path, {"BATON_DEBUG": "", "BATON_LOG_LEVEL": ""})
    assert code == 13
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("baton: error:")]
    assert len(errors) == 1 and "KeyError: 'missing'" in errors[0]


@pytest.mark.parametrize(
    ("env", "flags"),
    [({"BATON_DEBUG": "1"}, ()), ({"BATON_LOG_LEVEL": "debug"}, ()), ({}, ("--log-level", "debug"))],
)
def test_a_connector_bug_shows_its_traceback_when_debugging(
    tmp_path: Path, env: dict[str, str], flags: tuple[str, ...]
) -> None:
    code, stderr = _buggy_sync(tmp_path, {"BATON_DEBUG": "", "BATON_LOG_LEVEL": "", **env}, *flags)
    assert code == 13
    assert "Traceback (most recent call last)" in stderr
    # The frame in the connector's own file, with the failing line.
    assert "buggy_conn.py" in stderr and 'return Page([{}["missing"]])' in stderr
    assert stderr.rstrip().splitlines()[-1].startswith("baton: error:")
