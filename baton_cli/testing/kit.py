"""The kit: one configured connector and the checks the platform relies on.

Each ``check_*`` method raises :class:`KitFailure` naming the offending ids, or
returns quietly. ``connector_tests`` (``suite.py``) turns them into pytest tests;
they can also be called directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.connector.api import (
    AccountManager,
    AccountRequest,
    ConfigValue,
    Connector,
    ConnectorMetadata,
    CredentialRotator,
    Entitlement,
    Grant,
    Provisioner,
    Resource,
    ResourceDeleter,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.connector.capabilities import connector_metadata_with_capabilities
from baton_cli.connector.config import resolve_config
from baton_cli.connector.plugin import Plugin
from baton_cli.core.sync import SyncEngine
from baton_cli.errors import BatonError
from baton_cli.testing import structure
from baton_cli.testing.failures import KitFailure, fail_if
from baton_cli.testing.walk import DEFAULT_MAX_PAGES, Observed, ResourceKey, full_listing, key_of, shown, walk


class NotApplicable(Exception):
    """The connector does not implement what a check exercises (the suite skips it, saying why)."""


def default_account_request(resource_type_id: str) -> AccountRequest:
    login = f"baton-kit-{uuid.uuid4().hex[:8]}"
    return AccountRequest(login=login, email=f"{login}@example.com")


@dataclass(frozen=True)
class KitOptions:
    """What the kit needs to know beyond the connector itself."""

    max_pages: int = DEFAULT_MAX_PAGES
    # Principal types that live outside this connector (their grants need not name a listed resource).
    external_principal_types: Collection[str] = ()
    account_request: Callable[[str], AccountRequest] = default_account_request


def config_argv(values: Mapping[str, ConfigValue]) -> list[str]:
    """Field values as the plugin's own ``--name=value`` flags."""
    argv = []
    for name, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = ",".join(value)
        else:
            text = str(value)
        argv.append(f"--{name}={text}")
    return argv


