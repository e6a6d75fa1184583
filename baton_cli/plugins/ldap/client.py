"""One LDAP connection for a connector: TLS as configured, paged searches, errors by outcome.

ldap3's synchronous connection is not thread-safe and the daemon may run tasks
in parallel, so every operation holds one lock. A paged-results cookie belongs
to the connection that issued it; the page tokens that carry it are only good
for the same connector instance, as a sync needs.
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from baton_cli.errors import (
    AlreadyExistsError,
    ConnectorError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RetryableConnectorError,
    UnauthenticatedError,
)

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"

# LDAP result codes (RFC 4511 §4.1.9) by what the runner should do with them.
_NOT_FOUND = {32}  # noSuchObject
_UNAUTHENTICATED = {48, 49}  # inappropriateAuthentication, invalidCredentials
_PERMISSION = {50}  # insufficientAccessRights
_ALREADY_EXISTS = {68}  # entryAlreadyExists
_PRECONDITION = {65, 66, 67, 19}  # objectClassViolation, notAllowedOnNonLeaf, notAllowedOnRDN, constraint
_RETRY = {51, 52, 53, 3, 11}  # busy, unavailable, unwillingToPerform, timeLimitExceeded, adminLimitExceeded
_INVALID = {21, 34, 17, 18}  # invalidAttributeSyntax, invalidDNSyntax, undefinedAttributeType, matching
VALUE_EXISTS = 20  # attributeOrValueExists
NO_SUCH_ATTRIBUTE = 16


@dataclass(frozen=True)
class Settings:
    url: str
    bind_dn: str
    password: str
    start_tls: bool = False
    ca_file: str = ""
    insecure_skip_verify: bool = False
    page_size: int = 100

    def __repr__(self) -> str:  # the password never reaches a log or a traceback
        return f"Settings(url={self.url!r}, bind_dn={self.bind_dn!r}, start_tls={self.start_tls!r})"


@dataclass(frozen=True)
class Entry:
    dn: str
    attributes: Mapping[str, Sequence[str]]

    def first(self, name: str) -> str:
        values = self.values(name)
        return values[0] if values else ""

    def values(self, name: str) -> list[str]:
        for key, values in self.attributes.items():
            if key.lower() == name.lower():
                return [str(v) for v in values]
        return []

    def object_classes(self) -> set[str]:
        return {v.lower() for v in self.values("objectClass")}


def encode_cookie(cookie: bytes) -> str:
    return base64.urlsafe_b64encode(cookie).decode("ascii") if cookie else ""


def decode_cookie(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")) if token else b""
    except ValueError:
        raise InvalidArgumentError(
            f"ldap: page token {token[:40]!r} is not one this connector issued"
        ) from None


def _tls(settings: Settings) -> ldap3.Tls | None:
    secure = settings.url.lower().startswith("ldaps://") or settings.start_tls
    if not secure:
        return None
    if settings.ca_file and not Path(settings.ca_file).is_file():
        raise InvalidArgumentError(f"ldap: --ca-file {settings.ca_file!r} does not exist")
    return ldap3.Tls(
        validate=ssl.CERT_NONE if settings.insecure_skip_verify else ssl.CERT_REQUIRED,
        ca_certs_file=settings.ca_file or None,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )


class LdapClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._connection: ldap3.Connection | None = None
        # A server that was never reached is a setup problem, not worth retrying forever;
        # losing one that answered before is (the sync retries with backoff).
        self._connected_once = False

    # -- connection ----------------------------------------------------------------------

    def _connect(self) -> ldap3.Connection:
        settings = self.settings
        if not settings.url.lower().startswith(("ldap://", "ldaps://")):
            raise InvalidArgumentError(
                f"ldap: --url must start with ldap:// or ldaps://, got {settings.url!r}"
            )
        tls = _tls(settings)
        # No schema download (get_info=NONE, check_names=False): values arrive as text either way,
        # and skipping the per-attribute schema lookups halves the time to decode a large listing.
        server = ldap3.Server(
            settings.url, use_ssl=settings.url.lower().startswith("ldaps://"), tls=tls, get_info=ldap3.NONE
        )
        connection = ldap3.Connection(
            server,
            user=settings.bind_dn or None,
            password=settings.password or None,
            raise_exceptions=False,
            auto_referrals=False,
            check_names=False,
            receive_timeout=60,
        )
        where = settings.url
        try:
            connection.open()
            if settings.start_tls and not connection.start_tls():
                raise ConnectorError(
                    f"ldap: StartTLS with {where} failed: {connection.result.get('description')}"
                )
            if not connection.bind():
                _raise_for(connection.result, f"bind to {where} as {settings.bind_dn!r}")
        except ldap_errors.LDAPSocketOpenError as error:
            raise _socket_error(where, error, retryable=self._connected_once) from None
        except ldap_errors.LDAPStartTLSError as error:
            raise ConnectorError(f"ldap: StartTLS with {where} failed: {_tls_reason(error)}") from None
        except ldap_errors.LDAPSocketReceiveError as error:
            raise RetryableConnectorError(f"ldap: {where} closed the connection: {error}") from None
        self._connected_once = True
        return connection

    def _conn(self) -> ldap3.Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
        return self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.unbind()
                self._connection = None

    def _run(self, what: str, operation: Any) -> ldap3.Connection:
        """Run ``operation(connection)`` under the lock; a dropped connection is retryable."""
        with self._lock:
            connection = self._conn()
            try:
                operation(connection)
            except (
                ldap_errors.LDAPSocketReceiveError,
                ldap_errors.LDAPSocketSendError,
                ldap_errors.LDAPSessionTerminatedByServerError,
            ) as error:
                self._connection = None
                raise RetryableConnectorError(f"ldap: {what}: connection lost ({error})") from None
            return connection

    # -- operations ----------------------------------------------------------------------

    def who_am_i(self) -> str:
        result: list[str] = []
        self._run("who am I", lambda c: result.append(str(c.extend.standard.who_am_i() or "")))
        return result[0]

    def search_page(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str],
        token: str,
        page_size: int | None = None,
    ) -> tuple[list[Entry], str]:
        """One page of a subtree search (simple paged results control) and the next page's token."""
        cookie = decode_cookie(token)
        size = page_size or self.settings.page_size

        def search(connection: ldap3.Connection) -> None:
            connection.search(
                base,
                search_filter,
                search_scope=ldap3.SUBTREE,
                attributes=list(attributes),
                paged_size=size,
                paged_cookie=cookie or None,
            )

        connection = self._run(f"search under {base!r}", search)
        if connection.result["result"] != 0:
            _raise_for(connection.result, f"search under {base!r} for {search_filter}")
        entries = _entries(connection.response)
        controls = connection.result.get("controls") or {}
        next_cookie = controls.get(PAGED_RESULTS_OID, {}).get("value", {}).get("cookie") or b""
        return entries, encode_cookie(next_cookie)

    def search_all(self, base: str, search_filter: str, attributes: Iterable[str]) -> list[Entry]:
        found: list[Entry] = []
        token = ""
        while True:
            entries, token = self.search_page(base, search_filter, attributes, token)
            found.extend(entries)
            if not token:
                return found

    def read(
        self, dn: str, attributes: Iterable[str], search_filter: str = "(objectClass=*)"
    ) -> Entry | None:
        """The entry at ``dn`` (matching the filter), or None when there is none."""

        def search(connection: ldap3.Connection) -> None:
            connection.search(dn, search_filter, search_scope=ldap3.BASE, attributes=list(attributes))

        connection = self._run(f"read {dn!r}", search)
        code = connection.result["result"]
        if code in _NOT_FOUND:
            return None
        if code != 0:
            _raise_for(connection.result, f"read {dn!r}")
        entries = _entries(connection.response)
        return entries[0] if entries else None

    def modify(
        self, dn: str, changes: Mapping[str, list[tuple[str, list[str]]]], *, tolerate: Iterable[int] = ()
    ) -> int:
        """Apply ``changes``; returns the result code (0, or one of ``tolerate``)."""
        connection = self._run(f"modify {dn!r}", lambda c: c.modify(dn, dict(changes)))
        code = int(connection.result["result"])
        if code != 0 and code not in set(tolerate):
            _raise_for(connection.result, f"modify {dn!r}")
        return code

    def add(self, dn: str, object_classes: Sequence[str], attributes: Mapping[str, object]) -> None:
        connection = self._run(f"add {dn!r}", lambda c: c.add(dn, list(object_classes), dict(attributes)))
        if connection.result["result"] != 0:
            _raise_for(connection.result, f"add {dn!r}")

    def delete(self, dn: str) -> None:
        connection = self._run(f"delete {dn!r}", lambda c: c.delete(dn))
        if connection.result["result"] != 0:
            _raise_for(connection.result, f"delete {dn!r}")

    def set_password(self, dn: str, password: str) -> None:
        """The password modify extended operation (RFC 3062): the server hashes it as it is set up to."""
        connection = self._run(
            f"set the password of {dn!r}", lambda c: c.extend.standard.modify_password(dn, None, password)
        )
        if connection.result["result"] != 0:
            _raise_for(connection.result, f"set the password of {dn!r}")


