"""The plugin example in the README must run as printed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.invoke import baton_here
from tests.cli.process import ROOT


def test_readme_plugin_example_syncs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    package = tmp_path / "my_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "connector.py").write_text(example)
    plugin = "my_package.connector:plugin"
    result = baton_here(
        "sync",
        "--plugin",
        plugin,
        "--out",
        "my.c1z",
        "--json",
        "--progress",
        "off",
        "--api-url",
        "https://api.example.com",
        cwd=tmp_path,
        pythonpath=(tmp_path,),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["resources"] == 1
    missing = baton_here("sync", "--plugin", plugin, "--out", "m.c1z", cwd=tmp_path, pythonpath=(tmp_path,))
    assert missing.returncode == 3 and "api-url" in missing.stderr
