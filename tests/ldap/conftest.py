"""A real slapd per test module, seeded with tests/ldap/seed.py's directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ldap.seed import SEED
from tests.ldap.slapd import Slapd, running_slapd


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with running_slapd(tmp_path_factory.mktemp("slapd") / "server", SEED) as server:
        yield server
