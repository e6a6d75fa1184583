"""Encrypting returned credentials for the platform (runner.md §8).

A connector hands back plaintext secrets; they leave the process only as
``EncryptedData``, one per (secret, encryption config) pair, secrets outer and
configs inner. Two providers are implemented, both with age (pyrage):

- ``baton/age/v1``: an X25519 age recipient (``age1...``); the ciphertext is the
  raw binary age file; ``key_ids`` = [hex SHA-256 of the recipient string].
- ``baton/jwk/v1``: a public JWK. Ed25519 and RSA keys are age-encrypted to the
  matching ``ssh-ed25519`` / ``ssh-rsa`` recipient and sent as standard base64
  text; ``key_id`` and ``key_ids`` are the RFC 7638 SHA-256 thumbprint in hex.

EC JWKs (upstream: JWE ECDH-ES + A256GCM) and hybrid post-quantum age
recipients are refused with UNIMPLEMENTED. Keys are checked before the
connector is called (``prepare``): a secret that cannot be encrypted must not
be created, because it could never be delivered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyrage  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from baton_cli.connector.api import Credential
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connector.v2 import resource_pb2

AGE_PROVIDER = "baton/age/v1"
JWK_PROVIDER = "baton/jwk/v1"
PROVIDERS = (AGE_PROVIDER, JWK_PROVIDER)

EncryptionConfig = resource_pb2.EncryptionConfig
EncryptedData = resource_pb2.EncryptedData

# RFC 7638 §3.2: the members that make up each key type's thumbprint.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


class EncryptionError(BatonError):
    """An encryption config that cannot be used; the message names the key, never a secret."""

    code = StatusCode.INVALID_ARGUMENT


def _unsupported(message: str) -> EncryptionError:
    return EncryptionError(message, code=StatusCode.UNIMPLEMENTED)


@dataclass(frozen=True, slots=True)
class Encryptor:
    """One encryption config, parsed: seals a plaintext for its recipient."""

    provider: str
    key_id: str
    key_ids: tuple[str, ...]
    seal: Callable[[bytes], bytes]


def prepare(configs: Iterable[EncryptionConfig]) -> list[Encryptor]:
    """Parse every config up front; raise EncryptionError for the first unusable one."""
    return [_encryptor(config, index) for index, config in enumerate(configs)]


def encrypt_credentials(
    credentials: Sequence[Credential], encryptors: Sequence[Encryptor]
) -> list[EncryptedData]:
    return [
        EncryptedData(
            provider=encryptor.provider,
            key_id=encryptor.key_id,
            key_ids=encryptor.key_ids,
            name=credential.name,
            description=credential.description,
            encrypted_bytes=encryptor.seal(credential.bytes_),
        )
        for credential in credentials
        for encryptor in encryptors
    ]


def provider_of(config: EncryptionConfig) -> str:
    """The config's provider, lower-cased; when empty, inferred from which key it carries."""
    provider = config.provider.strip().lower()
    if provider:
        return provider
    match config.WhichOneof("config"):
        case "jwk_public_key_config":
            return JWK_PROVIDER
        case "age_recipient_config":
            return AGE_PROVIDER
        case None:
            return ""


def _encryptor(config: EncryptionConfig, index: int) -> Encryptor:
    provider = provider_of(config)
    where = f"encryption config {index + 1}"
    if provider == AGE_PROVIDER:
        if not config.HasField("age_recipient_config"):
            raise EncryptionError(f"{where}: provider {AGE_PROVIDER} needs an age_recipient_config")
        return _age_encryptor(config.age_recipient_config.recipient, where)
    if provider == JWK_PROVIDER:
        if not config.HasField("jwk_public_key_config"):
            raise EncryptionError(f"{where}: provider {JWK_PROVIDER} needs a jwk_public_key_config")
        return _jwk_encryptor(config.jwk_public_key_config.pub_key, where)
    if not provider:
        raise EncryptionError(f"{where}: no provider and no key")
    raise _unsupported(
        f"{where}: encryption provider {provider!r} is not supported (use {' or '.join(PROVIDERS)})"
    )


