from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from baton_cli.connector import resolve_config
from baton_cli.connector.api import Connector
from baton_cli.connector.demo import plugin as demo_plugin

MakeDemo = Callable[..., Connector]


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "demo-state.json"


@pytest.fixture
def make_demo(tmp_path: Path, state_file: Path) -> MakeDemo:
    """Build the demo from flags, as the runner would; ``state=True`` adds --state-file."""

    def make(*argv: str, state: bool = False) -> Connector:
        flags = [*argv, f"--state-file={state_file}"] if state else list(argv)
        config = resolve_config(demo_plugin.fields, flags, {}, None, cwd=tmp_path)
        return demo_plugin.factory(config)

    return make
