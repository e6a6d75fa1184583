"""Bytecode for the suite when the environment turns it off (``PYTHONDONTWRITEBYTECODE``).

Without it every ``baton`` process the tests start compiles baton_cli again (about 0.15 s of CPU
each, hundreds of processes), and every xdist worker rewrites and compiles every test module
again (several seconds each). The bytecode goes to ``.pytest_cache/pycache``, not beside the
sources, which is what the variable asks for; .ci/run does the same with a scratch folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PREFIX_VARIABLE = "PYTHONPYCACHEPREFIX"


def keep_bytecode_outside_the_tree(root: Path) -> None:
    """Write bytecode under ``root/.pytest_cache/pycache`` here and in every child process."""
    if not sys.dont_write_bytecode:
        return
    prefix = sys.pycache_prefix or str(root / ".pytest_cache" / "pycache")
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False
    # Inherited by xdist workers (started after this runs) and by every subprocess of the tests.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ[PREFIX_VARIABLE] = prefix
