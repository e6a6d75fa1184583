"""Access tokens for BatonService calls: OAuth2 client credentials with a signed JWT assertion.

auth.md §3: a fresh EdDSA assertion per exchange, ``POST https://<host>/auth/v1/token``, and a
token cached until 10 s before it expires (and dropped when the platform refuses it). The
exchange is requests-oauthlib's ``OAuth2Session.fetch_token`` with a ``BackendApplicationClient``
(the client-credentials grant), the JWT client assertion as extra body parameters and the
client id in the body (no Basic auth header).

requests-oauthlib and oauthlib log request bodies (the assertion) and token responses at DEBUG.
``fence_oauth_logging`` pins their loggers at WARNING, so turning the daemon's logs to debug
never prints a secret; tests/transport scan a DEBUG run for the secret, assertion and token.

Token endpoint answers (auth.md §3.3, beyond upstream, which makes any non-200 fatal): 400 and
401 are definitive, UNAUTHENTICATED; 429 is RESOURCE_EXHAUSTED and 5xx UNAVAILABLE, both
transient, so a throttled or restarting token endpoint is retried like any other bad minute.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

from baton_cli import __version__
from baton_cli.errors import BatonError, StatusCode
from baton_cli.transport.client_credentials import ClientCredentials, ClientId
from baton_cli.transport.errors import connection_hint
from baton_cli.transport.log_fence import fence_oauth_logging

log = logging.getLogger(__name__)

TOKEN_PATH = "/auth/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SKEW = 120  # seconds either side of now: exp = now + 120, nbf = now - 120
REFRESH_MARGIN = 10.0  # a token this close to its expiry is replaced before use
USER_AGENT = f"baton-c1-credential-provider baton_cli/{__version__}"
_TOKEN_TYPES = {"": "Bearer", "bearer": "Bearer", "mac": "MAC", "basic": "Basic"}


def token_error_code(status: int) -> StatusCode:
    """How a non-200 token endpoint answer is reported: definitive or worth retrying."""
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return StatusCode.RESOURCE_EXHAUSTED
    if status >= 500:
        return StatusCode.UNAVAILABLE
    return StatusCode.UNAUTHENTICATED


def token_url(host: str) -> str:
    """``host`` is BATON_C1_API_HOST or the client id's token host, port kept if present."""
    return f"https://{host}{TOKEN_PATH}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: Mapping[str, object], *, sort_keys: bool) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys).encode()


def build_assertion(
    client_id: ClientId, credentials: ClientCredentials, *, now: int, nonce: str | None = None
) -> str:
    """The JWS compact client assertion of auth.md §3.2."""
    header = {"alg": "EdDSA", "nonce": nonce if nonce is not None else secrets.token_hex(16)}
    payload = {  # member order as the SDK writes it
        "iss": client_id.text,
        "sub": client_id.text,
        "aud": client_id.audience,
        "exp": now + ASSERTION_SKEW,
        "nbf": now - ASSERTION_SKEW,
        "iat": now,
    }
    signing_input = f"{_b64url(_json(header, sort_keys=True))}.{_b64url(_json(payload, sort_keys=False))}"
    signature = credentials.key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64url(signature)}"