def _entries(response: Sequence[Mapping[str, Any]] | None) -> list[Entry]:
    return [
        Entry(
            str(item["dn"]),
            {k: [str(v) for v in _as_list(vs)] for k, vs in item.get("attributes", {}).items()},
        )
        for item in response or []
        if item.get("type") == "searchResEntry"
    ]


def _as_list(values: object) -> list[object]:
    if isinstance(values, list | tuple):
        return list(values)
    return [values]


def _raise_for(result: Mapping[str, Any], what: str) -> None:
    code = int(result.get("result", -1))
    detail = result.get("description", "") or "error"
    message = result.get("message", "")
    text = f"ldap: {what}: {detail}" + (f" ({message})" if message else "")
    if code in _NOT_FOUND:
        raise NotFoundError(text)
    if code in _UNAUTHENTICATED:
        raise UnauthenticatedError(text)
    if code in _PERMISSION:
        raise PermissionDeniedError(text)
    if code in _ALREADY_EXISTS:
        raise AlreadyExistsError(text)
    if code in _PRECONDITION:
        raise FailedPreconditionError(text)
    if code in _RETRY:
        raise RetryableConnectorError(text)
    if code in _INVALID:
        raise InvalidArgumentError(text)
    raise ConnectorError(text)


def _tls_reason(error: BaseException) -> str:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "the server's certificate is not trusted (set --ca-file to the CA that signed it)"
    return text


def _socket_error(where: str, error: ldap_errors.LDAPSocketOpenError, *, retryable: bool) -> ConnectorError:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return ConnectorError(
            f"ldap: TLS with {where} failed: the server's certificate is not trusted "
            "(set --ca-file to the CA that signed it)"
        )
    message = f"ldap: cannot connect to {where}: {text}"
    return RetryableConnectorError(message) if retryable else ConnectorError(message)