class Kit:
    def __init__(
        self,
        plugin: Plugin,
        config: Mapping[str, ConfigValue],
        *,
        workdir: Path,
        options: KitOptions | None = None,
    ) -> None:
        self.plugin = plugin
        self.options = options or KitOptions()
        self.workdir = workdir
        resolved = resolve_config(plugin.fields, config_argv(config), {}, None, cwd=workdir)
        self.connector: Connector = plugin.factory(resolved)
        self._observed: Observed | None = None

    def close(self) -> None:
        """Release what the connector holds open (an optional ``close()`` of the connector's)."""
        close = getattr(self.connector, "close", None)
        if callable(close):
            close()

    # -- what the checks look at ---------------------------------------------------------

    def observed(self, *, fresh: bool = False) -> Observed:
        if self._observed is None or fresh:
            self._observed = walk(self.connector, max_pages=self.options.max_pages)
        return self._observed

    def _syncers(self) -> dict[str, ResourceSyncer]:
        return {s.resource_type.id: s for s in self.connector.resource_syncers()}

    # -- metadata, validate, capabilities --------------------------------------------------

    def check_metadata_and_validate(self) -> None:
        problems = []
        try:
            metadata = self.connector.metadata()
        except Exception as error:
            raise KitFailure(f"metadata() raised {type(error).__name__}: {error}") from None
        if not isinstance(metadata, ConnectorMetadata):
            problems.append(f"metadata() returned a {type(metadata).__name__}, not a ConnectorMetadata")
        elif not metadata.display_name:
            problems.append("metadata() has no display_name")
        try:
            self.connector.validate()
        except Exception as error:
            problems.append(f"validate() raised {type(error).__name__}: {error}")
        fail_if("metadata and validate", problems)

    def check_capabilities(self) -> None:
        problems = []
        try:
            computed = connector_metadata_with_capabilities(self.connector)
        except BatonError as error:
            raise KitFailure(f"capabilities: {error}") from None
        declared = self.connector.metadata().capabilities
        if declared.connector_capabilities and sorted(declared.connector_capabilities) != sorted(
            computed.capabilities.connector_capabilities
        ):
            problems.append(
                "metadata() declares capabilities that differ from the Protocols its syncers implement; "
                "leave capabilities unset, the runner derives them"
            )
        pairs = (("grant", "revoke"), ("create", "delete"))
        for type_id, syncer in self._syncers().items():
            for first, second in pairs:
                has_first, has_second = (
                    callable(getattr(syncer, first, None)),
                    callable(getattr(syncer, second, None)),
                )
                if has_first != has_second:
                    present, missing = (first, second) if has_first else (second, first)
                    if (present, missing) == ("delete", "create"):
                        continue  # delete alone is a capability of its own
                    problems.append(
                        f"resource type {type_id!r} has {present}() but not {missing}(): "
                        "the capability is not reported"
                    )
        fail_if("capabilities", problems)

    # -- the walk ------------------------------------------------------------------------

    def check_resource_types_list(self) -> None:
        fail_if("resource types list", structure.resource_types_list(self.observed()))

    def check_listings_terminate(self) -> None:
        fail_if("listings terminate", structure.listings_terminate(self.observed()))

    def check_resource_ids_unique(self) -> None:
        fail_if("resource ids unique", structure.resource_ids_unique(self.observed()))

    def check_resources_carry_traits(self) -> None:
        fail_if("resources carry their type's trait", structure.resources_carry_traits(self.observed()))

    def check_parents_exist(self) -> None:
        fail_if("parents exist", structure.parents_exist(self.observed()))

    def check_child_types_walked(self) -> None:
        fail_if("child resource types walked", structure.child_types_walked(self.observed()))

    def check_entitlements_belong(self) -> None:
        fail_if("entitlements belong to their resource", structure.entitlements_belong(self.observed()))

    def check_grants_reference_known_objects(self) -> None:
        problems = structure.grants_reference_known_objects(
            self.observed(), self.options.external_principal_types
        )
        fail_if("grants reference listed entitlements and principals", problems)

    def check_expandable_targets_exist(self) -> None:
        fail_if("GrantExpandable targets exist", structure.expandable_targets_exist(self.observed()))

    def check_no_duplicate_grants(self) -> None:
        fail_if("no duplicate grants", structure.no_duplicate_grants(self.observed()))

    # -- provisioning --------------------------------------------------------------------

    def check_grant_revoke_round_trip(self) -> None:
        observed = self.observed(fresh=True)
        provisioners = [t for t, s in observed.syncers.items() if isinstance(s, Provisioner)]
        if not provisioners:
            raise NotApplicable("no resource type implements grant() and revoke()")
        problems: list[str] = []
        tried = 0
        for type_id in provisioners:
            case = _ungranted_pair(observed, type_id)
            if case is None:
                continue
            tried += 1
            problems += self._round_trip(observed.syncers[type_id], *case)
        if not tried:
            raise NotApplicable(
                f"no entitlement of {', '.join(map(repr, provisioners))} has a principal it is not granted to"
            )
        self._observed = None
        fail_if("grant then revoke round trip", problems)

    def _round_trip(
        self, syncer: ResourceSyncer, owner: Resource, ent: Entitlement, principal: Resource
    ) -> list[str]:
        assert isinstance(syncer, Provisioner)
        pair = f"{ent.id!r} to {shown(key_of(principal.id))}"
        try:
            returned = syncer.grant(principal, ent)
        except Exception as error:
            return [f"grant of {pair} raised {type(error).__name__}: {error}"]
        problems = [
            f"grant of {pair} returned grant {g.id!r} for entitlement {g.entitlement.id!r} "
            f"and principal {shown(key_of(g.principal.id))}"
            for g in returned
            if g.entitlement.id != ent.id or key_of(g.principal.id) != key_of(principal.id)
        ]
        listed = self._grant_of(syncer, owner, ent, principal)
        if isinstance(listed, str):
            return [*problems, listed]
        if listed is None:
            return [
                *problems,
                f"after granting {pair}, the next listing of {shown(key_of(owner.id))}'s grants lacks it",
            ]
        try:
            syncer.revoke(listed)
        except Exception as error:
            return [*problems, f"revoke of grant {listed.id!r} raised {type(error).__name__}: {error}"]
        after = self._grant_of(syncer, owner, ent, principal)
        if isinstance(after, str):
            return [*problems, after]
        if after is not None:
            problems.append(f"after revoking grant {listed.id!r}, the next listing still shows it")
        return problems

    def _grant_of(
        self, syncer: ResourceSyncer, owner: Resource, ent: Entitlement, principal: Resource
    ) -> Grant | str | None:
        listing = full_listing(
            f"grants of {shown(key_of(owner.id))}",
            lambda token: syncer.grants(owner, token),
            self.options.max_pages,
        )
        if listing.error or listing.endless:
            return listing.error or listing.endless
        for grant in listing.items:
            if (
                isinstance(grant, Grant)
                and grant.entitlement.id == ent.id
                and key_of(grant.principal.id) == key_of(principal.id)
            ):
                return grant
        return None

    def check_create_account(self) -> None:
        managers = {t: s for t, s in self._syncers().items() if isinstance(s, AccountManager)}
        if not managers:
            raise NotApplicable("no resource type implements create_account()")
        problems: list[str] = []
        for type_id, syncer in managers.items():
            created = self._create_account(type_id, syncer, problems)
            if created is not None:
                self._clean_up(syncer, created, problems)
        self._observed = None
        fail_if("create account", problems)

    def _create_account(self, type_id: str, syncer: ResourceSyncer, problems: list[str]) -> Resource | None:
        assert isinstance(syncer, AccountManager)
        request = self.options.account_request(type_id)
        try:
            result = syncer.create_account(request)
        except Exception as error:
            problems.append(
                f"create_account({request.login!r}) on {type_id!r} raised {type(error).__name__}: {error}"
            )
            return None
        resource = result.resource
        declared = self._syncers()
        if resource.id.resource_type not in declared or not resource.id.resource:
            problems.append(
                f"create_account({request.login!r}) returned resource {shown(key_of(resource.id))}, "
                f"not one of a declared resource type ({', '.join(sorted(declared))})"
            )
            return None
        listed = {
            key_of(r.id) for r in self.observed(fresh=True).resources.get(resource.id.resource_type, [])
        }
        if key_of(resource.id) not in listed:
            problems.append(f"account {shown(key_of(resource.id))} was created but the next listing lacks it")
        return resource

    def _clean_up(self, syncer: ResourceSyncer, created: Resource, problems: list[str]) -> None:
        owner = self._syncers().get(created.id.resource_type, syncer)
        if not isinstance(owner, ResourceDeleter):
            return
        try:
            owner.delete(
                created.id, created.parent_resource_id if created.parent_resource_id.resource else None
            )
        except Exception as error:
            problems.append(f"delete of {shown(key_of(created.id))} raised {type(error).__name__}: {error}")
            return
        listed = {key_of(r.id) for r in self.observed(fresh=True).resources.get(created.id.resource_type, [])}
        if key_of(created.id) in listed:
            problems.append(f"after deleting {shown(key_of(created.id))}, the next listing still shows it")

    def check_rotate_credentials(self) -> None:
        rotators = {t: s for t, s in self._syncers().items() if isinstance(s, CredentialRotator)}
        if not rotators:
            raise NotApplicable("no resource type implements rotate_credentials()")
        problems: list[str] = []
        for type_id, syncer in rotators.items():
            assert isinstance(syncer, CredentialRotator)
            target = self._rotation_target(type_id, syncer, problems)
            if target is None:
                continue
            try:
                credentials = list(syncer.rotate_credentials(target.id))
            except Exception as error:
                problems.append(
                    f"rotate_credentials({shown(key_of(target.id))}) raised {type(error).__name__}: {error}"
                )
            else:
                if not credentials or not all(c.bytes_ for c in credentials):
                    problems.append(
                        f"rotate_credentials({shown(key_of(target.id))}) returned no credential bytes"
                    )
            if isinstance(syncer, AccountManager):
                self._clean_up(syncer, target, problems)
        self._observed = None
        fail_if("rotate credentials", problems)

    def _rotation_target(self, type_id: str, syncer: ResourceSyncer, problems: list[str]) -> Resource | None:
        # Rotate an account made for the purpose when the type can create one; else the first listed.
        if isinstance(syncer, AccountManager):
            return self._create_account(type_id, syncer, problems)
        listed = self.observed(fresh=True).resources.get(type_id, [])
        if not listed:
            problems.append(f"resource type {type_id!r} can rotate credentials but lists no resource to try")
            return None
        return listed[0]

    # -- the real engine -----------------------------------------------------------------

    def check_sync_into_c1z(self) -> None:
        path = self.workdir / f"kit-{uuid.uuid4().hex[:8]}.c1z"
        try:
            with C1ZWriter.open(path, tmp_dir=self.workdir) as writer:
                result = SyncEngine(self.connector, writer, env={}, duplicate_ids="error").run()
                writer.save()
        except BatonError as error:
            raise KitFailure(f"sync into a c1z: the sync engine failed: {error}") from None
        observed = self.observed(fresh=True)
        problems = [f"the sync warned: {w}" for w in result.warnings if not self._expected_warning(w)]
        with C1ZReader.open(path, tmp_dir=self.workdir) as reader:
            sync_id = reader.pick_sync().sync_id
            types = {t.id for t in reader.resource_types(sync_id)}
            resources = {key_of(r.id) for r in reader.resources(sync_id)}
            entitlements = {e.id for e in reader.entitlements(sync_id)}
            grants = {g.id for g in reader.grants(sync_id)}
        problems += _differences("resource type", set(observed.syncers), types)
        problems += _differences(
            "resource", {shown(k) for k in observed.resource_keys()}, {shown(k) for k in resources}
        )
        problems += _differences("entitlement", observed.entitlement_ids(), entitlements)
        problems += [
            f"grant {gid!r} was listed but is not in the c1z"
            for gid in sorted({g.id for _o, g in observed.grants} - grants)
        ]
        fail_if("sync into a c1z, read back", problems)

    def _expected_warning(self, warning: str) -> bool:
        return warning.startswith("I9") and bool(self.options.external_principal_types)


