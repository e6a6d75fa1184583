"""Host strings as the SDK handles them: ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` (auth.md §1, §4)."""

from __future__ import annotations

DEFAULT_PORT = 443


def host_without_port(host: str) -> str:
    """The host part only: what the JWT audience is made of."""
    if host.startswith("["):  # "[::1]:8443" or "[::1]"
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host  # a bare name, or a bare IPv6 address (several colons, no port)


def with_default_port(host: str, port: int = DEFAULT_PORT) -> str:
    """``host`` with its own port, or with ``port`` when it names none."""
    if host.startswith("["):
        return host if "]:" in host else f"{host}:{port}"
    colons = host.count(":")
    if colons == 1:
        return host
    if colons > 1:  # a bare IPv6 address: brackets keep the port apart from the address
        return f"[{host}]:{port}"
    return f"{host}:{port}"
