"""Who is calling: host_id (runner.md §2) and the Hello BuildInfo / OSInfo (wire.md §1.2).

OSInfo mirrors what the SDK's host probe reports, from the Python standard library: every one
of the 8 fields is filled, with the SDK's fallbacks, because the platform shows them as-is.
"""

from __future__ import annotations

import functools
import platform
import socket
from collections.abc import Mapping
from pathlib import Path

from baton_cli import __version__
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

HOST_ID_ENV = "BATON_HOST_ID"
DEFAULT_HOST_ID = "baton-sdk"
PACKAGE = "baton_cli"
_MAX_FIELD = 256  # BuildInfo / OSInfo string fields: max_len 256 (wire.md §3)
_UNKNOWN = "unknown"

BuildInfo = baton_pb2.BatonServiceHelloRequest.BuildInfo
OSInfo = baton_pb2.BatonServiceHelloRequest.OSInfo


def _hostname() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return ""


def host_id(env: Mapping[str, str]) -> str:
    """``BATON_HOST_ID`` when set, even to "", else the hostname; "baton-sdk" when that is empty."""
    value = env[HOST_ID_ENV] if HOST_ID_ENV in env else _hostname()
    return value or DEFAULT_HOST_ID


def _clip(value: str, default: str) -> str:
    return (value.strip() or default)[:_MAX_FIELD]


def build_info() -> BuildInfo:
    # Go reports runtime.Version() ("go1.23.0"); the same shape for Python reads "python3.12.4".
    return BuildInfo(
        lang_version=_clip(f"python{platform.python_version()}", "0.0.0"),
        package=PACKAGE,
        package_version=_clip(__version__, "0.0.0"),
    )


def _os_release() -> dict[str, str]:
    try:
        return platform.freedesktop_os_release()
    except OSError:
        return {}


def _virtualization() -> str:
    # Container markers are cheap and cover the common self-hosted case; hypervisor detection
    # would need root-only files on most systems, so "none" is the honest default there.
    if Path("/.dockerenv").exists():
        return "docker"
    if Path("/run/.containerenv").exists():
        return "podman"
    return "none"


def _platform(system: str) -> tuple[str, str, str]:
    """(platform, family, version) as the SDK's host probe names them; "" when unknown."""
    if system == "linux":
        release = _os_release()
        name = release.get("ID", "")
        family = (release.get("ID_LIKE", "").split() or [name])[0]
        return name, family, release.get("VERSION_ID", "")
    if system == "darwin":
        return "darwin", "Standalone Workstation", platform.mac_ver()[0]
    if system == "windows":
        return f"Microsoft Windows {platform.release()}".strip(), "", platform.version()
    return "", "", ""


def os_info() -> OSInfo:
    """A new message each call (callers may change it); the probing itself happens once."""
    return OSInfo(**_os_fields())


@functools.cache
def _os_fields() -> dict[str, str]:
    system = platform.system().lower()
    kernel = platform.release()
    name, family, version = _platform(system)
    os_name = _clip(system, _UNKNOWN)
    kernel_version = _clip(kernel, _UNKNOWN)
    platform_name = _clip(name, os_name)
    return {
        "hostname": _clip(_hostname(), _UNKNOWN),
        "os": os_name,
        "platform": platform_name,
        "platform_version": _clip(version, kernel_version),
        "platform_family": _clip(family, platform_name),
        "kernel_version": kernel_version,
        "kernel_arch": _clip(platform.machine(), _UNKNOWN),
        "virtualization_system": _clip(_virtualization(), "none"),
    }
