"""Upstream Go connectors as child processes (subprocess.md), behind the Connector interface.

``credentials`` makes the per-launch Ed25519 set, ``tls_bridge`` carries grpcio's plaintext
HTTP/2 over mutual TLS (grpcio cannot do Ed25519), ``process`` launches and supervises the
child, ``session_store`` serves its one call back, ``connector`` adapts its services to
``baton_cli.connector.api.Connector``. ``launch`` puts them together.
"""

from __future__ import annotations

from baton_cli.transport.child.launch import ChildOptions, launch_child

__all__ = ["ChildOptions", "launch_child"]
