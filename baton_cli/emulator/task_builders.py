"""Task messages built from command-line values, shaped like the ones the platform sends.

Every builder fills the fields of its ``Task.*Task`` message (wire.md §3) and
raises :class:`UsageError` naming the command-line flag when a value is
malformed. Ids follow upstream's layouts: resources ``TYPE:ID``,
entitlements ``TYPE:ID:SLUG`` (the resource id may itself contain colons) and
grants ``ENTITLEMENT:PRINCIPAL_TYPE:PRINCIPAL_ID``.

The platform sends the objects it synced, not bare ids. Given a
:class:`C1ZCatalog` (the latest full sync of a c1z file), the builders embed
the stored resources, entitlements and grants the same way; without one they
send id-only objects, which is all a typical connector reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from google.protobuf import duration_pb2, struct_pb2

from baton_cli.c1z import C1ZReader
from baton_cli.connector.builders import grant_id as upstream_grant_id

# Flag names, shared with the CLI so error messages name what the user typed.
from baton_cli.emulator.task_flags import (
    AGE_RECIPIENT_FLAG,
    DEFAULT_PASSWORD_LENGTH,
    DURATION_FLAG,
    EMAIL_FLAG,
    ENTITLEMENT_FLAG,
    GRANT_ID_FLAG,
    LOGIN_FLAG,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PARENT_FLAG,
    PASSWORD_CHOICES,
    PASSWORD_FLAG,
    PASSWORD_LENGTH_FLAG,
    PRINCIPAL_FLAG,
    PROFILE_FLAG,
    RESOURCE_FLAG,
    RESOURCE_TYPE_FLAG,
    STORAGE_ENGINE_FLAG,
    STORAGE_ENGINES,
)
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

AGE_PROVIDER: Final = "baton/age/v1"

Task = baton_pb2.Task
ResourceId = resource_pb2.ResourceId
Resource = resource_pb2.Resource


# -- ids -------------------------------------------------------------------------------------------


def parse_resource_id(text: str, flag: str) -> ResourceId:
    """``TYPE:ID``; the id keeps any further colons (ids like ``org:42`` exist)."""
    type_id, sep, resource = text.partition(":")
    if not sep or not type_id or not resource:
        raise UsageError(f"{flag}: expected TYPE:ID, got {text!r}")
    return ResourceId(resource_type=type_id, resource=resource)


def parse_entitlement_id(text: str, flag: str = ENTITLEMENT_FLAG) -> tuple[ResourceId, str]:
    """``TYPE:ID:SLUG`` -> (the entitlement's resource id, slug)."""
    head, sep, slug = text.rpartition(":")
    if not sep or not slug:
        raise UsageError(f"{flag}: expected TYPE:ID:SLUG, got {text!r}")
    try:
        return parse_resource_id(head, flag), slug
    except UsageError:
        raise UsageError(f"{flag}: expected TYPE:ID:SLUG, got {text!r}") from None


# -- looking objects up in a c1z -------------------------------------------------------------------


class C1ZCatalog:
    """The objects of one finished full sync in a c1z file, looked up by id."""

    def __init__(self, reader: C1ZReader, sync_id: str) -> None:
        self._reader = reader
        self.sync_id = sync_id
        self.label = f"{reader.path} (sync {sync_id})"

    @classmethod
    def open(cls, path: Path, sync_id: str | None = None) -> C1ZCatalog:
        reader = C1ZReader.open(path)
        try:
            return cls(reader, reader.pick_sync(sync_id).sync_id)
        except BaseException:
            reader.close()
            raise

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> C1ZCatalog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def resource(self, rid: ResourceId) -> Resource:
        found = self._reader.get_resource(self.sync_id, rid.resource_type, rid.resource)
        if found is None:
            raise NotFoundError(f"resource {rid.resource_type}:{rid.resource} not found in {self.label}")
        return found

    def entitlement(self, entitlement_id: str, rid: ResourceId) -> entitlement_pb2.Entitlement:
        stored = self._reader.entitlements(self.sync_id, rid.resource_type, rid.resource)
        for entitlement in list(stored):
            if entitlement.id == entitlement_id:
                return entitlement
        raise NotFoundError(f"entitlement {entitlement_id} not found in {self.label}")

    def grant(self, entitlement_id: str, principal: ResourceId, grant_id: str | None) -> grant_pb2.Grant:
        stored = self._reader.grants(
            self.sync_id,
            entitlement_id=entitlement_id,
            principal_type_id=principal.resource_type,
            principal_id=principal.resource,
        )
        for grant in list(stored):
            if grant_id is None or grant.id == grant_id:
                return grant
        who = f"{principal.resource_type}:{principal.resource}"
        raise NotFoundError(f"no grant of {entitlement_id} to {who} in {self.label}")

    def grant_by_id(self, grant_id: str) -> grant_pb2.Grant:
        found = self._reader.get_grant(self.sync_id, grant_id)
        if found is None:
            raise NotFoundError(f"grant {grant_id} not found in {self.label}")
        return found


# -- tasks -----------------------------------------------------------------------------------------


def sync_task(
    *,
    resource_type_ids: Sequence[str] = (),
    resources: Sequence[str] = (),
    skip_entitlements_and_grants: bool = False,
    skip_grants: bool = False,
    skip_expand_grants: bool = False,
    storage_engine: str = "",
    catalog: C1ZCatalog | None = None,
) -> Task:
    """A full sync; ``resources`` (``TYPE:ID``) make it a targeted sync of just those."""
    for type_id in resource_type_ids:
        if not type_id.strip():
            raise UsageError(f"{RESOURCE_TYPE_FLAG}: a resource type id cannot be empty")
    if storage_engine and storage_engine not in STORAGE_ENGINES:
        raise UsageError(
            f"{STORAGE_ENGINE_FLAG}: expected one of {', '.join(STORAGE_ENGINES)}, got {storage_engine!r}"
        )
    targets = [_resource(parse_resource_id(text, RESOURCE_FLAG), catalog) for text in resources]
    return Task(
        sync_full=Task.SyncFullTask(
            sync_resource_type_ids=list(resource_type_ids),
            targeted_sync_resources=targets,
            skip_entitlements_and_grants=skip_entitlements_and_grants,
            skip_grants=skip_grants,
            skip_expand_grants=skip_expand_grants,
            storage_engine=storage_engine,
        )
    )


def grant_task(
    entitlement: str,
    principal: str,
    *,
    duration_seconds: int | None = None,
    catalog: C1ZCatalog | None = None,
) -> Task:
    """Grant ``entitlement`` (``TYPE:ID:SLUG``) to ``principal`` (``TYPE:ID``), optionally for a time."""
    duration = None
    if duration_seconds is not None:
        if duration_seconds <= 0:
            raise UsageError(
                f"{DURATION_FLAG}: expected a positive number of seconds, got {duration_seconds}"
            )
        duration = duration_pb2.Duration(seconds=duration_seconds)
    return Task(
        grant=Task.GrantTask(
            entitlement=_entitlement(entitlement, catalog),
            principal=_resource(parse_resource_id(principal, PRINCIPAL_FLAG), catalog),
            duration=duration,
        )
    )


def revoke_task(
    entitlement: str,
    principal: str,
    *,
    grant_id: str | None = None,
    catalog: C1ZCatalog | None = None,
) -> Task:
    """Revoke the grant of ``entitlement`` to ``principal``; its id defaults to upstream's layout."""
    if grant_id is not None and not grant_id.strip():
        raise UsageError(f"{GRANT_ID_FLAG}: a grant id cannot be empty")
    principal_id = parse_resource_id(principal, PRINCIPAL_FLAG)
    if catalog is not None:
        parse_entitlement_id(entitlement)
        return Task(revoke=Task.RevokeTask(grant=catalog.grant(entitlement, principal_id, grant_id)))
    grant = grant_pb2.Grant(
        id=grant_id or upstream_grant_id(entitlement, principal_id),
        entitlement=_entitlement(entitlement, None),
        principal=Resource(id=principal_id),
    )
    return Task(revoke=Task.RevokeTask(grant=grant))


def revoke_grant_id_task(grant_id: str, catalog: C1ZCatalog) -> Task:
    """Revoke the stored grant with this id (upstream's ``--revoke-grant``), as the platform sends it."""
    if not grant_id.strip():
        raise UsageError(f"{GRANT_ID_FLAG}: a grant id cannot be empty")
    return Task(revoke=Task.RevokeTask(grant=catalog.grant_by_id(grant_id)))


def create_account_task(
    login: str,
    *,
    emails: Sequence[str] = (),
    resource_type_id: str = "",
    profile_json: str | None = None,
    password: str | None = None,
    password_length: int = DEFAULT_PASSWORD_LENGTH,
    sso_provider: str = "",
    age_recipients: Sequence[str] = (),
) -> Task:
    """Create an account; the first email is the primary one.

    An empty ``resource_type_id`` leaves the choice of account manager to the
    connector (runner.md §8).
    """
    if not login.strip():
        raise UsageError(f"{LOGIN_FLAG}: a login cannot be empty")
    account = resource_pb2.AccountInfo(
        login=login,
        emails=[
            resource_pb2.AccountInfo.Email(address=_email(address), is_primary=index == 0)
            for index, address in enumerate(emails)
        ],
        profile=_profile(profile_json),
    )
    return Task(
        create_account=Task.CreateAccountTask(
            account_info=account,
            credential_options=credential_options(
                password, length=password_length, sso_provider=sso_provider
            ),
            encryption_configs=encryption_configs(age_recipients),
            resource_type_id=resource_type_id,
        )
    )


def delete_resource_task(
    resource: str, *, parent: str | None = None, catalog: C1ZCatalog | None = None
) -> Task:
    """Delete ``resource`` (``TYPE:ID``); the parent comes from ``parent`` or the catalog."""
    resource_id = parse_resource_id(resource, RESOURCE_FLAG)
    parent_id = parse_resource_id(parent, PARENT_FLAG) if parent is not None else None
    if parent_id is None and catalog is not None:
        stored = catalog.resource(resource_id)
        parent_id = stored.parent_resource_id if stored.HasField("parent_resource_id") else None
    return Task(
        delete_resource=Task.DeleteResourceTask(resource_id=resource_id, parent_resource_id=parent_id)
    )


def rotate_credentials_task(
    resource: str,
    *,
    password: str | None = "random",
    password_length: int = DEFAULT_PASSWORD_LENGTH,
    sso_provider: str = "",
    age_recipients: Sequence[str] = (),
) -> Task:
    """Rotate the credentials of ``resource`` (``TYPE:ID``).

    The connector returns new secrets encrypted only to ``age_recipients``;
    without one, nothing readable comes back (as on the platform, which always
    sends its own key).
    """
    return Task(
        rotate_credentials=Task.RotateCredentialsTask(
            resource_id=parse_resource_id(resource, RESOURCE_FLAG),
            credential_options=credential_options(
                password, length=password_length, sso_provider=sso_provider
            ),
            encryption_configs=encryption_configs(age_recipients),
        )
    )


def hello_task() -> Task:
    """Ask the runner to say Hello again (it answers with a Hello RPC, not FinishTask)."""
    return Task(hello=Task.HelloTask())


# -- pieces ----------------------------------------------------------------------------------------


def credential_options(
    password: str | None, *, length: int = DEFAULT_PASSWORD_LENGTH, sso_provider: str = ""
) -> resource_pb2.CredentialOptions | None:
    """``none`` / ``random`` / ``sso`` as CredentialOptions; None sends no options at all."""
    options = resource_pb2.CredentialOptions
    if password is None:
        return None
    if password == "none":
        return options(no_password=options.NoPassword())
    if password == "random":
        if not MIN_PASSWORD_LENGTH <= length <= MAX_PASSWORD_LENGTH:
            raise UsageError(
                f"{PASSWORD_LENGTH_FLAG}: expected {MIN_PASSWORD_LENGTH}..{MAX_PASSWORD_LENGTH}, got {length}"
            )
        return options(random_password=options.RandomPassword(length=length))
    if password == "sso":
        return options(sso=options.SSO(sso_provider=sso_provider))
    raise UsageError(f"{PASSWORD_FLAG}: expected one of {', '.join(PASSWORD_CHOICES)}, got {password!r}")


def encryption_configs(age_recipients: Iterable[str]) -> list[resource_pb2.EncryptionConfig]:
    configs = []
    for recipient in age_recipients:
        if not recipient.startswith("age1") or any(ch.isspace() for ch in recipient):
            raise UsageError(f"{AGE_RECIPIENT_FLAG}: expected an age recipient (age1...), got {recipient!r}")
        configs.append(
            resource_pb2.EncryptionConfig(
                provider=AGE_PROVIDER,
                age_recipient_config=resource_pb2.EncryptionConfig.AgeRecipientConfig(recipient=recipient),
            )
        )
    return configs


def _resource(rid: ResourceId, catalog: C1ZCatalog | None) -> Resource:
    return catalog.resource(rid) if catalog is not None else Resource(id=rid)


def _entitlement(text: str, catalog: C1ZCatalog | None) -> entitlement_pb2.Entitlement:
    rid, slug = parse_entitlement_id(text)
    if catalog is not None:
        return catalog.entitlement(text, rid)
    return entitlement_pb2.Entitlement(id=text, resource=Resource(id=rid), slug=slug)


def _email(address: str) -> str:
    local, sep, domain = address.partition("@")
    if not sep or not local or "." not in domain or any(ch.isspace() for ch in address):
        raise UsageError(f"{EMAIL_FLAG}: not an email address: {address!r}")
    return address


def _profile(text: str | None) -> struct_pb2.Struct | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{PROFILE_FLAG}: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{PROFILE_FLAG}: expected a JSON object, got {type(value).__name__}")
    profile = struct_pb2.Struct()
    profile.update(value)
    return profile