@dataclass(frozen=True, slots=True)
class AccessToken:
    token_type: str  # normalized: "Bearer", "MAC", "Basic" or the server's value verbatim
    value: str = field(repr=False)
    expires_at: float | None  # None: the server gave no lifetime, so it is kept until refused

    @property
    def authorization(self) -> str:
        """The ``authorization`` metadata value for a BatonService call."""
        return f"{self.token_type} {self.value}"

    def fresh(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at - REFRESH_MARGIN


def _token_type(raw: object) -> str:
    text = raw if isinstance(raw, str) else ""
    return _TOKEN_TYPES.get(text.lower(), text)


class TokenSource:
    """Thread-safe: one exchange at a time; callers that wait reuse the token it got."""

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        url: str,
        verify: str | bool = True,
        timeout: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._url = url
        self._verify = verify
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        # One session for the source's life: keeps the TLS connection between refreshes.
        self._session: OAuth2Session | None = None
        fence_oauth_logging()
        self.fetches = 0  # successful exchanges so far (for tests and diagnostics)

    @property
    def url(self) -> str:
        return self._url

    def token(self) -> AccessToken:
        with self._lock:
            current = self._token
            if current is not None and current.fresh(self._clock()):
                return current
            self._token = self._fetch()
            return self._token

    def invalidate(self, stale: AccessToken | None = None) -> None:
        """Forget the cached token (only if it is still ``stale``, when given): the next call
        fetches a new one. Passing the refused token keeps one caller from throwing away a
        token another caller has just fetched."""
        with self._lock:
            if stale is None or self._token is stale:
                self._token = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> TokenSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _fetch(self) -> AccessToken:
        client_id = self._credentials.client_id
        session = self._oauth_session()
        try:
            body = session.fetch_token(
                self._url,
                include_client_id=True,  # in the body, as auth.md §3.1; no Basic auth header
                client_assertion=build_assertion(client_id, self._credentials, now=int(self._clock())),
                client_assertion_type=ASSERTION_TYPE,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=self._timeout,
                # requests takes a CA bundle path here too; the stub only says bool.
                verify=self._verify,  # type: ignore[arg-type]
            )
        except requests.RequestException as exc:
            # The exception text names the URL and the cause, never the form body.
            cause = _cause(exc)
            raise BatonError(
                f"failed to get token: cannot reach {self._url}: {cause}{connection_hint(cause)}",
                code=StatusCode.UNAVAILABLE,
            ) from None
        except OAuth2Error as exc:
            # Checked answers never get here (see _check_response); this is oauthlib refusing the
            # JSON itself. Its description never contains the token.
            raise BatonError(f"failed to get token: {exc.error}", code=StatusCode.UNAUTHENTICATED) from None
        received = self._clock()
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise BatonError("failed to get token: empty access token", code=StatusCode.UNAUTHENTICATED)
        expires_in = body.get("expires_in")
        lifetime = 0.0
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            lifetime = float(expires_in)
        self.fetches += 1
        log.debug("fetched an access token for %s (expires in %ss)", client_id.text, lifetime or "?")
        return AccessToken(
            _token_type(body.get("token_type")), value, received + lifetime if lifetime > 0 else None
        )

    def _oauth_session(self) -> OAuth2Session:
        session = self._session
        if session is None:
            client = BackendApplicationClient(client_id=self._credentials.client_id.text)
            session = OAuth2Session(client=client)
            session.register_compliance_hook("access_token_response", _check_response)
            self._session = session
        return session


def _check_response(response: requests.Response) -> requests.Response:
    """Classify the answer before oauthlib parses it (it would turn every failure into one error)."""
    if response.status_code != 200:
        status = f"{response.status_code} {response.reason or _phrase(response.status_code)}".strip()
        raise BatonError(f"failed to get token: {status}", code=token_error_code(response.status_code))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # A 200 that is not our JSON is a proxy or outage page: worth retrying, not fatal.
        raise BatonError("failed to get token: the response is not JSON", code=StatusCode.UNAVAILABLE)
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise BatonError("failed to get token: empty access token", code=StatusCode.UNAUTHENTICATED)
    return response


def _phrase(code: int) -> str:
    # Servers may send an empty reason (HTTP/2 has none at all); the standard phrase reads as Go's.
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _cause(exc: requests.RequestException) -> str:
    # The innermost reason reads best ("certificate verify failed", "Connection refused");
    # requests wraps it in two layers of pool and retry messages.
    reason: BaseException = exc
    seen = {id(reason)}
    while (inner := reason.__cause__ or reason.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        reason = inner
    text = str(reason) or type(reason).__name__
    return text.splitlines()[0][:300]
