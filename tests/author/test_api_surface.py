"""What an author imports from ``baton_cli.connector``, and what the runner does with each error."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

import baton_cli.connector as api
from baton_cli.connector import (
    ConnectorMetadata,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.core.sync import SyncEngine
from baton_cli.errors import BatonError, StatusCode
from tests.core.fakes import MemoryStore

AUTHOR_NAMES = [
    # errors, by what the runner does with them
    "ConnectorError",
    "RetryableError",
    "NotFoundError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "AlreadyExistsError",
    "UnimplementedError",
    "FailedPreconditionError",
    # building blocks
    "logger",
    "builders",
    "Page",
    "Plugin",
    "ConfigField",
    "Config",
    # the Protocols
    "Connector",
    "ResourceSyncer",
    "ResourceGetter",
    "Provisioner",
    "ResourceCreator",
    "ResourceDeleter",
    "AccountManager",
    "CredentialRotator",
]


def test_everything_an_author_needs_is_exported() -> None:
    missing = [name for name in AUTHOR_NAMES if name not in api.__all__ or not hasattr(api, name)]
    assert missing == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (api.RetryableError, StatusCode.UNAVAILABLE),
        (api.NotFoundError, StatusCode.NOT_FOUND),
        (api.InvalidArgumentError, StatusCode.INVALID_ARGUMENT),
        (api.PermissionDeniedError, StatusCode.PERMISSION_DENIED),
        (api.UnauthenticatedError, StatusCode.UNAUTHENTICATED),
        (api.AlreadyExistsError, StatusCode.ALREADY_EXISTS),
        (api.UnimplementedError, StatusCode.UNIMPLEMENTED),
        (api.FailedPreconditionError, StatusCode.FAILED_PRECONDITION),
        (api.ConnectorError, StatusCode.INTERNAL),
    ],
)
def test_each_error_carries_the_status_code_the_runner_acts_on(error: type[BatonError], code: int) -> None:
    assert error("x").code == code
    assert issubclass(error, BatonError)


def test_the_connector_logger_is_a_child_of_the_runner_logger() -> None:
    log = api.logger("acme")
    assert isinstance(log, logging.Logger)
    assert log.name.startswith("baton_cli.") and log.name.endswith(".acme")
    assert api.logger("acme") is log


class _Users:
    """Lists users; its first call raises what the test asks for."""

    def __init__(
        self, first_error: Exception | None, pages: Sequence[Sequence[str]] = (("u1", "u2"),)
    ) -> None:
        self.first_error = first_error
        self.pages = pages
        self.calls = 0

    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(id="user", display_name="User")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        self.calls += 1
        if self.first_error is not None and self.calls == 1:
            raise self.first_error
        index = int(page_token or 0)
        ids = self.pages[index]
        next_token = str(index + 1) if index + 1 < len(self.pages) else ""
        resources = [Resource(id=ResourceId(resource_type="user", resource=i), display_name=i) for i in ids]
        return Page(resources, next_token)

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])


class _OneType:
    def __init__(self, syncer: _Users) -> None:
        self.syncer = syncer

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="one type")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return [self.syncer]


def _sync(syncer: _Users, **engine: object) -> tuple[MemoryStore, tuple[str, ...]]:
    store = MemoryStore()
    result = SyncEngine(_OneType(syncer), store, retry_base_seconds=0.0, **engine).run()  # type: ignore[arg-type]
    return store, result.warnings


def test_a_retryable_error_is_retried() -> None:
    syncer = _Users(api.RetryableError("HTTP 503"))
    store, _warnings = _sync(syncer)
    assert syncer.calls == 2
    assert [r.id.resource for r in store.resources] == ["u1", "u2"]


def test_not_found_skips_the_listing_with_a_warning() -> None:
    store, warnings = _sync(_Users(api.NotFoundError("the org is gone")))
    assert store.resources == []
    assert any("the org is gone" in w for w in warnings)


@pytest.mark.parametrize("error", [api.InvalidArgumentError, api.PermissionDeniedError, api.ConnectorError])
def test_other_errors_fail_the_sync_at_once_with_their_code(error: type[BatonError]) -> None:
    syncer = _Users(error("no"))
    with pytest.raises(BatonError) as raised:
        _sync(syncer)
    assert raised.value.code == error.code and syncer.calls == 1


def test_a_duplicate_id_in_one_page_is_a_warning_naming_it() -> None:
    _store, warnings = _sync(_Users(None, pages=(("u1", "u2", "u1"),)))
    assert [w for w in warnings if "'user:u1'" in w and "twice" in w]
    assert not [w for w in warnings if "u2" in w]


def test_no_duplicate_no_warning() -> None:
    _store, warnings = _sync(_Users(None, pages=(("u1", "u2"), ("u3",))))
    assert warnings == ()


def test_under_strict_duplicate_ids_a_duplicate_fails_the_sync() -> None:
    with pytest.raises(api.ConnectorError, match="resource id 'user:u1' appears twice"):
        _sync(_Users(None, pages=(("u1", "u1"),)), duplicate_ids="error")
