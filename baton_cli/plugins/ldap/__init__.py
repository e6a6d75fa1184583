"""``ldap``: a connector for OpenLDAP, 389-DS and other LDAPv3 directories (bundled plugin).

Users are inetOrgPerson / posixAccount entries; groups are groupOfNames,
groupOfUniqueNames and posixGroup entries with a ``member`` entitlement; nested
groups expand through GrantExpandable. Provisioning: add and remove members,
create accounts, delete entries, rotate passwords. Resource types, ids,
entitlement slugs and grant ids are upstream baton-ldap's, so a tenant can move
between the Go connector and this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton_cli.connector import Config, ConfigField, InvalidArgumentError, Plugin

if TYPE_CHECKING:
    from baton_cli.plugins.ldap.connector import LdapConnector

FIELDS = (
    ConfigField("url", "string", required=True, description="ldap://host:389 or ldaps://host:636"),
    ConfigField("bind-dn", "string", default="", description="DN to bind as (empty: anonymous)"),
    ConfigField("password", "string", default="", secret=True, description="password of --bind-dn"),
    ConfigField("base-dn", "string", required=True, description="the directory tree to read"),
    ConfigField("user-search-dn", "string", default="", description="where users are (default: --base-dn)"),
    ConfigField("group-search-dn", "string", default="", description="where groups are (default: --base-dn)"),
    ConfigField("starttls", "bool", default=False, description="upgrade ldap:// with StartTLS"),
    ConfigField(
        "ca-file", "string", default="", description="PEM file of the CA that signed the server's certificate"
    ),
    ConfigField(
        "insecure-skip-verify",
        "bool",
        default=False,
        description="do not verify the server's certificate (unsafe)",
    ),
    ConfigField("page-size", "int", default=100, description="entries per page (paged results control)"),
)


def build(config: Config) -> LdapConnector:
    # The client (and ldap3) is imported here: `baton plugins` and `--help` only read FIELDS.
    from baton_cli.plugins.ldap.client import LdapClient, Settings
    from baton_cli.plugins.ldap.connector import LdapConnector
    from baton_cli.plugins.ldap.directory import Directory

    page_size = config.get_int("page-size")
    if not 1 <= page_size <= 10_000:
        raise InvalidArgumentError(f"invalid value for --page-size: must be 1..10000, got {page_size}")
    base_dn = config.get_str("base-dn")
    settings = Settings(
        url=config.get_str("url"),
        bind_dn=config.get_str("bind-dn"),
        password=config.get_str("password"),
        start_tls=config.get_bool("starttls"),
        ca_file=config.get_str("ca-file"),
        insecure_skip_verify=config.get_bool("insecure-skip-verify"),
        page_size=page_size,
    )
    if settings.start_tls and settings.url.lower().startswith("ldaps://"):
        raise InvalidArgumentError("--starttls is for ldap:// URLs; an ldaps:// URL is TLS already")
    directory = Directory(
        LdapClient(settings),
        base_dn,
        config.get_str("user-search-dn") or base_dn,
        config.get_str("group-search-dn") or base_dn,
    )
    return LdapConnector(directory, page_size)


plugin = Plugin(
    name="ldap",
    description="Users and groups of an LDAP directory (OpenLDAP, 389-DS)",
    fields=FIELDS,
    factory=build,
)
