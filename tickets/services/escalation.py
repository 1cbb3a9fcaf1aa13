"""Escalation to specialists (tier 2) and back. The escalation-rate metric counts these events."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.events import event_record
from tickets.models import Group, Ticket
from tickets.services.assignment import ticket_auto_assign
from tickets.services.core import ticket_escalate


def ticket_escalate_and_route(
    *, tenant: Tenant, actor: User, ticket: Ticket, group: Group, reason: str
) -> Ticket:
    """Escalate (reason required), then assign within the specialists' group by its rule."""
    with tenant_context(tenant):
        ticket = ticket_escalate(
            tenant=tenant, actor=actor, ticket=ticket, group=group, reason=reason
        )
        ticket_auto_assign(tenant=tenant, ticket=ticket, actor=actor)
        return Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)


def ticket_deescalate(
    *,
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    group: Group,
    reason: str = "",
    at: datetime | None = None,
) -> Ticket:
    """Hand a ticket back to a lower tier's group (unassigned, for that group to pick up)."""
    now = at or timezone.now()
    with tenant_context(tenant):
        if group.tenant_id != tenant.pk:
            raise ValidationError("Group belongs to another tenant.")
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        if group.tier >= ticket.tier:
            raise ValidationError({"group": "De-escalation moves a ticket to a lower tier."})
        previous_tier = ticket.tier
        ticket.group, ticket.tier, ticket.assignee, ticket.updated_at = group, group.tier, None, now
        ticket.save(update_fields=["group", "tier", "assignee", "updated_at"])
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="ticket.deescalated",
            actor=actor,
            from_value=str(previous_tier),
            to_value=str(group.tier),
            data={"reason": reason.strip(), "group": group.name},
            at=now,
        )
        ticket_auto_assign(tenant=tenant, ticket=ticket, actor=actor)
        return Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)