# -- baton/age/v1 ----------------------------------------------------------------------------------


def _age_encryptor(recipient_text: str, where: str) -> Encryptor:
    if recipient_text.startswith("age1pq1"):
        raise _unsupported(
            f"{where}: hybrid post-quantum age recipients are not supported; use an X25519 one"
        )
    try:
        recipient = pyrage.x25519.Recipient.from_str(recipient_text)
    except Exception as exc:  # pyrage.RecipientError; one message whatever the parse failure
        raise EncryptionError(f"{where}: not an X25519 age recipient (age1...): {recipient_text!r}") from exc
    key_id = hashlib.sha256(recipient_text.encode("utf-8")).hexdigest()
    return Encryptor(AGE_PROVIDER, "", (key_id,), lambda plaintext: _age_encrypt(plaintext, recipient))


def _age_encrypt(plaintext: bytes, recipient: Any) -> bytes:
    ciphertext: bytes = pyrage.encrypt(plaintext, [recipient])
    return ciphertext


# -- baton/jwk/v1 ----------------------------------------------------------------------------------


def _jwk_encryptor(raw: bytes, where: str) -> Encryptor:
    jwk = _parse_jwk(raw, where)
    kty = jwk["kty"]
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        ssh_key = Ed25519PublicKey.from_public_bytes(_b64url(jwk, "x", where, size=32))
        openssh = ssh_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    elif kty == "RSA":
        n = int.from_bytes(_b64url(jwk, "n", where), "big")
        e = int.from_bytes(_b64url(jwk, "e", where), "big")
        try:
            rsa_key = RSAPublicNumbers(e, n).public_key()
        except ValueError as exc:
            raise EncryptionError(f"{where}: invalid RSA public key: {exc}") from exc
        openssh = rsa_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    elif kty == "EC":
        raise _unsupported(f"{where}: EC JWKs (JWE ECDH-ES) are not supported; use an Ed25519 or RSA key")
    else:
        raise _unsupported(f"{where}: JWK key type {kty!r} (crv {jwk.get('crv')!r}) is not supported")
    try:
        recipient = pyrage.ssh.Recipient.from_str(openssh.decode("ascii"))
    except Exception as exc:  # pyrage.RecipientError, e.g. an RSA key that age finds too small
        raise EncryptionError(f"{where}: age cannot encrypt to this {kty} key: {exc}") from exc
    thumbprint = jwk_thumbprint(jwk)

    def seal(plaintext: bytes) -> bytes:
        return base64.b64encode(_age_encrypt(plaintext, recipient))

    return Encryptor(JWK_PROVIDER, thumbprint, (thumbprint,), seal)


def _parse_jwk(raw: bytes, where: str) -> dict[str, Any]:
    try:
        jwk = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EncryptionError(f"{where}: the public key is not a JSON JWK") from exc
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
        raise EncryptionError(f"{where}: the public key is not a JWK (no kty)")
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        # Refuse rather than strip: someone sent a private key where a public one belongs.
        raise EncryptionError(f"{where}: the JWK holds private key material; send the public key only")
    return jwk


def _b64url(jwk: Mapping[str, Any], member: str, where: str, *, size: int | None = None) -> bytes:
    text = jwk.get(member)
    if not isinstance(text, str) or not text or "=" in text:
        raise EncryptionError(f"{where}: JWK member {member!r} must be unpadded base64url")
    try:
        value = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EncryptionError(f"{where}: JWK member {member!r} must be unpadded base64url") from exc
    if size is not None and len(value) != size:
        raise EncryptionError(f"{where}: JWK member {member!r} must be {size} bytes, got {len(value)}")
    return value


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, lowercase hex: the required members, sorted, no whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise _unsupported(f"no RFC 7638 thumbprint for JWK key type {jwk.get('kty')!r}")
    missing = [m for m in members if not isinstance(jwk.get(m), str)]
    if missing:
        raise EncryptionError(f"JWK lacks {', '.join(missing)}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
