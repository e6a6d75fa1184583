"""The token exchange against the emulator's real token endpoint (auth.md §3)."""

from __future__ import annotations

import base64
import json
import logging
import threading

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from baton_cli.emulator.credentials import MintedCredentials, mint
from baton_cli.emulator.faults import FaultPlan, FaultRule
from baton_cli.emulator.server import EmulatorServer
from baton_cli.errors import BatonError, StatusCode
from baton_cli.transport.client_credentials import ClientCredentials, parse_credentials
from baton_cli.transport.token_source import (
    ASSERTION_TYPE,
    AccessToken,
    TokenSource,
    build_assertion,
    token_url,
)
from tests.emulator_support import Clock, ServerFactory


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tokens_for(
    server: EmulatorServer, creds: MintedCredentials, *, verify: str | bool | None = None, **kwargs: object
) -> TokenSource:
    parsed = parse_credentials(creds.client_id, creds.client_secret)
    return TokenSource(
        parsed,
        url=token_url(server.target),
        verify=str(server.ca_file) if verify is None else verify,
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )


def test_assertion_matches_the_spec() -> None:
    minted, public_key = mint("n", "127.0.0.1", 8443)
    creds = parse_credentials(minted.client_id, minted.client_secret)
    signed = build_assertion(creds.client_id, creds, now=1_700_000_000)
    header_b64, payload_b64, signature_b64 = signed.split(".")
    assert "=" not in signed
    header_json = b64decode(header_b64).decode()
    header = json.loads(header_json)
    assert list(header) == ["alg", "nonce"] and header["alg"] == "EdDSA"
    assert len(header["nonce"]) == 32 and int(header["nonce"], 16) >= 0 and header["nonce"].islower()
    assert header_json == json.dumps(header, separators=(",", ":"), sort_keys=True)
    payload = json.loads(b64decode(payload_b64))
    assert list(payload.items()) == [
        ("iss", minted.client_id),
        ("sub", minted.client_id),
        ("aud", "127.0.0.1"),  # the token host without its port
        ("exp", 1_700_000_120),
        ("nbf", 1_699_999_880),
        ("iat", 1_700_000_000),
    ]
    public_key.verify(b64decode(signature_b64), f"{header_b64}.{payload_b64}".encode())
    other = build_assertion(creds.client_id, creds, now=1_700_000_000)
    assert json.loads(b64decode(other.split(".")[0]))["nonce"] != header["nonce"]  # fresh every time
    assert ASSERTION_TYPE == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_exchange_succeeds_and_the_token_is_cached(server: EmulatorServer, creds: MintedCredentials) -> None:
    with tokens_for(server, creds) as tokens:
        first = tokens.token()
        assert first.token_type == "Bearer" and first.value
        assert first.authorization == f"Bearer {first.value}"
        assert tokens.token() is first
        assert tokens.fetches == 1
        assert first.value not in repr(first)


def test_short_lived_tokens_are_refreshed(make_server: ServerFactory) -> None:
    server = make_server(token_ttl=1)
    creds = server.mint_credentials("short")
    with tokens_for(server, creds) as tokens:
        # A 1 s token is already inside the 10 s refresh margin: every use gets a new one.
        first, second = tokens.token(), tokens.token()
        assert first.value != second.value
        assert tokens.fetches == 2


def test_token_is_reused_until_ten_seconds_before_expiry(make_server: ServerFactory, clock: Clock) -> None:
    server = make_server(token_ttl=3600)
    creds = server.mint_credentials("aging")
    with tokens_for(server, creds, clock=clock) as tokens:
        first = tokens.token()
        clock.advance(3589)
        assert tokens.token() is first
        clock.advance(2)  # 9 s left: refreshed
        second = tokens.token()
        assert second is not first and tokens.fetches == 2


def test_invalidate_forces_a_new_token_but_only_once(
    server: EmulatorServer, creds: MintedCredentials
) -> None:
    with tokens_for(server, creds) as tokens:
        first = tokens.token()
        tokens.invalidate(first)
        second = tokens.token()
        assert second is not first
        tokens.invalidate(first)  # a late caller refusing the old token keeps the new one
        assert tokens.token() is second
        tokens.invalidate()
        assert tokens.token() is not second
        assert tokens.fetches == 3


def test_concurrent_callers_share_one_exchange(server: EmulatorServer, creds: MintedCredentials) -> None:
    with tokens_for(server, creds) as tokens:
        seen: list[AccessToken] = []
        barrier = threading.Barrier(8)

        def worker() -> None:
            barrier.wait()
            seen.append(tokens.token())

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(seen) == 8 and len({id(t) for t in seen}) == 1
        assert tokens.fetches == 1


