"""TLS, credentials and the token endpoint of the emulator, over real TLS on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import ssl
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import grpc
import h2.config
import h2.connection
import h2.events
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from baton_cli.emulator.credentials import (
    SECRET_PREFIX,
    ClientId,
    CredentialStore,
    MintedCredentials,
    host_without_port,
    mint,
    private_key_from_secret,
)
from baton_cli.emulator.jose import b64url_decode
from baton_cli.emulator.paths import credentials_path, tls_dir
from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.tls import ensure_tls
from baton_cli.errors import BatonError, StatusCode, UsageError
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2
from tests.emulator.conftest import (
    HOST_ID,
    Client,
    assertion,
    fetch_token,
    make_stub,
    open_channel,
    post_token,
    token_form,
)
from tests.emulator_support import Clock, ServerFactory

# -- TLS ---------------------------------------------------------------------------------------------


def test_tls_files_are_made_once_and_reused(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path)
    ca, cert = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    again = ensure_tls(tmp_path)
    assert (again.ca_cert.read_bytes(), again.server_cert.read_bytes()) == (ca, cert)
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600

    leaf = x509.load_pem_x509_certificate(cert)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert leaf.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]

    # A new name re-issues the server certificate from the same CA.
    extended = ensure_tls(tmp_path, ["emulator.test"])
    assert extended.ca_cert.read_bytes() == ca
    assert extended.server_cert.read_bytes() != cert


def test_python_ssl_verifies_every_default_name(server: EmulatorServer) -> None:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    for name in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_grpc_client_trusts_the_ca_under_localhost(server: EmulatorServer, client: Client) -> None:
    channel = open_channel(server, f"localhost:{server.port}")
    try:
        make_stub(channel).Hello(
            baton_pb2.BatonServiceHelloRequest(host_id=HOST_ID), metadata=client.md, timeout=10
        )
    finally:
        channel.close()


def test_busy_port_is_a_clear_error(server: EmulatorServer, tmp_path: Path) -> None:
    other = EmulatorServer(tmp_path / "other", "127.0.0.1", server.port)
    with pytest.raises(BatonError, match="cannot listen") as info:
        other.start()
    assert info.value.code == StatusCode.UNAVAILABLE


# -- credentials -------------------------------------------------------------------------------------


def test_minted_credentials_have_the_real_shapes(tmp_path: Path) -> None:
    minted, public = mint("my-conn", "127.0.0.1", 8443)
    assert minted.client_id == "my-conn@127.0.0.1:8443/pcc"
    parsed = ClientId.parse(minted.client_id)
    assert (parsed.name, parsed.token_host, parsed.audience) == ("my-conn", "127.0.0.1:8443", "127.0.0.1")

    assert minted.client_secret.startswith(SECRET_PREFIX)
    parts = minted.client_secret.split(":", 3)
    assert parts[2] == "v1" and "=" not in parts[3]
    jwk = json.loads(b64url_decode(parts[3]))
    assert sorted(jwk) == ["crv", "d", "kty", "x"] and (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    assert private_key_from_secret(minted.client_secret).public_key() == public
    assert minted.client_secret not in repr(minted)

    store = CredentialStore(tmp_path / "credentials.json")
    store.add(minted.client_id, public)
    text = store.path.read_text()
    assert jwk["x"] in text and jwk["d"] not in text and "secret-token" not in text
    with pytest.raises(BatonError, match="already exist") as info:
        store.add(minted.client_id, public)
    assert info.value.code == StatusCode.ALREADY_EXISTS


def test_ipv6_client_ids_bracket_the_host() -> None:
    minted, _ = mint("v6", "::1", 9443)
    assert minted.client_id == "v6@[::1]:9443/pcc"
    assert ClientId.parse(minted.client_id).audience == "::1"
    assert host_without_port("localhost") == "localhost"


@pytest.mark.parametrize("name", ["", "a@b", "a/b", "-x", "x" * 65])
def test_bad_credential_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError):
        mint(name, "127.0.0.1", 8443)


# -- token endpoint ----------------------------------------------------------------------------------


def _key(creds: MintedCredentials) -> Ed25519PrivateKey:
    return private_key_from_secret(creds.client_secret)


def test_token_exchange_with_a_correct_assertion(server: EmulatorServer, creds: MintedCredentials) -> None:
    response = post_token(server, token_form(creds.client_id, assertion(creds.client_id, _key(creds))))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert response.headers["cache-control"] == "no-store"


def _h2_post(server: EmulatorServer, path: str, body: bytes) -> tuple[int, bytes]:
    """A bare HTTP/2 POST, as Go's HTTP client sends the token request (auth.md §3.1)."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    context.set_alpn_protocols(["h2"])
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        conn.initiate_connection()
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", server.target),
            (":path", path),
            ("content-type", "application/x-www-form-urlencoded"),
            ("user-agent", "baton-c1-credential-provider baton-sdk/v0.25.0"),
        ]
        conn.send_headers(1, headers)
        conn.send_data(1, body, end_stream=True)
        tls.sendall(conn.data_to_send())
        status, data = 0, b""
        while True:
            chunk = tls.recv(65536)
            assert chunk, "connection closed before the response ended"
            for event in conn.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    data += event.data or b""
                    conn.acknowledge_received_data(event.flow_controlled_length or 0, 1)
                elif isinstance(event, h2.events.StreamEnded):
                    return status, data
            tls.sendall(conn.data_to_send())