def _differences(kind: str, listed: set[str], stored: set[str]) -> list[str]:
    return [f"{kind} {item!r} was listed but is not in the c1z" for item in sorted(listed - stored)] + [
        f"{kind} {item!r} is in the c1z but was not listed" for item in sorted(stored - listed)
    ]


def _grantable_types(ent: Entitlement, types: Mapping[str, ResourceType]) -> list[str]:
    if ent.grantable_to:
        return [t.id for t in ent.grantable_to if t.id in types]
    return [t for t, rt in types.items() if ResourceType.TRAIT_USER in rt.traits]


def _ungranted_pair(observed: Observed, type_id: str) -> tuple[Resource, Entitlement, Resource] | None:
    """A (resource, entitlement on it, principal) of ``type_id`` whose grant does not exist yet."""
    types = {t: s.resource_type for t, s in observed.syncers.items()}
    owners = {key_of(r.id): r for r in observed.resources.get(type_id, [])}
    granted: set[tuple[str, ResourceKey]] = {
        (g.entitlement.id, key_of(g.principal.id)) for _o, g in observed.grants
    }
    for owner_key, ent in observed.entitlements:
        owner = owners.get(owner_key)
        if owner is None:
            continue
        for principal_type in _grantable_types(ent, types):
            for principal in observed.resources.get(principal_type, []):
                key = key_of(principal.id)
                if key != owner_key and (ent.id, key) not in granted:
                    return owner, ent, principal
    return None