def test_wrong_credentials_are_unauthenticated(server: EmulatorServer) -> None:
    real = server.mint_credentials("real")
    impostor = server.mint_credentials("impostor")
    wrong = MintedCredentials(real.client_id, impostor.client_secret)  # someone else's key
    with tokens_for(server, wrong) as tokens, pytest.raises(BatonError) as info:
        tokens.token()
    assert info.value.code == StatusCode.UNAUTHENTICATED
    assert str(info.value) == "failed to get token: 401 Unauthorized"
    assert impostor.client_secret.rsplit(":", 1)[-1] not in str(info.value)


def test_unknown_client_is_unauthenticated(server: EmulatorServer) -> None:
    stranger, _ = mint("stranger", server.host, server.port)  # never registered with the server
    with tokens_for(server, stranger) as tokens, pytest.raises(BatonError) as info:
        tokens.token()
    assert info.value.code == StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("fault", "code", "text"),
    [
        (StatusCode.UNAVAILABLE, StatusCode.UNAVAILABLE, "503 Service Unavailable"),
        (StatusCode.RESOURCE_EXHAUSTED, StatusCode.RESOURCE_EXHAUSTED, "429 Too Many Requests"),
        (StatusCode.INTERNAL, StatusCode.UNAVAILABLE, "500 Internal Server Error"),
        (StatusCode.UNAUTHENTICATED, StatusCode.UNAUTHENTICATED, "401 Unauthorized"),
    ],
)
def test_token_endpoint_failures_are_definitive_or_transient(
    make_server: ServerFactory, fault: StatusCode, code: StatusCode, text: str
) -> None:
    server = make_server(faults=FaultPlan([FaultRule("token", error=fault, limit=1)]))
    creds = server.mint_credentials("flaky")
    with tokens_for(server, creds) as tokens:
        with pytest.raises(BatonError) as info:
            tokens.token()
        # 429 and 5xx are a bad minute (retried); 400/401 are the credentials (fatal).
        assert info.value.code == code
        assert str(info.value) == f"failed to get token: {text}"
        assert tokens.token().value  # the fault is spent; nothing bad was cached


def test_tls_is_verified(server: EmulatorServer, creds: MintedCredentials) -> None:
    # The default trust store does not know the emulator's private CA.
    with tokens_for(server, creds, verify=True) as tokens, pytest.raises(BatonError) as info:
        tokens.token()
    assert info.value.code == StatusCode.UNAVAILABLE
    assert "certificate" in str(info.value).lower()
    # One line naming the cause and the fix.
    assert "TLS verification failed" in str(info.value) and "--ca-file or SSL_CERT_FILE" in str(info.value)


def test_unreachable_token_endpoint_is_unavailable(server: EmulatorServer, creds: MintedCredentials) -> None:
    parsed = parse_credentials(creds.client_id, creds.client_secret)
    server.stop()
    # A refused connection must fail at once, not wait out the timeout (pytest-timeout bounds it).
    with (
        TokenSource(parsed, url=token_url(server.target), timeout=3600) as tokens,
        pytest.raises(BatonError) as info,
    ):
        tokens.token()
    assert info.value.code == StatusCode.UNAVAILABLE


def test_credentials_and_tokens_stay_out_of_reprs(server: EmulatorServer, creds: MintedCredentials) -> None:
    parsed: ClientCredentials = parse_credentials(creds.client_id, creds.client_secret)
    assert creds.client_secret.rsplit(":", 1)[-1] not in repr(parsed)
    public = parsed.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert public  # the key is usable
    with tokens_for(server, creds) as tokens:
        token = tokens.token()
        assert token.value not in repr(token) and token.value not in repr(tokens)


def test_debug_logs_carry_no_secrets(
    server: EmulatorServer,
    creds: MintedCredentials,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole OAuth flow (exchange, refresh) at DEBUG: no secret, assertion or token in any record."""
    from baton_cli.transport import token_source

    assertions: list[str] = []
    real = token_source.build_assertion

    def recording(*args: object, **kwargs: object) -> str:
        assertions.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return assertions[-1]

    monkeypatch.setattr(token_source, "build_assertion", recording)
    caplog.set_level(logging.DEBUG)
    with tokens_for(server, creds) as tokens:
        first = tokens.token()
        tokens.invalidate(first)
        second = tokens.token()
    assert len(assertions) == 2 and first.value != second.value
    assert caplog.records  # the HTTP stack did log at DEBUG
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (first.value, second.value, *assertions, creds.client_secret.rsplit(":", 1)[-1]):
        assert secret not in text
    assert "client_assertion=" not in text and "eyJ" not in text
