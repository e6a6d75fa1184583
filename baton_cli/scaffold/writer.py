"""Naming and writing a new connector package."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

from baton_cli.errors import AlreadyExistsError, UsageError
from baton_cli.scaffold.templates import FILES

_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Scaffold:
    plugin: str  # entry-point name: acme-hr
    package: str  # import name: baton_acme_hr
    dist: str  # distribution name: baton-acme-hr
    title: str  # Acme Hr
    cls: str  # AcmeHrConnector

    def substitutions(self) -> dict[str, str]:
        return {
            "plugin": self.plugin,
            "package": self.package,
            "dist": self.dist,
            "title": self.title,
            "cls": self.cls,
        }


def plan(name: str) -> Scaffold:
    if not _NAME.fullmatch(name):
        raise UsageError(f"connector name {name!r} must be kebab-case, e.g. 'acme' or 'acme-hr'")
    words = name.split("-")
    return Scaffold(
        plugin=name,
        package="baton_" + "_".join(words),
        dist="baton-" + name,
        title=" ".join(w.capitalize() for w in words),
        cls="".join(w.capitalize() for w in words) + "Connector",
    )


def write_scaffold(name: str, target: Path) -> list[Path]:
    """Write the package into ``target`` (must be missing or empty); returns the files written."""
    scaffold = plan(name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExistsError(f"{str(target)!r} already exists and is not an empty directory")
    values = scaffold.substitutions()
    written = []
    # Written into a sibling temp directory and renamed: a failure leaves no half package.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for relative, text in FILES.items():
            path = staging / Template(relative).substitute(values)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Template(text).substitute(values))
            written.append(target / path.relative_to(staging))
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        for path in sorted(staging.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        staging.rmdir()
        raise
    return written
