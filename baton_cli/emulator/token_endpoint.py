"""``POST /auth/v1/token``: OAuth2 client credentials with an EdDSA JWT client assertion.

Checks exactly what auth.md §3 says a real client sends: form fields, assertion type, the
EdDSA signature against the registered public key, ``iss == sub == client_id``, ``aud`` = the
client id's token host without port, and ``exp`` / ``nbf`` / ``iat`` within a small leeway.
Failures answer 401 (or 400 for a malformed request) with an OAuth error JSON; the runner only
looks at "not 200" and turns it into UNAUTHENTICATED.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from baton_cli.emulator.credentials import ClientId, CredentialStore
from baton_cli.emulator.events import EventLog
from baton_cli.emulator.http_types import HttpRequest, HttpResponse
from baton_cli.emulator.jose import JoseError, parse_eddsa_jws
from baton_cli.emulator.tokens import TokenIssuer
from baton_cli.errors import BatonError

TOKEN_PATH = "/auth/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_LEEWAY = 30.0
# The SDK signs assertions valid for 240 s (nbf = now-120, exp = now+120); refuse much longer ones.
MAX_ASSERTION_LIFETIME = 3600.0


class _Rejected(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _bad_client(description: str) -> _Rejected:
    return _Rejected(401, "invalid_client", description)


class TokenEndpoint:
    def __init__(
        self,
        credentials: CredentialStore,
        issuer: TokenIssuer,
        *,
        clock: Callable[[], float],
        events: EventLog,
        leeway: float = DEFAULT_LEEWAY,
    ) -> None:
        self._credentials = credentials
        self._issuer = issuer
        self._clock = clock
        self._events = events
        self._leeway = leeway

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path != TOKEN_PATH:
            return HttpResponse.json(404, {"error": "not_found"})
        if request.method != "POST":
            return HttpResponse.json(405, {"error": "method_not_allowed"}, [("allow", "POST")])
        try:
            client_id = self._authenticate(request)
        except _Rejected as exc:
            self._events.add(f"token refused ({exc.status} {exc.error}): {exc.description}")
            return HttpResponse.json(exc.status, {"error": exc.error, "error_description": exc.description})
        token = self._issuer.issue(client_id)
        self._events.add(f"token issued to {client_id} (expires in {token.expires_in}s)")
        return HttpResponse.json(
            200, {"access_token": token.access_token, "token_type": "bearer", "expires_in": token.expires_in}
        )

    def _authenticate(self, request: HttpRequest) -> str:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise _Rejected(400, "invalid_request", "content type must be application/x-www-form-urlencoded")
        form = self._form(request.body)
        if form.get("grant_type") != "client_credentials":
            raise _Rejected(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise _Rejected(400, "invalid_request", "client_assertion_type must be jwt-bearer")
        client_id, assertion = form.get("client_id", ""), form.get("client_assertion", "")
        if not client_id or not assertion:
            raise _Rejected(400, "invalid_request", "client_id and client_assertion are required")
        try:
            parsed_id = ClientId.parse(client_id)
        except BatonError as exc:
            raise _bad_client(str(exc)) from exc
        try:
            registered = self._credentials.get(client_id)
        except BatonError as exc:  # our own file is unreadable: not the client's fault
            raise _Rejected(500, "server_error", str(exc)) from exc
        if registered is None:
            raise _bad_client("unknown client id")
        try:
            jws = parse_eddsa_jws(assertion)
            jws.verify(registered.public_key())
        except JoseError as exc:
            raise _bad_client(f"client assertion rejected: {exc}") from exc
        self._check_claims(jws.claims, parsed_id)
        return client_id

    @staticmethod
    def _form(body: bytes) -> dict[str, str]:
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Rejected(400, "invalid_request", "body is not a form") from exc
        form: dict[str, str] = {}
        for key, value in pairs:
            if key in form:  # RFC 6749 §3.2: parameters must not be repeated
                raise _Rejected(400, "invalid_request", f"repeated parameter {key}")
            form[key] = value
        return form

    def _check_claims(self, claims: dict[str, Any], client_id: ClientId) -> None:
        if claims.get("iss") != client_id.text or claims.get("sub") != client_id.text:
            raise _bad_client("assertion iss and sub must equal client_id")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        expected = {client_id.audience}
        if ":" in client_id.audience:  # IPv6: clients may keep the brackets when dropping the port
            expected.add(f"[{client_id.audience}]")
        if not expected.intersection(a for a in audiences if isinstance(a, str)):
            raise _bad_client(f"assertion aud must be {client_id.audience!r}")
        now, leeway = self._clock(), self._leeway
        exp = self._time(claims, "exp", required=True)
        if exp is not None and now > exp + leeway:
            raise _bad_client("assertion expired")
        if exp is not None and exp - now > MAX_ASSERTION_LIFETIME:
            raise _bad_client("assertion exp is too far in the future")
        nbf = self._time(claims, "nbf")
        if nbf is not None and now < nbf - leeway:
            raise _bad_client("assertion is not valid yet (nbf)")
        iat = self._time(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise _bad_client("assertion issued in the future (iat)")

    @staticmethod
    def _time(claims: dict[str, Any], name: str, *, required: bool = False) -> float | None:
        value = claims.get(name)
        if value is None:
            if required:
                raise _bad_client(f"assertion has no {name}")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad_client(f"assertion {name} must be a number")
        return float(value)
