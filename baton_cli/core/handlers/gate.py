"""The switches that must be on before a task may change the connected system (cli.md §3.3).

A daemon started without ``--provisioning`` answers every task of ``PROVISIONING_KINDS`` with
FAILED_PRECONDITION "provisioning is not enabled", non-retryable, and never calls the
connector: an operator who did not opt in to changes gets none, whatever the platform sends.
``--ticketing`` gates ``TICKETING_KINDS`` the same way. One-shot provisioning commands turn
the switch on themselves (the person typing the command asked for the change).

New task kinds that change the connected system belong in one of these sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from baton_cli.core.task_source import Failure
from baton_cli.errors import StatusCode

PROVISIONING_KINDS = frozenset(
    {
        "grant",
        "revoke",
        "create_account",
        "create_resource",
        "delete_resource",
        "rotate_credentials",
        "issue_credential",
    }
)
TICKETING_KINDS = frozenset(
    {
        "create_ticket_task",
        "get_ticket",
        "bulk_create_tickets",
        "bulk_get_tickets",
        "list_ticket_schemas",
    }
)
PROVISIONING_DISABLED = "provisioning is not enabled"
TICKETING_DISABLED = "ticketing is not enabled"


@dataclass(frozen=True, slots=True)
class Switches:
    provisioning: bool = False
    ticketing: bool = False


ONE_SHOT = Switches(provisioning=True, ticketing=True)


def refusal(kind: str, switches: Switches) -> Failure | None:
    """The answer for a task the switches do not allow, or None when it may run."""
    if kind in PROVISIONING_KINDS and not switches.provisioning:
        return Failure(
            int(StatusCode.FAILED_PRECONDITION),
            f"{PROVISIONING_DISABLED} (start the runner with --provisioning to allow {kind} tasks)",
            non_retryable=True,
        )
    if kind in TICKETING_KINDS and not switches.ticketing:
        return Failure(
            int(StatusCode.FAILED_PRECONDITION),
            f"{TICKETING_DISABLED} (start the runner with --ticketing to allow {kind} tasks)",
            non_retryable=True,
        )
    return None
