"""baton_cli: a Python connector runner for the ConductorOne baton ecosystem."""

from __future__ import annotations

__version__ = "0.1.0"
