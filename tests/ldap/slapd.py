"""A real OpenLDAP ``slapd`` for tests: generated config, LDIF seed via slapadd, stopped by pid.

The server listens on free 127.0.0.1 ports: plain LDAP (StartTLS offered) and LDAPS, with a
certificate from a CA generated per server. Tests call ``require_program("slapd")`` first, so
a machine without it skips with the reason, and CI (BATON_REQUIRE_EXTERNALS=1) fails instead.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.external import require_program

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret-pw"  # a test directory's root password, not a real secret
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")
READY_ATTEMPTS = 600  # 30 s at most, for a loaded machine


@dataclass(frozen=True)
class Slapd:
    url: str  # ldap://127.0.0.1:PORT (StartTLS available)
    ldaps_url: str
    ca_file: Path
    directory: Path
    pid: int

    def config(self, **overrides: object) -> dict[str, object]:
        """The LDAP connector's config for this server, admin-bound."""
        values: dict[str, object] = {
            "url": self.url,
            "bind-dn": ADMIN_DN,
            "password": ADMIN_PASSWORD,
            "base-dn": SUFFIX,
            "user-search-dn": f"ou=people,{SUFFIX}",
            "group-search-dn": f"ou=groups,{SUFFIX}",
        }
        values.update(overrides)
        return values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_certificates(directory: Path) -> Path:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "baton test LDAP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory / "ca.pem"


def _config(directory: Path) -> str:
    # Lines that start with white space continue the previous one in slapd.conf: no indentation.
    includes = "".join(f"include {SCHEMA_DIR / name}.schema\n" for name in SCHEMAS)
    return includes + textwrap.dedent(
        f"""\
        modulepath {MODULE_DIR}
        moduleload back_mdb
        pidfile {directory / "slapd.pid"}
        TLSCACertificateFile {directory / "ca.pem"}
        TLSCertificateFile {directory / "server.pem"}
        TLSCertificateKeyFile {directory / "server.key"}
        sizelimit unlimited

        database mdb
        maxsize 1073741824
        suffix "{SUFFIX}"
        rootdn "{ADMIN_DN}"
        rootpw {ADMIN_PASSWORD}
        directory {directory / "data"}
        index objectClass eq
        index uid,member,uniqueMember,memberUid eq
        """
    )


BASE_LDIF = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

"""


@contextmanager
def running_slapd(directory: Path, seed: Sequence[str] | str = ()) -> Iterator[Slapd]:
    """A slapd seeded with the base entries plus ``seed`` (LDIF text, or its paths), stopped on exit."""
    slapd = require_program("slapd")
    slapadd = require_program("slapadd")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir()
    ca_file = _write_certificates(directory)
    conf = directory / "slapd.conf"
    conf.write_text(_config(directory))
    ldif = directory / "seed.ldif"
    if isinstance(seed, str):
        ldif.write_text(BASE_LDIF + seed)
    else:
        ldif.write_text(BASE_LDIF + "".join(Path(p).read_text() for p in seed))
    # slapadd loads offline (fast: no per-entry round trips); -q skips consistency checks.
    subprocess.run([slapadd, "-q", "-f", str(conf), "-l", str(ldif)], check=True, capture_output=True)
    port, tls_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
    # -d 0: stay in the foreground (so the pid is ours to stop) without debug output.
    with (directory / "slapd.log").open("wb") as log:
        process = subprocess.Popen(
            [slapd, "-f", str(conf), "-h", urls, "-d", "0"], stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        _wait_until_listening(process, port, directory)
        yield Slapd(
            f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}", ca_file, directory, process.pid
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory / "data", ignore_errors=True)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, directory: Path) -> None:
    for _attempt in range(READY_ATTEMPTS):
        if process.poll() is not None:
            log = (directory / "slapd.log").read_text(errors="replace")
            raise RuntimeError(f"slapd exited with {process.returncode}: {log[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"slapd did not listen on port {port} after {READY_ATTEMPTS} attempts")
