"""Fresh Ed25519 TLS credentials for one child launch (subprocess.md §2).

A CA signs a server certificate (it goes to the child, in the stdin line) and a client
certificate (ours). The child's session-store callback presents its server certificate, so both
carry client-auth and server-auth usages.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baton_cli.pb.c1.utls.v1 import tls_pb2

_CA_DAYS = 3650
_LEAF_DAYS = 365
_NAMES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


@dataclass(frozen=True, slots=True)
class Holder:
    key: ed25519.Ed25519PrivateKey
    cert: x509.Certificate

    def go_raw_key(self) -> bytes:
        """Go's 64-byte ed25519.PrivateKey: the 32-byte seed, then the 32-byte public key."""
        seed = self.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        public = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return seed + public

    def write_pem(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Certificate and key as PEM files (the ``ssl`` module loads keys from files only)."""
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
        cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        key_path.touch(mode=0o600)
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path


@dataclass(frozen=True, slots=True)
class LaunchCredentials:
    ca: Holder
    server: Holder
    client: Holder

    @property
    def ca_der(self) -> bytes:
        return self.ca.cert.public_bytes(serialization.Encoding.DER)

    def server_credential(self) -> tls_pb2.Credential:
        """What the child gets: the CA certificate and its own server certificate and key."""
        return tls_pb2.Credential(
            ca_cert=self.ca_der,
            key=self.server.go_raw_key(),
            cert=self.server.cert.public_bytes(serialization.Encoding.DER),
        )

    def client_context(self, directory: Path) -> ssl.SSLContext:
        """Ours for dialling the child: verify it as 127.0.0.1 against the CA, present the client cert."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(cadata=self.ca_der)
        context.load_cert_chain(*self.client.write_pem(directory, "client"))
        context.set_alpn_protocols(["h2"])
        return context

    def session_store_context(self, directory: Path) -> ssl.SSLContext:
        """Ours for serving the child's session-store callback: it must present a CA-signed cert."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.ca_der)
        # The same server identity the child got: it verifies 127.0.0.1 against the same CA.
        context.load_cert_chain(*self.server.write_pem(directory, "server"))
        context.set_alpn_protocols(["h2"])
        return context


def new_launch_credentials(now: dt.datetime | None = None) -> LaunchCredentials:
    now = now or dt.datetime.now(dt.UTC)
    ca_key = ed25519.Ed25519PrivateKey.generate()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "c1-connector-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, None)
    )
    ca = Holder(ca_key, ca_cert)
    return LaunchCredentials(ca, _leaf(ca, "c1-connector-server", now), _leaf(ca, "c1-connector-client", now))


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf(ca: Holder, common_name: str, now: dt.datetime) -> Holder:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip) for ip in _NAMES]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(_usage(cert_sign=False), critical=True)
        .sign(ca.key, None)
    )
    return Holder(key, cert)
