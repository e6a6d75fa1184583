"""Just enough JOSE for the token endpoint: base64url, Ed25519 JWKs and EdDSA compact JWS.

Hand-written rather than pulling a JWT library because the emulator needs exactly one
algorithm (EdDSA over Ed25519, auth.md §3.2) and must be strict about it: a general library
would happily negotiate other algorithms, which a test double of the platform should refuse.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class JoseError(ValueError):
    """A malformed or unverifiable JOSE object; the message is safe to show (no key material)."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url: padding or characters outside the alphabet are errors."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JoseError("invalid base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JoseError("invalid base64url") from exc


def private_jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    """The four-member private JWK the client secret carries (auth.md §2)."""
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return {"kty": "OKP", "crv": "Ed25519", "x": public_x(key.public_key()), "d": b64url_encode(seed)}


def public_x(key: Ed25519PublicKey) -> str:
    return b64url_encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_x(x: str) -> Ed25519PublicKey:
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise JoseError("Ed25519 public key must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PrivateKey:
    """Parse and check an Ed25519 private JWK: the d seed must match the stated x."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise JoseError("not an Ed25519 JWK")
    d, x = jwk.get("d"), jwk.get("x")
    if not isinstance(d, str) or not isinstance(x, str):
        raise JoseError("not a private Ed25519 JWK")
    seed = b64url_decode(d)
    if len(seed) != 32:
        raise JoseError("Ed25519 private key must be 32 bytes")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    if public_x(key.public_key()) != x:
        raise JoseError("JWK x does not match d")
    return key


@dataclass(frozen=True, slots=True)
class CompactJWS:
    """A parsed but not yet verified compact JWS."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verify(self, key: Ed25519PublicKey) -> None:
        try:
            key.verify(self.signature, self.signing_input)
        except InvalidSignature as exc:
            raise JoseError("signature does not verify") from exc


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JoseError(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JoseError(f"{what} is not a JSON object")
    return value


def parse_eddsa_jws(token: str) -> CompactJWS:
    """Split and decode an EdDSA compact JWS; any other algorithm is refused before verifying."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("not a compact JWS")
    header = _json_object(parts[0], "JWS header")
    if header.get("alg") != "EdDSA":
        raise JoseError("JWS alg must be EdDSA")
    if "crit" in header:  # we implement no extensions, so any critical one must be refused (RFC 7515)
        raise JoseError("JWS crit names an unsupported extension")
    claims = _json_object(parts[1], "JWS payload")
    signature = b64url_decode(parts[2])
    if len(signature) != 64:
        raise JoseError("Ed25519 signature must be 64 bytes")
    return CompactJWS(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
