"""The LDAP connector: users and groups of one directory tree."""

from __future__ import annotations

from collections.abc import Sequence

from baton_cli.connector import ConnectorMetadata, NotFoundError, ResourceSyncer
from baton_cli.plugins.ldap.client import LdapClient
from baton_cli.plugins.ldap.directory import Directory
from baton_cli.plugins.ldap.groups import GroupSyncer
from baton_cli.plugins.ldap.users import UserSyncer


class LdapConnector:
    def __init__(self, directory: Directory, page_size: int) -> None:
        self.directory = directory
        self._syncers: list[ResourceSyncer] = [UserSyncer(directory), GroupSyncer(directory, page_size)]

    @property
    def client(self) -> LdapClient:
        return self.directory.client

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="LDAP", description="Users and groups of an LDAP directory")

    def validate(self) -> None:
        """Bind and read the base DN: wrong URL, credentials, TLS or base fail here, clearly."""
        if self.client.read(self.directory.base_dn, ["objectClass"]) is None:
            raise NotFoundError(f"ldap: --base-dn {self.directory.base_dn!r} does not exist on the server")

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return self._syncers

    def close(self) -> None:
        self.client.close()
