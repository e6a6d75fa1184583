"""Task builders: the right ``task_type`` oneof and the fields wire.md gives each Task message."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest
from google.protobuf.message import Message

from baton_cli.c1z import C1ZReader
from baton_cli.emulator import task_builders as tb
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import resource_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2
from tests.external import fixture_path, require_shared

FIXTURE_NAME = "file-template-sdk-v0.25.0.c1z"
TASK = "c1.connectorapi.baton.v1.Task"


@functools.cache
def wire_fields(message: str) -> dict[str, str]:
    """field name -> type, from the wire.md table of ``message`` (a full proto name)."""
    text = require_shared("spec/wire.md").read_text(encoding="utf-8")
    heading = re.search(rf"^#+ `{re.escape(message)}`$", text, re.MULTILINE)
    assert heading, f"{message} not in wire.md"
    table = text[heading.end() :].split("\n#", 1)[0]
    rows = re.findall(r"^\| \d+ \| `(\w+)` \| `([\w.<>, ]+)` \|", table, re.MULTILINE)
    return dict(rows)


def oneof_for(message_type: str) -> str:
    """The Task.task_type member that carries ``message_type`` (e.g. Task.GrantTask -> grant)."""
    names = [name for name, type_ in wire_fields(TASK).items() if type_ == f"{TASK}.{message_type}"]
    assert len(names) == 1
    return names[0]


def set_fields(message: Message) -> set[str]:
    return {field.name for field, _ in message.ListFields()}


def check(task: baton_pb2.Task, message_type: str, expected: set[str]) -> Message:
    """The task carries ``message_type`` in its wire.md oneof slot, with exactly ``expected`` set."""
    kind = oneof_for(message_type)
    assert task.WhichOneof("task_type") == kind
    body: Message = getattr(task, kind)
    assert set_fields(body) == expected
    assert expected <= set(wire_fields(f"{TASK}.{message_type}"))
    return body


def rid(type_id: str, resource: str) -> resource_pb2.ResourceId:
    return resource_pb2.ResourceId(resource_type=type_id, resource=resource)


# -- sync ----------------------------------------------------------------------------------------


def test_sync_defaults_to_an_empty_full_sync() -> None:
    check(tb.sync_task(), "SyncFullTask", set())


def test_sync_with_every_option() -> None:
    task = tb.sync_task(
        resource_type_ids=["user", "group"],
        resources=["group:eng", "repo:org:42"],
        skip_entitlements_and_grants=True,
        skip_grants=True,
        skip_expand_grants=True,
        storage_engine="sqlite",
    )
    body = check(
        task,
        "SyncFullTask",
        {
            "sync_resource_type_ids",
            "targeted_sync_resources",
            "skip_entitlements_and_grants",
            "skip_grants",
            "skip_expand_grants",
            "storage_engine",
        },
    )
    assert isinstance(body, baton_pb2.Task.SyncFullTask)
    assert list(body.sync_resource_type_ids) == ["user", "group"]
    # The id keeps any colons after the type: `repo:org:42` is resource "org:42" of type "repo".
    assert [r.id for r in body.targeted_sync_resources] == [rid("group", "eng"), rid("repo", "org:42")]
    assert body.storage_engine == "sqlite"


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"resources": ["nocolon"]}, "--resource"),
        ({"resources": [":id"]}, "--resource"),
        ({"resources": ["type:"]}, "--resource"),
        ({"resource_type_ids": [" "]}, "--resource-type"),
        ({"storage_engine": "badger"}, "--storage-engine"),
    ],
)
def test_sync_bad_input_names_the_flag(kwargs: dict[str, object], flag: str) -> None:
    with pytest.raises(UsageError, match=f"^{flag}: "):
        tb.sync_task(**kwargs)  # type: ignore[arg-type]


# -- grant / revoke ------------------------------------------------------------------------------


def test_grant() -> None:
    body = check(tb.grant_task("group:eng:member", "user:alice"), "GrantTask", {"entitlement", "principal"})
    assert isinstance(body, baton_pb2.Task.GrantTask)
    assert body.entitlement.id == "group:eng:member"
    assert body.entitlement.resource.id == rid("group", "eng")
    assert body.entitlement.slug == "member"
    assert body.principal.id == rid("user", "alice")


def test_time_bound_grant() -> None:
    body = check(
        tb.grant_task("app:a:b:admin", "user:u", duration_seconds=3600),
        "GrantTask",
        {"entitlement", "principal", "duration"},
    )
    assert isinstance(body, baton_pb2.Task.GrantTask)
    assert body.duration.seconds == 3600
    assert body.entitlement.resource.id == rid("app", "a:b")


@pytest.mark.parametrize(
    ("entitlement", "principal", "duration", "flag"),
    [
        ("group:member", "user:a", None, "--entitlement"),
        ("group:eng:", "user:a", None, "--entitlement"),
        ("eng", "user:a", None, "--entitlement"),
        ("group:eng:member", "alice", None, "--principal"),
        ("group:eng:member", "user:a", 0, "--duration"),
        ("group:eng:member", "user:a", -5, "--duration"),
    ],
)
def test_grant_bad_input_names_the_flag(
    entitlement: str, principal: str, duration: int | None, flag: str
) -> None:
    with pytest.raises(UsageError, match=f"^{flag}: "):
        tb.grant_task(entitlement, principal, duration_seconds=duration)


def test_revoke_carries_a_grant_with_the_upstream_id() -> None:
    body = check(tb.revoke_task("group:eng:member", "user:alice"), "RevokeTask", {"grant"})
    assert isinstance(body, baton_pb2.Task.RevokeTask)
    assert body.grant.id == "group:eng:member:user:alice"
    assert body.grant.entitlement.id == "group:eng:member"
    assert body.grant.entitlement.resource.id == rid("group", "eng")
    assert body.grant.principal.id == rid("user", "alice")
    assert set(wire_fields("c1.connector.v2.Grant")) >= set_fields(body.grant)


def test_revoke_with_an_explicit_grant_id() -> None:
    task = tb.revoke_task("group:eng:member", "user:alice", grant_id="custom-1")
    assert task.revoke.grant.id == "custom-1"
    with pytest.raises(UsageError, match=r"^--grant-id: "):
        tb.revoke_task("group:eng:member", "user:alice", grant_id="")


# -- accounts and resources ----------------------------------------------------------------------


def test_create_account() -> None:
    task = tb.create_account_task(
        "bob",
        emails=["bob@example.com", "b@example.org"],
        resource_type_id="user",
        profile_json='{"department": "eng", "level": 3, "tags": ["a"]}',
        password="random",
        password_length=20,
        age_recipients=["age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"],
    )
    body = check(
        task,
        "CreateAccountTask",
        {"account_info", "credential_options", "encryption_configs", "resource_type_id"},
    )
    assert isinstance(body, baton_pb2.Task.CreateAccountTask)
    info = body.account_info
    assert (
        set_fields(info) == {"login", "emails", "profile"} <= set(wire_fields("c1.connector.v2.AccountInfo"))
    )
    assert info.login == "bob"
    assert [(e.address, e.is_primary) for e in info.emails] == [
        ("bob@example.com", True),
        ("b@example.org", False),
    ]
    assert dict(info.profile) == {"department": "eng", "level": 3, "tags": ["a"]}
    assert body.credential_options.WhichOneof("options") == "random_password"
    assert body.credential_options.random_password.length == 20
    (config,) = body.encryption_configs
    assert config.provider == "baton/age/v1"
    assert config.age_recipient_config.recipient.startswith("age1")
    assert body.resource_type_id == "user"


def test_create_account_minimal_sends_no_password() -> None:
    body = check(
        tb.create_account_task("bob", password="none"),
        "CreateAccountTask",
        {"account_info", "credential_options"},
    )
    assert isinstance(body, baton_pb2.Task.CreateAccountTask)
    assert body.credential_options.WhichOneof("options") == "no_password"
    sso = tb.create_account_task("bob", password="sso", sso_provider="okta").create_account
    assert sso.credential_options.sso.sso_provider == "okta"


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"login": ""}, "--login"),
        ({"emails": ["not-an-email"]}, "--email"),
        ({"emails": ["a b@example.com"]}, "--email"),
        ({"profile_json": "{oops"}, "--profile"),
        ({"profile_json": "[1, 2]"}, "--profile"),
        ({"password": "hunter2"}, "--password"),
        ({"password": "random", "password_length": 4}, "--password-length"),
        ({"password": "random", "password_length": 65}, "--password-length"),
        ({"age_recipients": ["ssh-ed25519 AAAA"]}, "--age-recipient"),
    ],
)
def test_create_account_bad_input_names_the_flag(kwargs: dict[str, object], flag: str) -> None:
    args: dict[str, object] = {"login": "bob", **kwargs}
    login = str(args.pop("login"))
    with pytest.raises(UsageError, match=f"^{flag}: "):
        tb.create_account_task(login, **args)  # type: ignore[arg-type]


def test_delete_resource() -> None:
    body = check(tb.delete_resource_task("repo:org:42"), "DeleteResourceTask", {"resource_id"})
    assert isinstance(body, baton_pb2.Task.DeleteResourceTask)
    assert body.resource_id == rid("repo", "org:42")
    with_parent = tb.delete_resource_task("role:r1", parent="workspace:w").delete_resource
    assert with_parent.parent_resource_id == rid("workspace", "w")
    with pytest.raises(UsageError, match=r"^--resource: "):
        tb.delete_resource_task("r1")
    with pytest.raises(UsageError, match=r"^--parent: "):
        tb.delete_resource_task("role:r1", parent="w")


def test_rotate_credentials() -> None:
    body = check(
        tb.rotate_credentials_task("user:alice"),
        "RotateCredentialsTask",
        {"resource_id", "credential_options"},
    )
    assert isinstance(body, baton_pb2.Task.RotateCredentialsTask)
    assert body.resource_id == rid("user", "alice")
    assert body.credential_options.random_password.length == tb.DEFAULT_PASSWORD_LENGTH
    bare = tb.rotate_credentials_task("user:alice", password=None)
    check(bare, "RotateCredentialsTask", {"resource_id"})
    with pytest.raises(UsageError, match=r"^--resource: "):
        tb.rotate_credentials_task("alice")


def test_hello() -> None:
    check(tb.hello_task(), "HelloTask", set())


# -- objects from a c1z, as the platform sends them ----------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> Iterator[tb.C1ZCatalog]:
    with tb.C1ZCatalog.open(fixture_path(FIXTURE_NAME)) as opened:
        yield opened


def test_catalog_embeds_the_stored_objects(catalog: tb.C1ZCatalog) -> None:
    with C1ZReader.open(fixture_path(FIXTURE_NAME)) as reader:
        sync_id = reader.pick_sync().sync_id
        grant = next(iter(list(reader.grants(sync_id))))
        entitlement = next(e for e in list(reader.entitlements(sync_id)) if e.id == grant.entitlement.id)
        principal = reader.get_resource(
            sync_id, grant.principal.id.resource_type, grant.principal.id.resource
        )
    assert principal is not None
    principal_text = f"{principal.id.resource_type}:{principal.id.resource}"

    granted = tb.grant_task(entitlement.id, principal_text, catalog=catalog).grant
    assert granted.entitlement == entitlement
    assert granted.principal == principal
    assert tb.revoke_task(entitlement.id, principal_text, catalog=catalog).revoke.grant == grant
    by_id = tb.revoke_task(entitlement.id, principal_text, grant_id=grant.id, catalog=catalog)
    assert by_id.revoke.grant == grant


def test_catalog_fills_targets_and_parents(catalog: tb.C1ZCatalog) -> None:
    with C1ZReader.open(fixture_path(FIXTURE_NAME)) as reader:
        sync_id = reader.pick_sync().sync_id
        child = next(r for r in list(reader.resources(sync_id)) if r.HasField("parent_resource_id"))
    text = f"{child.id.resource_type}:{child.id.resource}"
    assert list(tb.sync_task(resources=[text], catalog=catalog).sync_full.targeted_sync_resources) == [child]
    deleted = tb.delete_resource_task(text, catalog=catalog).delete_resource
    assert deleted.parent_resource_id == child.parent_resource_id


def test_catalog_reports_what_is_missing(catalog: tb.C1ZCatalog) -> None:
    with pytest.raises(NotFoundError, match="resource user:nobody"):
        tb.grant_task("workspace:development_workspace:member", "user:nobody", catalog=catalog)
    with pytest.raises(NotFoundError, match="entitlement workspace:development_workspace:nothing"):
        tb.grant_task("workspace:development_workspace:nothing", "user:alice.admin", catalog=catalog)
    with pytest.raises(NotFoundError, match="no grant"):
        tb.revoke_task("workspace:development_workspace:member", "user:nobody", catalog=catalog)
