"""Client credentials for the emulator: mint them in the real format, keep only public keys.

A client id is ``NAME@HOST:PORT/pcc`` and a client secret is
``secret-token:conductorone.com:v1:<base64url JSON private JWK>`` (auth.md §1, §2), so a
runner cannot tell the emulator's credentials from the platform's. The credentials file holds
public keys only: a leaked data directory must not leak a usable secret.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from baton_cli.emulator.jose import (
    JoseError,
    b64url_decode,
    b64url_encode,
    private_jwk,
    private_key_from_jwk,
    public_key_from_x,
    public_x,
)
from baton_cli.errors import BatonError, NotFoundError, StatusCode, UsageError

SECRET_PREFIX = "secret-token:conductorone.com:v1:"
CLIENT_SUFFIX = "pcc"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FILE_VERSION = 1


@dataclass(frozen=True, slots=True)
class ClientId:
    """A parsed client id, split the way the SDK splits it (auth.md §1)."""

    text: str
    name: str
    token_host: str  # may carry :port

    @classmethod
    def parse(cls, text: str) -> ClientId:
        name, at, rest = text.partition("@")
        host, slash, _suffix = rest.partition("/")
        if not at or not slash:
            raise UsageError("invalid client id")
        return cls(text, name, host)

    @property
    def audience(self) -> str:
        """The JWT audience the client computes: the token host without its port."""
        return host_without_port(self.token_host)


def host_without_port(host: str) -> str:
    if host.startswith("["):  # "[::1]:8443" or "[::1]"
        return host[1 : host.index("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host  # a bare host name, or a bare IPv6 address


def host_with_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class MintedCredentials:
    client_id: str
    # Never printed by repr(): dataclass reprs end up in logs and tracebacks.
    client_secret: str = field(repr=False)


def mint(name: str, host: str, port: int) -> tuple[MintedCredentials, Ed25519PublicKey]:
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"invalid credential name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    key = Ed25519PrivateKey.generate()
    payload = json.dumps(private_jwk(key), separators=(",", ":")).encode()
    client_id = f"{name}@{host_with_port(host, port)}/{CLIENT_SUFFIX}"
    return MintedCredentials(client_id, SECRET_PREFIX + b64url_encode(payload)), key.public_key()


def private_key_from_secret(secret: str) -> Ed25519PrivateKey:
    """Decode a client secret as the SDK does (auth.md §2); used by tests and tools."""
    parts = secret.split(":", 3)
    if len(parts) != 4 or parts[2] != "v1":
        raise UsageError("invalid client secret")
    try:
        jwk = json.loads(b64url_decode(parts[3]))
        if not isinstance(jwk, dict):
            raise UsageError("invalid client secret")
        return private_key_from_jwk(jwk)
    except (JoseError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError("invalid client secret") from exc


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client_id: str
    public_x: str
    created_at: float

    def public_key(self) -> Ed25519PublicKey:
        return public_key_from_x(self.public_x)


class CredentialStore:
    """The JSON credentials file: client id -> public key. Re-read on every lookup so
    credentials created while the server runs work at once (the file is tiny)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def clients(self) -> dict[str, RegisteredClient]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BatonError(f"cannot read credentials file {self.path}: {exc}") from exc
        entries: dict[str, Any] = raw.get("clients", {}) if isinstance(raw, dict) else {}
        return {
            cid: RegisteredClient(cid, str(entry["public_x"]), float(entry.get("created_at", 0.0)))
            for cid, entry in entries.items()
            if isinstance(entry, dict) and "public_x" in entry
        }

    def get(self, client_id: str) -> RegisteredClient | None:
        return self.clients().get(client_id)

    def add(self, client_id: str, key: Ed25519PublicKey, *, replace: bool = False) -> RegisteredClient:
        clients = self.clients()
        if client_id in clients and not replace:
            raise BatonError(
                f"credentials {client_id} already exist (pass --replace to mint new ones)",
                code=StatusCode.ALREADY_EXISTS,
            )
        entry = RegisteredClient(client_id, public_x(key), time.time())
        clients[client_id] = entry
        self._write(clients)
        return entry

    def remove(self, client_id: str) -> None:
        clients = self.clients()
        if clients.pop(client_id, None) is None:
            raise NotFoundError(f"no credentials {client_id}")
        self._write(clients)

    def _write(self, clients: dict[str, RegisteredClient]) -> None:
        body = {
            "version": _FILE_VERSION,
            "clients": {
                c.client_id: {"public_x": c.public_x, "created_at": c.created_at} for c in clients.values()
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        # Write-then-rename so a server reading concurrently never sees half a file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, self.path)
