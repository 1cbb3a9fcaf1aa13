"""Outbound email: agent replies and acknowledgements, sent by a Celery task with retries.

``email_reply_queue`` is called by ``message_create`` for every live public staff reply on an
email ticket (in its transaction): it records an ``OutboundEmail`` (pending, with a fresh
Message-ID) and queues ``tickets.outbound_email_send`` after commit. ``email_ack_queue`` does
the same for the acknowledgement of a new email ticket (``IntakeSettings.auto_reply``).

The send task calls ``outbound_email_send``: it builds the email (text and HTML parts,
``Message-ID``, ``In-Reply-To`` the customer's latest email, ``References`` the thread, the
``[ACME-1042]`` reference in the subject, the link to the ticket's live status page) and hands it
to Django's email backend (console or file in the demo, SMTP in production). A failed attempt is recorded on the row and retried after
1 min, 5 min, 30 min and 2 h; after the fifth failed attempt the row is marked failed and
``email.failed`` is added to the ticket's timeline, so the agent sees it. When tasks run
in-process (the embedded demo has no worker), a failed send is marked failed at once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.urls import NoReverseMatch
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.email import selectors
from tickets.email.compose import Outgoing, ack_subject, build_email, new_message_id, reply_subject
from tickets.email.noise import is_unanswerable_address
from tickets.events import event_record
from tickets.models import Customer, Message, OutboundEmail, Ticket

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait after failed attempt 1, 2, ... before the next one; attempt MAX_ATTEMPTS is the last.
RETRY_COUNTDOWNS = (60, 300, 1800, 7200)
# Pending rows never attempted after this long are queued again by the sweeper.
OUTBOUND_STALE_AFTER = timedelta(minutes=10)
_ERROR_MAX = 500


def _queue(
    *, tenant: Tenant, ticket: Ticket, message: Message | None, kind: str, subject: str
) -> OutboundEmail | None:
    from tickets.tasks.email import outbound_email_send_task  # the tasks module imports services

    email = (
        Customer.objects.for_tenant(tenant)
        .filter(pk=ticket.customer_id)
        .values_list("email", flat=True)
        .first()
    )
    if not email or is_unanswerable_address(email):
        return None
    reference = ticket.reference_with(tenant.reference_prefix)
    outbound = OutboundEmail.objects.create(
        tenant=tenant,
        message=message,
        ticket=ticket,
        kind=kind,
        rfc_message_id=new_message_id(reference),
        to=email,
        subject=subject[:500],
    )
    outbound_email_send_task.delay_on_commit(tenant.pk, outbound.pk)
    return outbound


def email_reply_queue(*, tenant: Tenant, ticket: Ticket, message: Message) -> OutboundEmail | None:
    """Email a public staff reply to the ticket's customer (after commit). None when the customer
    has no address we may write to."""
    with tenant_context(tenant):
        if message.is_internal or message.author_user_id is None:
            return None
        reference = ticket.reference_with(tenant.reference_prefix)
        return _queue(
            tenant=tenant,
            ticket=ticket,
            message=message,
            kind="reply",
            subject=reply_subject(ticket.subject, reference),
        )


def email_ack_queue(*, tenant: Tenant, ticket: Ticket, message: Message) -> OutboundEmail | None:
    """Acknowledge a new email ticket (``message`` is the customer's first email)."""
    with tenant_context(tenant):
        reference = ticket.reference_with(tenant.reference_prefix)
        return _queue(
            tenant=tenant,
            ticket=ticket,
            message=message,
            kind="ack",
            subject=ack_subject(ticket.subject, reference),
        )


@dataclass(frozen=True)
class SendOutcome:
    outbound: int
    state: str
    attempts: int
    error: str = ""
    sent: bool = False
    retry_in: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _ack_text(*, tenant: Tenant, ticket: Ticket, reference: str) -> str:
    name = ticket.customer.first_name
    return (
        f"Hello {name},\n\n"
        f"Thank you for writing to {tenant.name}. We have received your request and opened "
        f"ticket {reference}: “{ticket.subject}”. We will get back to you as soon as we can.\n\n"
        "To add anything, simply reply to this email."
    )


def _status_url(*, tenant: Tenant, ticket: Ticket) -> str:
    """The ticket's status page (its current link; a ticket older than status pages gets one)."""
    from tickets.services.status import status_link_url  # status imports the events module

    try:
        return status_link_url(tenant=tenant, ticket=ticket)
    except NoReverseMatch:  # status pages not routed
        return ""


def _outgoing(*, tenant: Tenant, outbound: OutboundEmail) -> Outgoing:
    ticket = outbound.ticket
    intake = selectors.intake_settings_get(tenant=tenant)
    reference = ticket.reference_with(tenant.reference_prefix)
    parent, thread = selectors.thread_message_ids(tenant=tenant, ticket=ticket)
    message = outbound.message
    if outbound.kind == "reply" and message is not None:
        author = message.author_user
        text, html = message.body_text, message.body_html
        agent_name = (author.first_name if author else "") or ""
    else:
        text, html, agent_name = (
            _ack_text(tenant=tenant, ticket=ticket, reference=reference),
            "",
            "",
        )
    return Outgoing(
        message_id=outbound.rfc_message_id,
        to=outbound.to,
        subject=outbound.subject,
        from_address=intake.support_address or settings.DEFAULT_FROM_EMAIL,
        from_name=tenant.name,
        reference=reference,
        kind=outbound.kind,
        text=text,
        html=html,
        in_reply_to=parent,
        references=tuple(thread),
        tenant_name=tenant.name,
        agent_name=agent_name,
        status_url=_status_url(tenant=tenant, ticket=ticket),
    )


def outbound_email_send(
    *, tenant: Tenant, outbound: OutboundEmail, may_retry: bool = True
) -> SendOutcome:
    """Send one pending email now and record the outcome. Sent or failed rows are left alone
    (running twice never sends twice); the row stays locked while the backend sends.

    The caller schedules the retry when ``retry_in`` is set.
    """
    with tenant_context(tenant):
        row = (
            OutboundEmail.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("ticket", "ticket__customer", "message", "message__author_user")
            .filter(pk=outbound.pk)
            .first()
        )
        if row is None:
            return SendOutcome(outbound=outbound.pk, state="missing", attempts=0)
        if row.state != OutboundEmail.State.PENDING:
            return SendOutcome(outbound=row.pk, state=row.state, attempts=row.attempts)
        error = ""
        try:
            build_email(_outgoing(tenant=tenant, outbound=row)).send(fail_silently=False)
        except Exception as exc:  # any backend error is recorded, then retried
            error = f"{type(exc).__name__}: {exc}"[:_ERROR_MAX]
        now = timezone.now()
        row.attempts += 1
        retry_in = None
        if not error:
            row.state, row.sent_at, row.last_error = OutboundEmail.State.SENT, now, ""
        elif row.attempts >= MAX_ATTEMPTS:
            row.state = OutboundEmail.State.FAILED
            row.last_error = f"{error} (gave up after {row.attempts} attempts)"
        elif not may_retry:
            row.state = OutboundEmail.State.FAILED
            row.last_error = f"{error} (not retried: no task worker)"
        else:
            row.last_error = error
            retry_in = RETRY_COUNTDOWNS[row.attempts - 1]
        row.last_error = row.last_error[:_ERROR_MAX]
        row.save(update_fields=["state", "attempts", "last_error", "sent_at"])
        if row.state == OutboundEmail.State.FAILED:
            event_record(
                tenant=tenant,
                ticket=row.ticket,
                kind="email.failed",
                to_value=row.to[:200],
                data={"kind": row.kind, "subject": row.subject[:200], "error": row.last_error},
                is_public=False,
                at=now,
            )
    if error:
        logger.info("outbound email %s attempt %s failed: %s", row.pk, row.attempts, error)
    return SendOutcome(
        outbound=row.pk,
        state=row.state,
        attempts=row.attempts,
        error=row.last_error,
        sent=not error,
        retry_in=retry_in,
    )
