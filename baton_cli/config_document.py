"""A config file's top-level mapping (``.baton.yaml``, ``--config``, ``BATON_CONFIG_PATH``).

Read the same way for the runner's own options (baton_cli/cli/config_file.py) and for a plugin's
fields (baton_cli/connector/config.py). A module of its own, outside the connector package, so
a command that only reads runner options from the file does not import the connector stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baton_cli.errors import UsageError


def read_config_document(path: Path) -> dict[str, Any]:
    """The top-level mapping of a config file, its keys as strings; an empty file is empty."""
    import yaml  # only a process with a config file pays for the YAML parser

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read config file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"config file {path} is not UTF-8 text") from None
    except yaml.YAMLError as error:
        # Only the position: the YAML error text quotes file content, which may be a secret.
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"config file {path} is not valid YAML{where}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise UsageError(f"config file {path} must be a mapping of field names to values")
    return {str(key): value for key, value in document.items()}
