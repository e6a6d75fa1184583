"""``baton_cli.testing``: a test kit for connector authors.

``connector_tests(plugin, config={...})`` returns a pytest test class that runs
the connector in-process and checks what the platform relies on: metadata and
validate, capabilities, listings that end, unique ids, traits, parents, child
types, entitlement and grant ids in upstream's layout, grants naming listed
objects, GrantExpandable targets, provisioning round trips, and a real sync into
a c1z file read back. Failures name the offending ids. ``Kit`` runs the same
checks without pytest's test generation.
"""

from __future__ import annotations

from baton_cli.testing.failures import KitFailure
from baton_cli.testing.kit import Kit, KitOptions, NotApplicable
from baton_cli.testing.suite import CHECKS, connector_tests

__all__ = ["CHECKS", "Kit", "KitFailure", "KitOptions", "NotApplicable", "connector_tests"]
