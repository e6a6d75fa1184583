"""The bridge's parts on their own: credentials, error mapping, log lines, session store, stop."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID
from google.protobuf import any_pb2
from google.rpc import status_pb2

from baton_cli.connector.api import Entitlement, Resource
from baton_cli.errors import ConnectorError, RetryableConnectorError, StatusCode
from baton_cli.pb.c1.connector.v2 import annotation_exclusion_group_pb2, annotation_ratelimit_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import session_pb2 as spb
from baton_cli.transport.child import ChildOptions, launch_child
from baton_cli.transport.child.connector import _materialize
from baton_cli.transport.child.credentials import new_launch_credentials
from baton_cli.transport.child.logs import parse_line
from baton_cli.transport.child.rpc_errors import connector_error
from baton_cli.transport.child.session_store import PAGE_SIZE, SessionStore
from tests.child.support import alive


def test_launch_credentials_are_ed25519_and_go_shaped() -> None:
    creds = new_launch_credentials()
    credential = creds.server_credential()
    assert len(credential.key) == 64  # Go's ed25519.PrivateKey: seed then public key
    cert = x509.load_der_x509_certificate(credential.cert)
    ca = x509.load_der_x509_certificate(credential.ca_cert)
    assert isinstance(cert.public_key(), ed25519.Ed25519PublicKey)
    assert ca.subject.rfc4514_string() == "CN=c1-connector-ca"
    assert cert.subject.rfc4514_string() == "CN=c1-connector-server"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
    cert.verify_directly_issued_by(ca)
    public = cert.public_key().public_bytes_raw()  # type: ignore[union-attr]
    assert credential.key[32:] == public
    assert new_launch_credentials().ca_der != creds.ca_der  # fresh per launch


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str, trailers: tuple[Any, ...] = ()) -> None:
        self._code, self._details, self._trailers = code, details, trailers

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[Any, ...]:
        return self._trailers


def test_codes_are_kept_and_rate_limits_carry_their_reset() -> None:
    invalid = connector_error(FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "bad page token"), "ListGrants")
    assert type(invalid) is ConnectorError and invalid.code == StatusCode.INVALID_ARGUMENT
    assert str(invalid) == "connector ListGrants failed: INVALID_ARGUMENT: bad page token"
    limit = annotation_ratelimit_pb2.RateLimitDescription(remaining=0)
    limit.reset_at.FromSeconds(2_000_000_000)
    detail = any_pb2.Any()
    detail.Pack(limit)
    status = status_pb2.Status(code=14, message="slow down", details=[detail])
    trailers = (("grpc-status-details-bin", status.SerializeToString()),)
    limited = connector_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "slow down", trailers), "ListUsers")
    assert isinstance(limited, RetryableConnectorError) and limited.code == StatusCode.UNAVAILABLE
    assert limited.reset_at == 2_000_000_000 and limited.remaining == 0
    deadline = connector_error(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, ""), "X")
    assert isinstance(deadline, RetryableConnectorError) and deadline.reset_at is None


def test_log_lines_keep_levels_and_fields() -> None:
    line = '{"level":"warn","ts":1.5,"caller":"x.go:1","msg":"rate limited","retry_in":3}'
    assert parse_line(line) == (logging.WARNING, "rate limited retry_in=3")
    assert parse_line('{"level":"debug","msg":"page","token":"abc"}') == (logging.DEBUG, "page token=abc")
    assert parse_line('{"level":"fatal","msg":"boom"}')[0] == logging.CRITICAL
    assert parse_line('Error: required flag(s) "domain" not set') == (
        logging.WARNING,
        'Error: required flag(s) "domain" not set',
    )


def test_static_entitlements_are_materialized_per_resource() -> None:
    resource = Resource(display_name="Engineering", description="The team")
    resource.id.resource_type, resource.id.resource = "team", "t1"
    template = Entitlement(slug="admin", display_name="")
    group = annotation_exclusion_group_pb2.EntitlementExclusionGroup(
        exclusion_group_id="tier", scope_to_resource=True
    )
    template.annotations.add().Pack(group)
    made = _materialize(template, resource)
    assert made.id == "team:t1:admin"
    assert made.resource == resource
    assert made.display_name == "Engineering" and made.description == "The team"
    unpacked = annotation_exclusion_group_pb2.EntitlementExclusionGroup()
    assert made.annotations[0].Unpack(unpacked) and unpacked.exclusion_group_id == "tier-t1"
    assert template.annotations[0].Unpack(unpacked) and unpacked.exclusion_group_id == "tier"  # untouched


class FakeContext:
    def abort(self, code: grpc.StatusCode, message: str) -> None:
        raise RuntimeError(f"{code.name}: {message}")


def test_session_store_scopes_by_sync_and_prefix_and_pages() -> None:
    store, ctx = SessionStore(), FakeContext()
    store.SetMany(
        spb.SetManyRequest(sync_id="a", values={f"k{i:04d}": b"v" for i in range(PAGE_SIZE + 5)}), ctx
    )
    store.Set(spb.SetRequest(sync_id="b", key="k0000", value=b"other"), ctx)
    store.Set(spb.SetRequest(sync_id="a", key="x", value=b"p", prefix="p/"), ctx)
    assert store.Get(spb.GetRequest(sync_id="b", key="k0000"), ctx).value == b"other"
    assert store.Get(spb.GetRequest(sync_id="a", key="x"), ctx).found is False  # other prefix
    first = store.GetAll(spb.GetAllRequest(sync_id="a"), ctx)
    assert len(first.items) == PAGE_SIZE and first.page_token
    rest = store.GetAll(spb.GetAllRequest(sync_id="a", page_token=first.page_token), ctx)
    assert len(rest.items) == 5 and not rest.page_token
    many = store.GetMany(spb.GetManyRequest(sync_id="a", keys=["k0001", "nope"]), ctx)
    assert [i.key for i in many.items] == ["k0001"]
    store.DeleteMany(spb.DeleteManyRequest(sync_id="a", keys=["k0001"]), ctx)
    assert not store.Get(spb.GetRequest(sync_id="a", key="k0001"), ctx).found
    store.Clear(spb.ClearRequest(sync_id="a"), ctx)
    assert store.keys("a") == [] and store.keys("b") == ["k0000"]
    with pytest.raises(RuntimeError, match="INVALID_ARGUMENT: session store: sync_id is required"):
        store.Get(spb.GetRequest(key="k"), ctx)


def test_calls_carry_deadlines(standin: Path) -> None:
    options = ChildOptions(
        executable=standin, args=("--users", "1", "--hold-grants"), env={}, call_timeout=0.5
    )
    with launch_child(options) as session:
        user = next(s for s in session.connector.resource_syncers() if s.resource_type.id == "user")
        resource = user.list(None, "").items[0]
        with pytest.raises(RetryableConnectorError) as caught:
            user.grants(resource, "")
        assert caught.value.code == StatusCode.DEADLINE_EXCEEDED


def test_a_child_that_ignores_stdin_eof_is_killed(standin: Path, tmp_path: Path) -> None:
    options = ChildOptions(executable=standin, args=("--ignore-stdin-eof",), env={"PATH": os.environ["PATH"]})
    session = launch_child(options)
    assert session.process is not None
    pid = session.process.pid
    session.process.stop(grace=0.2)  # what close() does, with a short wait before the kill
    assert not alive(pid)
    assert session.process.returncode is not None and session.process.returncode < 0
    session.close()
