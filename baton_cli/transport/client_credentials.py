"""Client id and client secret, parsed the way the SDK parses them (auth.md §1, §2).

Error messages name the flag and say what shape was expected, but never repeat the value:
a secret pasted into the wrong flag must not end up in a terminal or a log.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from baton_cli.errors import UsageError
from baton_cli.transport.addresses import host_without_port

CLIENT_ID_FLAG = "--client-id"
CLIENT_SECRET_FLAG = "--client-secret"
_SECRET_VERSION = "v1"
_ED25519_KEY_BYTES = 32
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class ClientId:
    """``<client-name>@<token-host>/<suffix>``; the full text is the JWT iss/sub and form client_id."""

    text: str
    name: str
    token_host: str  # may carry ":port": kept for dialing, dropped for the audience

    @property
    def audience(self) -> str:
        return host_without_port(self.token_host)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: ClientId
    # The private key is the secret itself; keep it out of reprs that reach logs and tracebacks.
    key: Ed25519PrivateKey = field(repr=False)


def parse_client_id(text: str) -> ClientId:
    """Split on the first ``@``, then the rest on the first ``/``; both must be present."""
    name, at, rest = text.partition("@")
    token_host, slash, _suffix = rest.partition("/")
    # The SDK only requires both separators; an empty host would give an unusable URL, so refuse it.
    if not at or not slash or not token_host:
        raise UsageError(
            f"invalid {CLIENT_ID_FLAG}: expected NAME@HOST/SUFFIX (e.g. name@tenant.conductor.one/pcc)"
        )
    return ClientId(text, name, token_host)


def _bad_secret(reason: str) -> UsageError:
    return UsageError(f"invalid {CLIENT_SECRET_FLAG}: {reason}")


def _b64url(value: str, what: str) -> bytes:
    # Strict base64url without padding (Go's RawURLEncoding): Python's decoder would silently
    # skip characters outside the alphabet.
    if not _B64URL.fullmatch(value) or len(value) % 4 == 1:
        raise _bad_secret(f"{what} is not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise _bad_secret(f"{what} is not base64url") from None


def parse_client_secret(text: str) -> Ed25519PrivateKey:
    """``secret-token:conductorone.com:v1:<base64url JWK>`` holding an Ed25519 private key."""
    parts = text.split(":", 3)
    if len(parts) != 4 or parts[2] != _SECRET_VERSION:
        raise _bad_secret("expected secret-token:conductorone.com:v1:<key>")
    raw = _b64url(parts[3], "the key")
    # `from None` throughout: a chained JSON error would carry the decoded key in its `doc`.
    try:
        jwk = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise _bad_secret("the key is not a JSON Web Key") from None
    if not isinstance(jwk, dict):
        raise _bad_secret("the key is not a JSON Web Key")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise _bad_secret("the key is not an Ed25519 key")
    d, x = jwk.get("d"), jwk.get("x")
    if not isinstance(d, str) or not d:
        raise _bad_secret("the key is a public key, not a private key")
    if not isinstance(x, str):
        raise _bad_secret("the key has no public part")
    seed, public = _b64url(d, "the private key"), _b64url(x, "the public key")
    if len(seed) != _ED25519_KEY_BYTES or len(public) != _ED25519_KEY_BYTES:
        raise _bad_secret("the key has the wrong length for Ed25519")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    # A public part that does not match the seed is a damaged secret: every assertion signed
    # with it would be refused, so say so now rather than as a 401 later.
    if key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) != public:
        raise _bad_secret("the key's public part does not match its private part")
    return key


def parse_credentials(client_id: str, client_secret: str) -> ClientCredentials:
    return ClientCredentials(parse_client_id(client_id), parse_client_secret(client_secret))