def test_token_exchange_over_http2(server: EmulatorServer, creds: MintedCredentials) -> None:
    form = token_form(creds.client_id, assertion(creds.client_id, _key(creds)))
    status, body = _h2_post(server, "/auth/v1/token", urlencode(sorted(form.items())).encode())
    assert status == 200
    assert json.loads(body)["token_type"] == "bearer"


def _refused(server: EmulatorServer, form: dict[str, str], status: int = 401) -> dict[str, Any]:
    response = post_token(server, form)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "access_token" not in body and body["error"]
    return body


def test_assertion_signed_with_another_key_is_refused(
    server: EmulatorServer, creds: MintedCredentials
) -> None:
    signed = assertion(creds.client_id, Ed25519PrivateKey.generate())
    body = _refused(server, token_form(creds.client_id, signed))
    assert body["error"] == "invalid_client" and "signature" in body["error_description"]


def test_assertion_with_the_wrong_audience_is_refused(
    server: EmulatorServer, creds: MintedCredentials
) -> None:
    for aud in (server.target, "localhost", "acme.conductor.one"):  # the port must be stripped
        body = _refused(server, token_form(creds.client_id, assertion(creds.client_id, _key(creds), aud=aud)))
        assert "aud" in body["error_description"]


def test_expired_assertion_is_refused(server: EmulatorServer, creds: MintedCredentials, clock: Clock) -> None:
    signed = assertion(creds.client_id, _key(creds), now=clock() - 600)
    body = _refused(server, token_form(creds.client_id, signed))
    assert "expired" in body["error_description"]


def test_assertion_within_the_leeway_is_accepted(
    server: EmulatorServer, creds: MintedCredentials, clock: Clock
) -> None:
    # Issued 130 s ago: exp passed 10 s ago, inside the 30 s leeway for clock skew.
    signed = assertion(creds.client_id, _key(creds), now=clock() - 130)
    assert post_token(server, token_form(creds.client_id, signed)).status_code == 200


@pytest.mark.parametrize(
    ("mutation", "status"),
    [
        ({"grant_type": "password"}, 400),
        ({"client_assertion_type": "urn:other"}, 400),
        ({"client_id": "nobody@127.0.0.1:1/pcc"}, 401),
        ({"client_id": "not-a-client-id"}, 401),
        ({"client_assertion": "a.b"}, 401),
    ],
)
def test_malformed_token_requests_are_refused(
    server: EmulatorServer, creds: MintedCredentials, mutation: dict[str, str], status: int
) -> None:
    form = token_form(creds.client_id, assertion(creds.client_id, _key(creds))) | mutation
    _refused(server, form, status)


