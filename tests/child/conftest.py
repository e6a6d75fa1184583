from __future__ import annotations

from pathlib import Path

import pytest

from tests.child.support import write_standin


@pytest.fixture
def standin(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    return write_standin(directory)
