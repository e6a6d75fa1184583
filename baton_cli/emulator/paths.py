"""Where the emulator keeps its state: one data directory, shared by every emulator command.

The server and the task commands must agree on these names, so they live in one place.
"""

from __future__ import annotations

from pathlib import Path

# Relative on purpose: each project directory gets its own emulator, like `.git`.
DEFAULT_DATA_DIR = Path(".baton-emulator")
DATA_DIR_ENV = "BATON_EMULATOR_DIR"


def queue_path(data_dir: Path) -> Path:
    return data_dir / "queue.sqlite3"


def uploads_dir(data_dir: Path) -> Path:
    return data_dir / "uploads"


def tls_dir(data_dir: Path) -> Path:
    return data_dir / "tls"


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "credentials.json"


# Where `serve` listens and what `credentials create` names, unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8443
DEFAULT_TOKEN_TTL = 3600
