"""The emulator's local certificate authority and server certificate.

ECDSA P-256 keys and SHA-256 signatures throughout: grpcio's BoringSSL does not offer Ed25519
(see libraries.md), and P-256 is accepted by every TLS client a runner might use. The CA is made
once and kept, so a ``--ca-file`` or ``SSL_CERT_FILE`` set up by a connector author stays valid;
the server certificate is re-issued from it when it nears expiry or the served names change.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_NAMES = ("127.0.0.1", "::1", "localhost")
_CA_DAYS = 3650
_SERVER_DAYS = 365
_RENEW_BEFORE = dt.timedelta(days=14)


@dataclass(frozen=True, slots=True)
class TLSFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def tls_files(directory: Path) -> TLSFiles:
    return TLSFiles(
        directory / "ca.pem", directory / "ca-key.pem", directory / "server.pem", directory / "server-key.pem"
    )


def ensure_tls(directory: Path, names: Iterable[str] = ()) -> TLSFiles:
    """Create or reuse the CA and a server certificate covering DEFAULT_NAMES plus ``names``."""
    files = tls_files(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wanted = _san_names([*DEFAULT_NAMES, *names])
    now = dt.datetime.now(dt.UTC)
    ca = _load_ca(files, now)
    if ca is None:
        ca = _new_ca(files, now)
    elif _server_cert_fits(files, ca[0], wanted, now):
        return files
    _new_server_cert(files, ca, wanted, now)
    return files


def server_ssl_context(files: TLSFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.server_cert, files.server_key)
    # h2 for gRPC (and Go's token client); http/1.1 for HTTPS clients without HTTP/2 (requests).
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def _san_names(names: Iterable[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in dict.fromkeys(n.strip("[]") for n in names if n):
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            result.append(x509.DNSName(name))
            continue
        if not address.is_unspecified:  # 0.0.0.0 / :: are bind addresses, not names to verify
            result.append(x509.IPAddress(address))
    return result


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_ca(files: TLSFiles, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.not_valid_after_utc - _RENEW_BEFORE < now:
        return None
    return cert, key


def _new_ca(files: TLSFiles, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "baton emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"baton emulator local CA {now:%Y-%m-%d %H:%M:%S}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(files.ca_key, _key_pem(key))
    _write_public(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _server_cert_fits(
    files: TLSFiles, ca: x509.Certificate, wanted: list[x509.GeneralName], now: dt.datetime
) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    return cert.not_valid_after_utc - _RENEW_BEFORE > now and all(n in names for n in wanted)


def _new_server_cert(
    files: TLSFiles,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    names: list[x509.GeneralName],
    now: dt.datetime,
) -> None:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "baton emulator")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=_SERVER_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.server_key, _key_pem(key))
    _write_public(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))
