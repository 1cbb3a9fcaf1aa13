"""Macros: canned replies with placeholders that may also set status, priority and tags.

Placeholders are a closed list (``{{customer.first_name}}``...), substituted as plain text; the
message's HTML is built by escaping that text, so a customer called ``<script>`` stays inert.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Macro, Message, Priority, Status, Ticket
from tickets.services.core import message_create, ticket_set_status
from tickets.services.fields import normalise_tag, ticket_set_priority, ticket_tags_change

PLACEHOLDER = re.compile(r"{{\s*([a-z_]+)\.([a-z_]+)\s*}}")
PLACEHOLDERS = {
    "customer": {"first_name", "name", "email", "company"},
    "ticket": {"reference", "subject", "number", "status", "priority"},
    "agent": {"first_name", "name"},
    "tenant": {"name"},
}


def macro_placeholders_unknown(body: str) -> list[str]:
    return sorted(
        f"{{{{{obj}.{attr}}}}}"
        for obj, attr in PLACEHOLDER.findall(body)
        if attr not in PLACEHOLDERS.get(obj, set())
    )


def _validate(
    *, name: str, body: str, set_status: str, set_priority: str, add_tags: list[str]
) -> list[str]:
    errors = {}
    if not name.strip():
        errors["name"] = "A macro needs a name."
    unknown = macro_placeholders_unknown(body)
    if unknown:
        errors["body"] = f"Unknown placeholders: {', '.join(unknown)}."
    if set_status and set_status not in Status.values:
        errors["set_status"] = f"Choose one of {Status.values}."
    if set_priority and set_priority not in Priority.values:
        errors["set_priority"] = f"Choose one of {Priority.values}."
    if not body.strip() and not (set_status or set_priority or add_tags):
        errors["body"] = "A macro needs a reply text or an action."
    if errors:
        raise ValidationError(errors)
    return sorted({normalise_tag(t) for t in add_tags})


def macro_save(
    *,
    tenant: Tenant,
    actor: User,
    name: str,
    body: str = "",
    set_status: str = "",
    set_priority: str = "",
    add_tags: list[str] = (),
    macro: Macro | None = None,
) -> Macro:
    """Create a macro, or update ``macro``."""
    tags = _validate(
        name=name,
        body=body,
        set_status=set_status,
        set_priority=set_priority,
        add_tags=list(add_tags),
    )
    with tenant_context(tenant):
        target = macro or Macro(tenant=tenant, created_by=actor)
        if target.tenant_id != tenant.pk:
            raise ValidationError("Macro belongs to another tenant.")
        target.name, target.body = name.strip(), body
        target.set_status, target.set_priority, target.add_tags = set_status, set_priority, tags
        try:
            with transaction.atomic():
                target.save()
        except IntegrityError as exc:
            raise ValidationError({"name": "A macro with this name exists."}) from exc
    return target


def macro_delete(*, tenant: Tenant, actor: User, macro: Macro) -> None:
    with tenant_context(tenant):
        Macro.objects.for_tenant(tenant).filter(pk=macro.pk).delete()


def macro_render(*, tenant: Tenant, macro: Macro, ticket: Ticket, agent: User) -> str:
    customer = ticket.customer
    values = {
        ("customer", "first_name"): customer.first_name,
        ("customer", "name"): customer.name or customer.email,
        ("customer", "email"): customer.email,
        ("customer", "company"): customer.company,
        ("ticket", "reference"): ticket.reference_with(tenant.reference_prefix),
        ("ticket", "subject"): ticket.subject,
        ("ticket", "number"): str(ticket.number),
        ("ticket", "status"): ticket.get_status_display(),
        ("ticket", "priority"): ticket.get_priority_display(),
        ("agent", "first_name"): agent.first_name,
        ("agent", "name"): agent.get_full_name(),
        ("tenant", "name"): tenant.name,
    }
    return PLACEHOLDER.sub(lambda m: values.get((m[1], m[2]), m[0]), macro.body)


def macro_apply(
    *,
    tenant: Tenant,
    actor: User,
    ticket: Ticket,
    macro: Macro,
    body: str | None = None,
    is_internal: bool = False,
) -> Message | None:
    """Post the macro's reply (``body`` if the agent edited it) and apply its actions, in one
    transaction."""
    with tenant_context(tenant):
        if macro.tenant_id != tenant.pk or ticket.tenant_id != tenant.pk:
            raise ValidationError("Macro or ticket belongs to another tenant.")
        text = (
            body
            if body is not None
            else macro_render(tenant=tenant, macro=macro, ticket=ticket, agent=actor)
        )
        message = None
        if text.strip():
            message = message_create(
                tenant=tenant, ticket=ticket, body=text, author_user=actor, is_internal=is_internal
            )
        if macro.add_tags:
            ticket_tags_change(tenant=tenant, actor=actor, ticket=ticket, add=macro.add_tags)
        if macro.set_priority:
            ticket_set_priority(
                tenant=tenant, actor=actor, ticket=ticket, priority=macro.set_priority
            )
        if macro.set_status:
            ticket_set_status(tenant=tenant, actor=actor, ticket=ticket, status=macro.set_status)
        return message
