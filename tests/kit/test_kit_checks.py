"""Each kit check passes on a healthy connector and fails, naming the ids, on its defect."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.testing import CHECKS, Kit, KitFailure
from tests.kit.broken_connector import DEFECTS, plugin


def run_check(test_name: str, defect: str, workdir: Path) -> None:
    kit = Kit(plugin, {"defect": defect}, workdir=workdir)
    getattr(kit, CHECKS[test_name])()


@pytest.mark.parametrize("test_name", list(CHECKS))
def test_the_healthy_connector_passes_every_check(test_name: str, tmp_path: Path) -> None:
    run_check(test_name, "none", tmp_path)


def test_every_check_has_a_defect_that_breaks_it() -> None:
    assert sorted(test for test, _fragment in DEFECTS.values()) == sorted(CHECKS)


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_fails_its_check_with_a_message_naming_it(defect: str, tmp_path: Path) -> None:
    test_name, fragment = DEFECTS[defect]
    with pytest.raises(KitFailure) as failure:
        run_check(test_name, defect, tmp_path)
    assert fragment in str(failure.value)
