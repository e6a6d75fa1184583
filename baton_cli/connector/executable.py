"""A connector that is an upstream (Go SDK) binary rather than Python code.

``--plugin exec:PATH_OR_NAME`` names one directly; a plugin package can also register one under
the ``baton.connectors`` entry point group, so ``--plugin okta`` runs ``baton-okta``::

    plugin = ExecutablePlugin(name="okta", executable="baton-okta", env_var="BATON_OKTA_BINARY")

The runner launches it as a child process and drives it over gRPC (subprocess.md); this module
only says which file that is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from baton_cli.errors import NotFoundError, UsageError

EXEC_PREFIX = "exec:"


@dataclass(frozen=True, slots=True)
class ExecutablePlugin:
    """Names a connector executable.

    ``executable`` is a path, or a bare name looked up on PATH. ``env_var``, when set and present
    in the environment, overrides it (a site can point at its own build).
    """

    name: str
    executable: str
    description: str = ""
    env_var: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("executable plugin name must not be empty")
        if not self.executable:
            raise ValueError(f"executable plugin {self.name!r}: executable must not be empty")

    def locate(self, env: Mapping[str, str] | None = None) -> Path:
        """The executable's absolute path; NotFoundError naming what was looked for."""
        env = os.environ if env is None else env
        wanted = env.get(self.env_var, "") if self.env_var else ""
        wanted = wanted or self.executable
        if os.sep in wanted or (os.altsep and os.altsep in wanted):
            path = Path(wanted).expanduser()
            if not path.is_file():
                raise NotFoundError(f"connector executable not found: {path}")
            if not os.access(path, os.X_OK):
                raise UsageError(f"connector executable is not executable: {path}")
            return path.resolve()
        found = shutil.which(wanted, path=env.get("PATH", os.defpath))
        if found is None:
            raise NotFoundError(f"connector executable {wanted!r} not found on PATH")
        return Path(found).resolve()


def exec_plugin(spec: str) -> ExecutablePlugin | None:
    """The plugin an ``exec:PATH_OR_NAME`` spec names, or None for any other spec."""
    if not spec.startswith(EXEC_PREFIX):
        return None
    target = spec.removeprefix(EXEC_PREFIX)
    if not target:
        raise UsageError("--plugin exec: needs a path or a name on PATH, e.g. exec:baton-okta")
    return ExecutablePlugin(name=Path(target).name, executable=target)
