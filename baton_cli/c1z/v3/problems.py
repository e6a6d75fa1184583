"""The two ways a v3 file is refused: damaged (exit 3) or using something we do not read (exit 12)."""

from __future__ import annotations

from pathlib import Path

from baton_cli.errors import C1ZError, C1ZUnsupportedFormat


def corrupt(path: Path, what: str) -> C1ZError:
    return C1ZError(f"{path} is not a valid v3 c1z file: {what}")


def unsupported(path: Path, what: str) -> C1ZUnsupportedFormat:
    return C1ZUnsupportedFormat(f"{path}: v3 (Pebble) c1z uses {what}, which baton_cli cannot read")
