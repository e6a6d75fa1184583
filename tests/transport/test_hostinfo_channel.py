"""host_id, Hello build/OS info, and where the channel goes and what it trusts (auth.md §4, §5)."""

from __future__ import annotations

import platform
import socket
from pathlib import Path

import pytest

from baton_cli import __version__
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.transport import hostinfo
from baton_cli.transport.channel import (
    ca_path,
    grpc_target,
    platform_host,
    read_root_certificates,
    user_agent,
)
from baton_cli.transport.client_credentials import parse_client_id
from baton_cli.transport.token_source import token_url

CLIENT = parse_client_id("strange-hydra-68836@acme.conductor.one/pcc")


def test_host_id_prefers_the_env_even_when_empty() -> None:
    assert hostinfo.host_id({"BATON_HOST_ID": "runner-7"}) == "runner-7"
    assert hostinfo.host_id({"BATON_HOST_ID": ""}) == "baton-sdk"  # set but empty: the literal
    assert hostinfo.host_id({}) == (socket.gethostname() or "baton-sdk")


def test_host_id_falls_back_when_there_is_no_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "")
    assert hostinfo.host_id({}) == "baton-sdk"


def test_build_info() -> None:
    info = hostinfo.build_info()
    assert info.lang_version == f"python{platform.python_version()}"
    assert (info.package, info.package_version) == ("baton_cli", __version__)


def test_os_info_has_all_eight_fields() -> None:
    info = hostinfo.os_info()
    fields = [f.name for f in info.DESCRIPTOR.fields]
    assert len(fields) == 8
    for name in fields:
        value = getattr(info, name)
        assert value and len(value) <= 256, name
    assert info.os == platform.system().lower()
    assert info.kernel_version == platform.release()
    info.hostname = "changed"
    assert hostinfo.os_info().hostname != "changed"  # each call is a new message


def test_platform_host_and_target() -> None:
    assert platform_host(CLIENT, {}) == "acme.conductor.one"
    assert platform_host(CLIENT, {"BATON_C1_API_HOST": ""}) == "acme.conductor.one"
    assert platform_host(CLIENT, {"BATON_C1_API_HOST": "api.example:9443"}) == "api.example:9443"
    assert grpc_target("acme.conductor.one") == "dns:///acme.conductor.one:443"
    assert grpc_target("127.0.0.1:8443") == "dns:///127.0.0.1:8443"
    assert token_url("api.example:9443") == "https://api.example:9443/auth/v1/token"
    # The override changes where we go, not who the assertion is for.
    assert CLIENT.audience == "acme.conductor.one"


def test_user_agent_names_the_client() -> None:
    assert user_agent(CLIENT) == f"strange-hydra-68836 baton_cli/{__version__}"


def test_ca_path_prefers_the_flag_then_ssl_cert_file(tmp_path: Path) -> None:
    flag, env_file = tmp_path / "flag.pem", tmp_path / "env.pem"
    assert ca_path(flag, {"SSL_CERT_FILE": str(env_file)}) == flag
    assert ca_path(None, {"SSL_CERT_FILE": str(env_file)}) == env_file
    assert ca_path(None, {}) is None


def test_root_certificates_are_checked(tmp_path: Path) -> None:
    assert read_root_certificates(None) is None
    with pytest.raises(NotFoundError):
        read_root_certificates(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(UsageError):
        read_root_certificates(garbage)
    good = tmp_path / "good.pem"
    good.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert read_root_certificates(good) == good.read_bytes()
