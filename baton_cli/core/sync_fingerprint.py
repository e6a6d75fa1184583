"""What a local sync was started with, so that a resume never mixes two different syncs.

The fingerprint holds the plugin's name and version, its resolved configuration, the
targets and type filter, and the skip flags. Secret values are never stored: each is
replaced by a salted scrypt digest (the salt is kept beside it), which tells "the same
secret" from "another one" without giving the secret away to whoever reads the work dir.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection, Mapping
from typing import Any

from baton_cli.core.sync_options import SyncOptions

FORMAT = 1
SALT_KEY = "secret_salt"
# scrypt at these costs takes ~30 ms: once per secret field per run, yet slow to brute-force.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}

Fingerprint = dict[str, Any]


def sync_fingerprint(
    *,
    plugin: str,
    version: str,
    config: Mapping[str, object],
    secret_fields: Collection[str],
    options: SyncOptions,
    salt: str | None = None,
) -> Fingerprint:
    """The fingerprint of a sync; pass the saved fingerprint's ``salt`` to compare against it."""
    salt = salt or secrets.token_hex(16)
    values: dict[str, object] = {}
    for name in sorted(config):
        value = config[name]
        values[name] = _digest(value, salt) if name in secret_fields else _plain(value)
    parents = options.target_parents or (None,) * len(options.targets)
    targets = [
        (f"{p.resource_type}:{p.resource}/" if p else "") + f"{t.resource_type}:{t.resource}"
        for t, p in zip(options.targets, parents, strict=True)
    ]
    return {
        "format": FORMAT,
        "plugin": plugin,
        "plugin_version": version,
        "config": values,
        "secret_fields": sorted(n for n in secret_fields if n in config),
        "targets": targets,
        "resource_types": list(options.resource_type_ids),
        "skip_entitlements_and_grants": options.skip_entitlements_and_grants,
        "skip_grants": options.skip_grants,
        "skip_expand_grants": options.skip_expand_grants,
        SALT_KEY: salt,
    }


def saved_salt(saved: Mapping[str, Any] | None) -> str | None:
    value = saved.get(SALT_KEY) if saved else None
    return value if isinstance(value, str) and value else None


def differences(saved: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """What differs between a saved fingerprint and the current one, for people ([] = same)."""
    if not saved or saved.get("format") != FORMAT:
        return ["it was started by an older baton that did not record how it was started"]
    found: list[str] = []
    if (saved.get("plugin"), saved.get("plugin_version")) != (current["plugin"], current["plugin_version"]):
        found.append(
            f"plugin {_plugin(saved)}, now {_plugin(current)}"
            if saved.get("plugin") != current["plugin"]
            else f"plugin version {saved.get('plugin_version') or '?'}, "
            f"now {current['plugin_version'] or '?'}"
        )
    old_config: Mapping[str, object] = saved.get("config") or {}
    new_config: Mapping[str, object] = current["config"]
    hidden = set(saved.get("secret_fields") or ()) | set(current["secret_fields"])
    for name in sorted(set(old_config) | set(new_config)):
        old, new = old_config.get(name), new_config.get(name)
        if old != new:
            shown = "a different secret" if name in hidden else f"{_show(old)}, now {_show(new)}"
            found.append(f"--{name} {shown}")
    labels = {
        "targets": "--sync-resources",
        "resource_types": "--sync-resource-types",
        "skip_entitlements_and_grants": "--skip-entitlements-and-grants",
        "skip_grants": "--skip-grants",
        "skip_expand_grants": "--skip-expand-grants",
    }
    for key, flag in labels.items():
        if saved.get(key) != current[key]:
            found.append(f"{flag} {_show(saved.get(key))}, now {_show(current[key])}")
    return found


def _plugin(fingerprint: Mapping[str, Any]) -> str:
    version = fingerprint.get("plugin_version")
    return f"{fingerprint.get('plugin')!s}" + (f" {version}" if version else "")


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) if value else "(none)"
    if value is None or value == "":
        return "(unset)"
    return str(value)


def _plain(value: object) -> object:
    # JSON-shaped, so that a fingerprint read back from disk compares equal.
    return json.loads(json.dumps(value, default=str))


def _digest(value: object, salt: str) -> str:
    data = json.dumps(value, default=str, sort_keys=True).encode()
    return "scrypt:" + hashlib.scrypt(data, salt=bytes.fromhex(salt), **_SCRYPT).hex()
