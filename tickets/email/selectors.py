"""Reads of the email intake: settings, mailboxes, inbound log, threading lookups, attachments."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from helpdesk.tenancy.models import Tenant
from tickets.models import (
    Attachment,
    AuthorType,
    InboundEmail,
    IntakeSettings,
    Mailbox,
    Message,
    OutboundEmail,
    Ticket,
)

MERGE_DEPTH_MAX = 10


def intake_settings_get(*, tenant: Tenant) -> IntakeSettings:
    """The tenant's intake settings, or unsaved defaults when it has none yet."""
    found = IntakeSettings.objects.for_tenant(tenant).first()
    return found or IntakeSettings(tenant=tenant)


def own_addresses(*, tenant: Tenant, intake: IntakeSettings | None = None) -> set[str]:
    """The addresses we send from: mail from them is our own, never a customer's."""
    intake = intake or intake_settings_get(tenant=tenant)
    addresses = {settings.DEFAULT_FROM_EMAIL.lower(), intake.support_address.lower()}
    return {a for a in addresses if a}


def mailbox_list(*, tenant: Tenant) -> QuerySet[Mailbox]:
    return Mailbox.objects.for_tenant(tenant).order_by("host", "username", "folder", "id")


def mailbox_get(*, tenant: Tenant, mailbox_id: int) -> Mailbox | None:
    return Mailbox.objects.for_tenant(tenant).filter(pk=mailbox_id).first()


def inbound_email_list(*, tenant: Tenant) -> QuerySet[InboundEmail]:
    return (
        InboundEmail.objects.for_tenant(tenant)
        .select_related("ticket")
        .order_by("-received_at", "-id")
    )


def inbound_email_get(*, tenant: Tenant, inbound_id: int) -> InboundEmail | None:
    return InboundEmail.objects.for_tenant(tenant).filter(pk=inbound_id).first()


def inbound_email_get_by_message_id(*, tenant: Tenant, message_id: str) -> InboundEmail | None:
    if not message_id:
        return None
    return InboundEmail.objects.for_tenant(tenant).filter(rfc_message_id=message_id).first()


def ticket_for_message_ids(*, tenant: Tenant, message_ids: list[str]) -> Ticket | None:
    """The ticket of the most recent of ``message_ids`` that we sent or received."""
    if not message_ids:
        return None
    found: dict[str, int] = dict(
        OutboundEmail.objects.for_tenant(tenant)
        .filter(rfc_message_id__in=message_ids)
        .values_list("rfc_message_id", "ticket_id")
    )
    found.update(
        Message.objects.for_tenant(tenant)
        .filter(external_id__in=message_ids)
        .values_list("external_id", "ticket_id")
    )
    for mid in reversed(message_ids):
        if mid in found:
            return ticket_live(tenant=tenant, ticket_id=found[mid])
    return None


def ticket_live(*, tenant: Tenant, ticket_id: int) -> Ticket | None:
    """The ticket, or the one it was merged into (following merges)."""
    ticket = Ticket.objects.for_tenant(tenant).filter(pk=ticket_id).first()
    for _ in range(MERGE_DEPTH_MAX):
        if ticket is None or ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.for_tenant(tenant).filter(pk=ticket.merged_into_id).first()
    return ticket


def ticket_by_number(*, tenant: Tenant, number: int) -> Ticket | None:
    ticket = Ticket.objects.for_tenant(tenant).filter(number=number).only("pk").first()
    return ticket_live(tenant=tenant, ticket_id=ticket.pk) if ticket else None


def outbound_email_for_message_ids(
    *, tenant: Tenant, message_ids: list[str]
) -> OutboundEmail | None:
    if not message_ids:
        return None
    return (
        OutboundEmail.objects.for_tenant(tenant)
        .filter(rfc_message_id__in=message_ids)
        .select_related("ticket")
        .order_by("-id")
        .first()
    )


def thread_message_ids(*, tenant: Tenant, ticket: Ticket) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for the next email on ``ticket``: the customer's latest email
    is the parent; every email id of the thread, oldest first, is a reference. Only Message-IDs
    count: the ids of chat messages (a chat that became an email ticket) or API clients do not."""
    received = list(
        Message.objects.for_tenant(tenant)
        .filter(ticket=ticket, author_type=AuthorType.CUSTOMER, external_id__startswith="<")
        .order_by("created_at", "id")
        .values_list("created_at", "external_id")
    )
    sent = list(
        OutboundEmail.objects.for_tenant(tenant)
        .filter(ticket=ticket, state=OutboundEmail.State.SENT)
        .order_by("created_at", "id")
        .values_list("created_at", "rfc_message_id")
    )
    ordered = [mid for _, mid in sorted(received + sent, key=lambda pair: pair[0])]
    parent = received[-1][1] if received else (ordered[-1] if ordered else "")
    return parent, ordered


def outbound_email_list_for_ticket(*, tenant: Tenant, ticket: Ticket) -> QuerySet[OutboundEmail]:
    return OutboundEmail.objects.for_tenant(tenant).filter(ticket=ticket).order_by("created_at")


def attachment_get(*, tenant: Tenant, public_id) -> Attachment | None:
    return (
        Attachment.objects.for_tenant(tenant)
        .filter(public_id=public_id)
        .select_related("message")
        .first()
    )
