"""The plugin example in the README must run as printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_plugin_example_syncs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    package = tmp_path / "my_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "connector.py").write_text(example)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "baton_cli",
            "sync",
            "--plugin",
            "my_package.connector:plugin",
            "--out",
            "my.c1z",
            "--json",
            "--progress",
            "off",
            "--api-url",
            "https://api.example.com",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["resources"] == 1
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "baton_cli",
            "sync",
            "--plugin",
            "my_package.connector:plugin",
            "--out",
            "m.c1z",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 3 and "api-url" in missing.stderr
