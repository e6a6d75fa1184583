"""tests/conftest.py's slow-first order: every entry names a test that exists, and runs come sorted."""

from __future__ import annotations

import pytest

from tests.conftest import SLOW_FIRST, _rank
from tests.external import REPO_ROOT


@pytest.mark.parametrize("prefix", SLOW_FIRST)
def test_each_entry_names_an_existing_test(prefix: str) -> None:
    path, _, name = prefix.partition("::")
    source = REPO_ROOT / path
    assert source.is_file(), f"{path} is gone: update SLOW_FIRST"
    assert not name or f"def {name}" in source.read_text(), f"{prefix} matches no test: update SLOW_FIRST"


def test_this_run_was_collected_slow_first(request: pytest.FixtureRequest) -> None:
    ranks = [_rank(item) for item in request.session.items]
    assert ranks == sorted(ranks)
