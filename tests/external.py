"""Things some tests need from outside the repository: the shared spec and fixtures, system programs.

A plain ``git clone`` has neither ``../shared`` nor, say, ``slapd``. Tests that need them call the
functions below, which skip with the reason and the variable to set when the thing is missing;
with ``BATON_REQUIRE_EXTERNALS=1`` (set by ``.ci/run``) a missing thing fails the test instead, so
CI can never go green by skipping them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRE_VARIABLE = "BATON_REQUIRE_EXTERNALS"


def shared_dir() -> Path:
    """The shared spec/fixtures tree: ``BATON_SHARED_DIR``, else ``../shared`` beside the repository."""
    configured = os.environ.get("BATON_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


def fixtures_dir() -> Path:
    """The upstream c1z fixtures: ``BATON_FIXTURES_DIR``, else ``<shared>/fixtures/c1z``."""
    configured = os.environ.get("BATON_FIXTURES_DIR")
    return Path(configured) if configured else shared_dir() / "fixtures" / "c1z"


def externals_required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def _missing(what: str, hint: str) -> None:
    message = f"{what} is missing ({hint})"
    if externals_required():
        pytest.fail(f"{message}; {REQUIRE_VARIABLE} is set, so this cannot be skipped", pytrace=False)
    pytest.skip(message)


def require_shared(relative: str) -> Path:
    """A file under the shared tree, e.g. ``spec/wire.md``; skips (or fails) when it is not there."""
    path = shared_dir() / relative
    if not path.is_file():
        _missing(str(path), "set BATON_SHARED_DIR to the folder holding spec/ and fixtures/")
    return path


def fixture_path(name: str) -> Path:
    """An upstream c1z fixture by file name; skips (or fails) when it is not there."""
    path = fixtures_dir() / name
    if not path.is_file():
        _missing(str(path), "set BATON_FIXTURES_DIR to the folder holding the upstream c1z fixtures")
    return path


def require_program(name: str) -> str:
    """A system program on PATH (or in /usr/sbin, where Debian puts daemons such as slapd)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if found is None:
        _missing(f"program {name!r}", "install it, e.g. with apt-get, as .ci/run does")
    assert found is not None
    return found
