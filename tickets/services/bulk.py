"""Bulk actions on the queue: each ticket goes through the same service as a single change."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Status, Ticket
from tickets.services.core import ticket_assign, ticket_set_status
from tickets.services.fields import ticket_set_priority, ticket_tags_change

BULK_LIMIT = 200
ACTIONS = ("assign", "status", "priority", "tag", "close")


@dataclass
class BulkResult:
    changed: int = 0
    errors: dict[int, str] = field(default_factory=dict)  # ticket number -> reason


def tickets_bulk_apply(
    *,
    tenant: Tenant,
    actor: User,
    numbers: list[int],
    action: str,
    value: str = "",
    assignee: User | None = None,
) -> BulkResult:
    """Apply one action to many tickets. Each ticket succeeds or fails on its own (a refused
    transition on one ticket does not undo the others); failures are reported per ticket."""
    if action not in ACTIONS:
        raise ValidationError({"action": f"Choose one of {ACTIONS}."})
    if not numbers:
        raise ValidationError({"tickets": "Select at least one ticket."})
    if len(numbers) > BULK_LIMIT:
        raise ValidationError({"tickets": f"At most {BULK_LIMIT} tickets at once."})
    result = BulkResult()
    with tenant_context(tenant):
        tickets = list(
            Ticket.objects.for_tenant(tenant).filter(number__in=set(numbers)).order_by("number")
        )
        found = {t.number for t in tickets}
        for number in sorted(set(numbers) - found):
            result.errors[number] = "Not found."
        for ticket in tickets:
            try:
                with tenant_context(tenant):  # a savepoint per ticket
                    if action == "assign":
                        ticket_assign(tenant=tenant, actor=actor, ticket=ticket, assignee=assignee)
                    elif action == "status":
                        ticket_set_status(tenant=tenant, actor=actor, ticket=ticket, status=value)
                    elif action == "close":
                        ticket_set_status(
                            tenant=tenant, actor=actor, ticket=ticket, status=Status.CLOSED
                        )
                    elif action == "priority":
                        ticket_set_priority(
                            tenant=tenant, actor=actor, ticket=ticket, priority=value
                        )
                    elif action == "tag":
                        ticket_tags_change(tenant=tenant, actor=actor, ticket=ticket, add=[value])
                result.changed += 1
            except ValidationError as exc:
                result.errors[ticket.number] = " ".join(exc.messages)
    return result
