"""One-shot tickets, actions, events, create-resource and issue-credential against the demo plugin.

Each runs `baton` in-process through its console entry point (tests/cli/invoke.py); the upstream-style flags
(`--list-ticket-schemas`, `--invoke-action NAME`, ...) must give the same answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoke import Invocation, baton_here


class Demo:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.state = tmp_path / "state.json"

    def run(self, *args: str) -> Invocation:
        return baton_here(*args, "--plugin", "demo", "--state-file", str(self.state), cwd=self.tmp_path)

    def json(self, *args: str) -> dict[str, object]:
        result = self.run(*args, "-o", "json")
        assert result.returncode == 0, result.stderr
        value = json.loads(result.stdout)
        assert isinstance(value, dict)
        return value


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return Demo(tmp_path)


def _file(path: Path, value: object) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def test_tickets_schemas_create_get_and_bulk(demo: Demo) -> None:
    schemas = demo.json("tickets", "schemas")
    assert [s["id"] for s in schemas["list"]] == ["access-request", "incident"]  # type: ignore[index,union-attr]
    template = _file(
        demo.tmp_path / "t.json",
        {"schema_id": "access-request", "display_name": "Prod access", "custom_fields": {"priority": "high"}},
    )
    created = demo.json("tickets", "create", "--template", template)
    ticket = created["ticket"]
    assert ticket["id"] == "TCK-0001" and ticket["status"]["id"] == "open"  # type: ignore[index]
    # The template's plain string became the schema's pick-string field.
    assert ticket["customFields"]["priority"]["pickStringValue"]["value"] == "high"  # type: ignore[index]
    got = demo.run("tickets", "get", "TCK-0001")
    assert got.returncode == 0 and got.stdout.startswith("TCK-0001: Prod access [open]"), got.stderr
    bulk = _file(
        demo.tmp_path / "b.json",
        {"tickets": [{"schema_id": "incident", "display_name": "Outage"}, {"schema_id": "access-request"}]},
    )
    listed = demo.run("tickets", "bulk-create", "--template", bulk)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "created TCK-0002: Outage [open] https://demo.invalid/tickets/TCK-0002",
        "error: demo: a ticket needs a display_name",
    ]
    both = demo.run("tickets", "bulk-get", "--ticket-id", "TCK-0001", "--ticket-id", "TCK-0404")
    assert both.returncode == 0, both.stderr
    assert both.stdout.splitlines() == [
        "TCK-0001: Prod access [open] https://demo.invalid/tickets/TCK-0001",
        "error: ticket 'TCK-0404' not found",
    ]
    missing = demo.run("tickets", "get", "TCK-0404")
    assert missing.returncode == 2 and "connector returned empty ticket" in missing.stderr


def test_a_bad_template_is_one_line_naming_the_field(demo: Demo) -> None:
    template = _file(
        demo.tmp_path / "t.json", {"schema_id": "access-request", "display_name": "x", "labels": "a"}
    )
    result = demo.run("tickets", "create", "--template", template)
    assert result.returncode == 3
    assert result.stderr.strip() == "baton: error: --template: 'labels' must be a list of strings"
    absent = demo.run("tickets", "create", "--template", str(demo.tmp_path / "nope.json"))
    assert absent.returncode == 5 and "file not found" in absent.stderr


def test_actions_list_get_invoke_status_and_a_failure(demo: Demo) -> None:
    names = [s["name"] for s in demo.json("actions", "list")["schemas"]]  # type: ignore[union-attr]
    assert names == ["greet", "fail", "export"]
    only_users = demo.json("actions", "list", "-t", "user")
    assert [s["name"] for s in only_users["schemas"]] == ["export"]  # type: ignore[union-attr]
    assert demo.json("actions", "get", "greet")["schema"]["arguments"][0]["name"] == "name"  # type: ignore[index]
    greeted = demo.json("actions", "invoke", "greet", "--args", '{"name": "Ada"}')
    assert greeted["response"] == {"greeting": "Hello, Ada!"}
    started = demo.json("actions", "invoke", "export", "--args", '{"steps": 2}')
    assert (started["id"], started["status"]) == ("act000001", "BATON_ACTION_STATUS_RUNNING")
    assert demo.json("actions", "status", "act000001")["response"] == {"progress": "1/2"}
    done = demo.json("actions", "status", "act000001")
    assert done["status"] == "BATON_ACTION_STATUS_COMPLETE" and done["response"] == {"exported": 50.0}
    failed = demo.run("actions", "invoke", "fail", "--args", '{"reason": "nope"}')
    assert failed.returncode == 2 and failed.stderr.strip() == "baton: error: nope"


def test_create_resource_issue_credential_and_the_event_feed(demo: Demo) -> None:
    created = demo.json("create-resource", "-t", "user", "--display-name", "Zed", "--login", "zed")
    assert created["created"]["id"] == {"resourceType": "user", "resource": "u0000050"}  # type: ignore[index]
    issued = demo.run("issue-credential", "--identity", "user:u0000002", "--reveal")
    assert issued.returncode == 0, issued.stderr
    [summary, secret] = issued.stdout.splitlines()
    assert summary == "issued a credential for user:u0000002 (1 encrypted)"
    assert secret.startswith("api_key: demo_")
    as_json = demo.run("issue-credential", "--identity", "user:u0000002", "--reveal", "-o", "json")
    assert as_json.returncode == 3 and "--reveal" in as_json.stderr
    kept = demo.run("issue-credential", "--identity", "user:u0000002")
    assert kept.returncode == 3 and "--age-recipient" in kept.stderr
    feeds = demo.json("events", "feeds")
    assert [f["id"] for f in feeds["list"]] == ["provisioning"]  # type: ignore[union-attr]
    events = demo.json("events", "list", "--all", "--page-size", "1", "--start-at", "2020-01-01T00:00:00Z")
    changed = [e["resourceChangeEvent"]["resourceId"]["resource"] for e in events["events"]]  # type: ignore[union-attr]
    assert changed == ["u0000050", "u0000002"] and events.get("hasMore") is None
    bad = demo.run("events", "list", "--start-at", "yesterday")
    assert bad.returncode == 3 and "--start-at" in bad.stderr


def test_upstream_one_shot_flags_are_aliases(demo: Demo) -> None:
    schemas = demo.run("--list-ticket-schemas", "-o", "json")
    assert schemas.returncode == 0, schemas.stderr
    assert [s["id"] for s in json.loads(schemas.stdout)["list"]] == ["access-request", "incident"]
    template = _file(demo.tmp_path / "t.json", {"schema_id": "incident", "display_name": "Down"})
    created = demo.run("--create-ticket", "--ticket-template-path", template)
    assert created.returncode == 0 and created.stdout.startswith("created TCK-0001: Down"), created.stderr
    got = demo.run("--get-ticket", "--ticket-id", "TCK-0001")
    assert got.returncode == 0 and got.stdout.startswith("TCK-0001: Down [open]"), got.stderr
    bulk = _file(demo.tmp_path / "b.json", [{"schema_id": "incident", "display_name": "Again"}])
    bulked = demo.run("--bulk-create-ticket", "--bulk-ticket-template-path", bulk)
    assert bulked.returncode == 0 and "TCK-0002" in bulked.stdout, bulked.stderr
    invoked = demo.run("--invoke-action", "greet", "--invoke-action-args", '{"name": "Bo"}', "-o", "json")
    assert json.loads(invoked.stdout)["response"] == {"greeting": "Hello, Bo!"}, invoked.stderr
    listed = demo.run("--list-action-schemas", "--list-action-schemas-resource-type", "user", "-o", "json")
    assert [s["name"] for s in json.loads(listed.stdout)["schemas"]] == ["export"], listed.stderr
    feed = demo.run("--event-feed", "true", "--event-feed-start-at", "2020-01-01T00:00:00Z", "-o", "json")
    assert feed.returncode == 0 and json.loads(feed.stdout).get("events") is None, feed.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--list-ticket-schemas", "--get-ticket", "--ticket-id", "T"),
            "are set none of the others can be; [get-ticket list-ticket-schemas] were all set",
        ),
        (
            ("--event-feed", "true", "--list-ticket-schemas"),
            "are set none of the others can be; [event-feed list-ticket-schemas] were all set",
        ),
        (("--get-ticket",), "[get-ticket ticket-id] are set they must all be set; missing [ticket-id]"),
        (("--create-ticket",), "missing [ticket-template-path]"),
        (("--bulk-ticket-template-path", "x.json", "--list-ticket-schemas"), "missing [bulk-create-ticket]"),
    ],
)
def test_upstream_flag_constraints(demo: Demo, flags: tuple[str, ...], message: str) -> None:
    result = demo.run(*flags)
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("baton: error: if any flags in the group [") and message in line
