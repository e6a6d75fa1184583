"""The Pebble checkpoint directory: which MANIFEST is live, and what must not be there (c1z-v3.md §2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from baton_cli.c1z.v3.problems import corrupt, unsupported

# Columnar blocks start at format 19; 24 (FormatValueSeparation) is the newest Pebble 2.1.5 knows.
MIN_FORMAT = 19
MAX_FORMAT = 24
_MARKER = "marker."


@dataclass(frozen=True, slots=True)
class Checkpoint:
    directory: Path
    manifest: Path
    format_version: int

    def table_path(self, file_number: int) -> Path:
        return self.directory / f"{file_number:06d}.sst"


def open_checkpoint(path: Path, directory: Path) -> Checkpoint:
    markers: dict[str, tuple[int, str]] = {}
    for entry in sorted(directory.iterdir()):
        name = entry.name
        if name.endswith(".log") and entry.stat().st_size > 0:
            raise unsupported(path, f"a non-empty write-ahead log ({name}, {entry.stat().st_size} bytes)")
        if name.endswith(".blob"):
            raise unsupported(path, f"blob files ({name})")
        if name.startswith(_MARKER):
            _add_marker(path, markers, name)
    manifest_marker = markers.get("manifest")
    if manifest_marker is None:
        raise corrupt(path, "the checkpoint has no manifest marker")
    manifest = directory / manifest_marker[1]
    if "/" in manifest_marker[1] or not manifest.is_file():
        raise corrupt(path, f"the checkpoint's MANIFEST {manifest_marker[1]!r} is missing")
    format_marker = markers.get("format-version")
    if format_marker is None:
        raise corrupt(path, "the checkpoint has no format-version marker")
    try:
        version = int(format_marker[1], 10)
    except ValueError:
        raise corrupt(path, f"format-version marker value {format_marker[1]!r} is not a number") from None
    if not MIN_FORMAT <= version <= MAX_FORMAT:
        raise unsupported(
            path, f"Pebble format major version {version} (readable: {MIN_FORMAT}-{MAX_FORMAT})"
        )
    return Checkpoint(directory, manifest, version)


def _add_marker(path: Path, markers: dict[str, tuple[int, str]], name: str) -> None:
    # marker.<name>.<iteration>.<value>; the value may itself contain dots.
    parts = name.split(".", 3)
    if len(parts) != 4:
        raise corrupt(path, f"malformed marker file name {name!r}")
    _, kind, iteration, value = parts
    try:
        number = int(iteration, 10)
    except ValueError:
        raise corrupt(path, f"malformed marker file name {name!r}") from None
    current = markers.get(kind)
    if current is None or number > current[0]:
        markers[kind] = (number, value)