def test_other_algorithms_and_claims_are_refused(
    server: EmulatorServer, creds: MintedCredentials, clock: Clock
) -> None:
    key = _key(creds)
    other = "someone@127.0.0.1:1/pcc"
    for signed in (
        assertion(creds.client_id, key, alg="none"),
        assertion(creds.client_id, key, claims={"iss": other}),
        assertion(creds.client_id, key, claims={"sub": other}),
        assertion(creds.client_id, key, claims={"nbf": int(clock()) + 600}),
        assertion(creds.client_id, key, lifetime=86_400),
    ):
        _refused(server, token_form(creds.client_id, signed))


def test_token_endpoint_rejects_other_methods_and_paths(server: EmulatorServer) -> None:
    with requests.Session() as session:
        get = session.get(f"https://{server.target}/auth/v1/token", verify=str(server.ca_file), timeout=10)
        missing = session.post(f"https://{server.target}/nope", verify=str(server.ca_file), timeout=10)
    assert (get.status_code, missing.status_code) == (405, 404)


def test_credentials_created_while_serving_work_at_once(server: EmulatorServer) -> None:
    late = server.mint_credentials("late-comer")
    assert fetch_token(server, late)
    stored = json.loads(credentials_path(server.data_dir).read_text())
    assert late.client_id in stored["clients"]


# -- bearer tokens on gRPC ---------------------------------------------------------------------------


def _hello(client: Client, **kwargs: Any) -> Any:
    return client.call("Hello", baton_pb2.BatonServiceHelloRequest(host_id=HOST_ID), **kwargs)


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        [("authorization", "Bearer ")],
        [("authorization", "Basic abc")],
        [("authorization", "Bearer x.y.z")],
    ],
)
def test_calls_without_a_valid_token_are_unauthenticated(
    client: Client, metadata: list[tuple[str, str]]
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        _hello(client, metadata=metadata)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_forged_token_is_unauthenticated(client: Client) -> None:
    prefix, body, _signature = client.token.split(".")
    forged = f"{prefix}.{body}.{'A' * 43}"
    with pytest.raises(grpc.RpcError) as info:
        _hello(client, metadata=[("authorization", f"Bearer {forged}")])
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_token_ttl_expires_tokens_and_a_new_token_works(
    make_server: ServerFactory, clock: Clock, data_dir: Path
) -> None:
    server = make_server(token_ttl=30)
    creds = server.mint_credentials("short-lived")
    response = post_token(server, token_form(creds.client_id, assertion(creds.client_id, _key(creds))))
    assert response.json()["expires_in"] == 30
    channel = open_channel(server)
    try:
        client = Client(channel, make_stub(channel), response.json()["access_token"])
        _hello(client)
        clock.advance(31)
        with pytest.raises(grpc.RpcError) as info:
            _hello(client)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "expired" in (info.value.details() or "")
        client.token = fetch_token(server, creds, now=clock())
        _hello(client)
    finally:
        channel.close()


def test_tokens_survive_a_restart(make_server: ServerFactory, data_dir: Path) -> None:
    first = make_server()
    creds = first.mint_credentials("restart")
    token = fetch_token(first, creds)
    first.stop()
    second = make_server()
    channel = open_channel(second)
    try:
        _hello(Client(channel, make_stub(channel), token))
    finally:
        channel.close()
    assert tls_dir(data_dir).is_dir()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_serves_on_ipv6_loopback(make_server: ServerFactory, data_dir: Path) -> None:
    server = EmulatorServer(data_dir / "v6", "::1", 0)
    server.start()
    try:
        creds = server.mint_credentials("v6")
        assert creds.client_id == f"v6@[::1]:{server.port}/pcc"
        channel = open_channel(server)
        try:
            _hello(Client(channel, make_stub(channel), fetch_token(server, creds)))
        finally:
            channel.close()
    finally:
        server.stop()
