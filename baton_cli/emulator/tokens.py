"""Bearer access tokens: HMAC-signed, self-describing, with an expiry.

Tokens are signed with a key kept in the data directory instead of being remembered in memory,
so a runner holding a token keeps working across an emulator restart, as it would against the
platform. A forced expiry (a fault) bumps an in-memory generation that every token carries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from baton_cli.emulator.jose import JoseError, b64url_decode, b64url_encode

_PREFIX = "emu1"
_KEY_FILE = "token-signing.key"


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged, expired or revoked."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_id: str
    expires_at: float


def load_or_create_key(data_dir: Path) -> bytes:
    path = data_dir / _KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class TokenIssuer:
    def __init__(self, key: bytes, *, ttl_seconds: int, clock: Callable[[], float]) -> None:
        if ttl_seconds < 1:
            raise ValueError("token ttl must be at least 1 second")
        self._key = key
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._generation = 0
        self._lock = threading.Lock()

    def issue(self, client_id: str) -> IssuedToken:
        now = self._clock()
        with self._lock:
            generation = self._generation
        claims = {
            "sub": client_id,
            "exp": now + self.ttl_seconds,
            "gen": generation,
            "jti": secrets.token_hex(8),
        }
        body = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{_PREFIX}.{body}"
        return IssuedToken(f"{signing_input}.{self._sign(signing_input)}", self.ttl_seconds)

    def verify(self, token: str) -> TokenClaims:
        prefix, _, rest = token.partition(".")
        body, _, signature = rest.partition(".")
        if prefix != _PREFIX or not body or not signature:
            raise InvalidToken("malformed access token")
        if not hmac.compare_digest(signature, self._sign(f"{prefix}.{body}")):
            raise InvalidToken("access token signature is invalid")
        try:
            claims = json.loads(b64url_decode(body))
            client_id, expires_at, generation = str(claims["sub"]), float(claims["exp"]), int(claims["gen"])
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("malformed access token") from exc
        with self._lock:
            current = self._generation
        if generation < current:
            raise InvalidToken("access token was revoked")
        if self._clock() >= expires_at:
            raise InvalidToken("access token expired")
        return TokenClaims(client_id, expires_at)

    def expire_all(self) -> None:
        """Make every token issued so far unusable (the forced-expiry fault)."""
        with self._lock:
            self._generation += 1

    def _sign(self, signing_input: str) -> str:
        return b64url_encode(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())
