"""Ticket fields other than status and assignee: priority, tags, custom fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.events import event_record
from tickets.models import CustomFieldDefinition, Priority, Tag, Ticket, TicketTag
from tickets.services.sla import sla_apply

TAG_MAX_LENGTH = 50


def normalise_tag(name: str) -> str:
    tag = "-".join(name.strip().lower().split())
    if not tag or len(tag) > TAG_MAX_LENGTH:
        raise ValidationError({"tags": f"Tags are 1-{TAG_MAX_LENGTH} characters."})
    return tag


def ticket_set_priority(
    *, tenant: Tenant, actor: User | None, ticket: Ticket, priority: str, at: datetime | None = None
) -> Ticket:
    try:
        Priority(priority)
    except ValueError as exc:
        raise ValidationError({"priority": f"Choose one of {Priority.values}."}) from exc
    now = at or timezone.now()
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        if ticket.priority == priority:
            return ticket
        previous = ticket.priority
        ticket.priority = priority
        ticket.updated_at = now
        ticket.save(update_fields=["priority", "updated_at"])
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="ticket.priority_changed",
            actor=actor,
            from_value=previous,
            to_value=priority,
            is_public=False,
            at=now,
        )
        sla_apply(tenant=tenant, ticket=ticket, at=now)  # targets depend on priority
    return ticket


def ticket_tags_change(
    *,
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    add: list[str] = (),
    remove: list[str] = (),
    at: datetime | None = None,
) -> list[str]:
    """Add and remove tags (created on first use). Returns the ticket's tags afterwards."""
    to_add = {normalise_tag(t) for t in add}
    to_remove = {normalise_tag(t) for t in remove} - to_add
    now = at or timezone.now()
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        current = set(
            TicketTag.objects.for_tenant(tenant)
            .filter(ticket=ticket)
            .values_list("tag__name", flat=True)
        )
        added = sorted(to_add - current)
        removed = sorted(to_remove & current)
        for name in added:
            tag, _ = Tag.objects.get_or_create(tenant=tenant, name=name)
            TicketTag.objects.create(tenant=tenant, ticket=ticket, tag=tag)
        if removed:
            TicketTag.objects.for_tenant(tenant).filter(
                ticket=ticket, tag__name__in=removed
            ).delete()
        if added or removed:
            ticket.updated_at = now
            ticket.save(update_fields=["updated_at"])
            event_record(
                tenant=tenant,
                ticket=ticket,
                kind="ticket.tags_changed",
                actor=actor,
                data={"added": added, "removed": removed},
                is_public=False,
                at=now,
            )
        return sorted((current | set(added)) - set(removed))


def _coerce(definition: CustomFieldDefinition, value):
    if value in (None, ""):
        return None
    kind = definition.kind
    if kind == CustomFieldDefinition.Kind.NUMBER:
        try:
            return str(Decimal(str(value)))
        except InvalidOperation as exc:
            raise ValidationError({definition.key: "Enter a number."}) from exc
    if kind == CustomFieldDefinition.Kind.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValidationError({definition.key: "Enter a date as YYYY-MM-DD."}) from exc
    if kind == CustomFieldDefinition.Kind.CHOICE and value not in definition.choices:
        raise ValidationError({definition.key: f"Choose one of {definition.choices}."})
    text = str(value)
    if len(text) > 1000:
        raise ValidationError({definition.key: "At most 1000 characters."})
    return text


def ticket_custom_fields_set(
    *, tenant: Tenant, actor: User | None, ticket: Ticket, values: dict, at: datetime | None = None
) -> dict:
    """Set the tenant's custom fields; unknown keys and bad values are refused with field errors."""
    now = at or timezone.now()
    with tenant_context(tenant):
        definitions = {d.key: d for d in CustomFieldDefinition.objects.for_tenant(tenant)}
        unknown = sorted(set(values) - set(definitions))
        if unknown:
            raise ValidationError(dict.fromkeys(unknown, "No such field."))
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        changed = {}
        for key, raw in values.items():
            value = _coerce(definitions[key], raw)
            if ticket.custom_fields.get(key) != value:
                changed[key] = value
        if changed:
            ticket.custom_fields = {**ticket.custom_fields, **changed}
            ticket.custom_fields = {k: v for k, v in ticket.custom_fields.items() if v is not None}
            ticket.updated_at = now
            ticket.save(update_fields=["custom_fields", "updated_at"])
            event_record(
                tenant=tenant,
                ticket=ticket,
                kind="ticket.fields_changed",
                actor=actor,
                data={"changed": changed},
                is_public=False,
                at=now,
            )
        return ticket.custom_fields
