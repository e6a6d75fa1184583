"""Client id / secret parsing (auth.md §1, §2): good shapes accepted, bad ones refused without echo."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from baton_cli.errors import StatusCode, UsageError
from baton_cli.transport.addresses import host_without_port, with_default_port
from baton_cli.transport.client_credentials import (
    ClientCredentials,
    parse_client_id,
    parse_client_secret,
    parse_credentials,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def raw_private(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def jwk(key: Ed25519PrivateKey, **overrides: object) -> dict[str, object]:
    value: dict[str, object] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(raw_public(key)),
        "d": b64(raw_private(key)),
    }
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not None}


def secret_for(payload: object, prefix: str = "secret-token:conductorone.com:v1:") -> str:
    return prefix + b64(json.dumps(payload).encode())


@pytest.mark.parametrize(
    ("text", "name", "host", "audience"),
    [
        ("strange-hydra-68836@acme.conductor.one/pcc", "strange-hydra-68836", "acme.conductor.one", None),
        ("n@127.0.0.1:8443/pcc", "n", "127.0.0.1:8443", "127.0.0.1"),
        ("n@[::1]:8443/pcc/extra", "n", "[::1]:8443", "::1"),
        ("a@b@c.example/x", "a", "b@c.example", None),  # split on the FIRST '@'
    ],
)
def test_client_id_is_split_on_first_at_and_slash(
    text: str, name: str, host: str, audience: str | None
) -> None:
    parsed = parse_client_id(text)
    assert (parsed.text, parsed.name, parsed.token_host) == (text, name, host)
    assert parsed.audience == (audience or host)


@pytest.mark.parametrize("text", ["", "no-at-sign/pcc", "name@host-without-slash", "name@/pcc"])
def test_bad_client_id_is_a_usage_error_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_client_id(text)
    assert "--client-id" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.code == StatusCode.INVALID_ARGUMENT


def test_client_id_error_does_not_echo_the_value() -> None:
    secret = secret_for(jwk(Ed25519PrivateKey.generate()))
    with pytest.raises(UsageError) as info:
        parse_client_id(secret)  # a secret pasted into the wrong flag
    assert secret[20:] not in str(info.value)


def test_good_secret_gives_the_key() -> None:
    key = Ed25519PrivateKey.generate()
    parsed = parse_client_secret(secret_for(jwk(key)))
    assert raw_public(parsed) == raw_public(key)
    # Parts 1 and 2 are not checked by the SDK; only the version is.
    assert raw_public(parse_client_secret(secret_for(jwk(key), prefix="x:y:v1:"))) == raw_public(key)


def good_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


OTHER = good_key()
BAD_SECRETS = {
    "too few parts": "secret-token:conductorone.com:" + b64(json.dumps(jwk(good_key())).encode()),
    "wrong version": secret_for(jwk(good_key()), prefix="secret-token:conductorone.com:v2:"),
    "not base64url": "secret-token:conductorone.com:v1:***not-base64***",
    "padded": "secret-token:conductorone.com:v1:" + base64.urlsafe_b64encode(b'{"kty":"OKP"}').decode(),
    "not json": "secret-token:conductorone.com:v1:" + b64(b"definitely not json"),
    "json list": secret_for([1, 2, 3]),
    "public only": secret_for(jwk(good_key(), d=None)),
    "wrong kty": secret_for(jwk(good_key(), kty="EC")),
    "wrong crv": secret_for(jwk(good_key(), crv="X25519")),
    "short d": secret_for(jwk(good_key(), d=b64(b"short"))),
    "mismatched x": secret_for(jwk(good_key(), x=b64(raw_public(OTHER)))),
    "missing x": secret_for(jwk(good_key(), x=None)),
}


@pytest.mark.parametrize("case", sorted(BAD_SECRETS))
def test_bad_secret_is_a_one_line_usage_error_that_never_echoes_it(case: str) -> None:
    secret = BAD_SECRETS[case]
    with pytest.raises(UsageError) as info:
        parse_client_secret(secret)
    text = str(info.value)
    assert text.startswith("invalid --client-secret")
    assert "\n" not in text
    payload = secret.rsplit(":", 1)[-1]
    assert payload not in text and secret not in text
    # Nothing chained either: a traceback must not show the decoded key.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_credentials_repr_hides_the_key() -> None:
    key = good_key()
    creds = parse_credentials("n@h.example/pcc", secret_for(jwk(key)))
    assert isinstance(creds, ClientCredentials)
    assert "key" not in repr(creds) and b64(raw_private(key)) not in repr(creds)


@pytest.mark.parametrize(
    ("host", "bare", "dialed"),
    [
        ("acme.conductor.one", "acme.conductor.one", "acme.conductor.one:443"),
        ("acme.conductor.one:8443", "acme.conductor.one", "acme.conductor.one:8443"),
        ("[::1]:8443", "::1", "[::1]:8443"),
        ("[::1]", "::1", "[::1]:443"),
        ("::1", "::1", "[::1]:443"),
    ],
)
def test_host_forms(host: str, bare: str, dialed: str) -> None:
    assert host_without_port(host) == bare
    assert with_default_port(host) == dialed
