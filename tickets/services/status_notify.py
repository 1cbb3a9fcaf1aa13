"""Customer emails of the status page, batched: one short, human email per burst of changes.

A public change worth telling (a status the customer should know about, an assignment, an
escalation; never internal events, never the customer's own doing) marks the ticket
``customer_notify_pending_since`` in its transaction and, for the first change of a burst,
queues ``tickets.status_notify`` with a countdown of the batch window. The task sends one email
with where the request stands now, what changed and the status link, then clears the mark. A
periodic sweep (beat) sends the batches whose task was lost. In-process tasks (the embedded demo)
cannot wait out the window, so there only the sweep would send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets import selectors_status
from tickets.models import OutboundEmail, Status, Ticket, TicketEvent
from tickets.services.status import status_link_url, status_summary_for

# A burst of changes within this window sends one email.
STATUS_EMAIL_BATCH_SECONDS = 120
# Changes recorded with an older time (imports, demo seeding) are not news to email about.
NOTIFY_MAX_EVENT_AGE = timedelta(hours=1)
NOTIFY_STATUSES = frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED})


def status_email_batch_seconds() -> int:
    return int(getattr(settings, "HELPDESK_STATUS_EMAIL_BATCH_SECONDS", STATUS_EMAIL_BATCH_SECONDS))


def _notify_kind_worthy(event: TicketEvent) -> bool:
    """Changes the customer hears about by email: never internal, never their own doing."""
    if not event.is_public or event.actor_customer_id is not None:
        return False
    kind = event.kind
    if kind == "ticket.status_changed":
        return event.to_value in NOTIFY_STATUSES
    if kind == "ticket.reopened":
        return event.actor_user_id is not None  # a customer's reply reopens without news
    if kind == "ticket.assigned":
        return bool(event.to_value)
    return kind in {"ticket.escalated", "ticket.deescalated", "ticket.merged"}


def status_notify_worthy(event: TicketEvent) -> bool:
    """Whether ``event`` (just recorded) starts or joins a batch."""
    if timezone.now() - event.created_at > NOTIFY_MAX_EVENT_AGE:
        return False  # a backfill or an import, not news
    return _notify_kind_worthy(event)


def status_notify_mark(*, tenant: Tenant, ticket: Ticket) -> None:
    """Start a batch: mark the ticket and schedule one send after the window (first change only).

    The in-memory ticket gets the mark too, because callers may save it whole afterwards.
    """
    deferred = "customer_notify_pending_since" in ticket.get_deferred_fields()
    if not deferred and ticket.customer_notify_pending_since is not None:
        return
    now = timezone.now()
    started = (
        Ticket.objects.for_tenant(tenant)
        .filter(pk=ticket.pk, customer_notify_pending_since__isnull=True)
        .update(customer_notify_pending_since=now)
    )
    if not started:
        if not deferred:
            ticket.customer_notify_pending_since = (
                Ticket.objects.for_tenant(tenant)
                .filter(pk=ticket.pk)
                .values_list("customer_notify_pending_since", flat=True)
                .first()
            )
        return
    if not deferred:
        ticket.customer_notify_pending_since = now
    from tickets.tasks.status import status_notify_task  # the tasks module imports services

    if status_notify_task.app.conf.task_always_eager:
        return  # in-process tasks cannot wait out the window: the periodic sweep sends it
    status_notify_task.apply_async_on_commit(
        args=[tenant.pk, ticket.pk], countdown=status_email_batch_seconds()
    )


def status_notify_send(
    *, tenant: Tenant, ticket_id: int, now: datetime | None = None, force: bool = False
) -> OutboundEmail | None:
    """Send the one email of a finished batch (idempotent: the batch mark is cleared).

    Before the window has passed nothing happens (unless ``force``). The email is short: where
    the request stands now, what changed, and the status link. Customers without an email address
    are skipped. A sending error rolls everything back, so a retry or the sweep sends it later.
    """
    now = now or timezone.now()
    window = timedelta(seconds=status_email_batch_seconds())
    with tenant_context(tenant):
        ticket = (
            Ticket.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("customer", "assignee", "sla_policy")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None or ticket.customer_notify_pending_since is None:
            return None
        since = ticket.customer_notify_pending_since
        if not force and now < since + window - timedelta(seconds=1):
            return None
        Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(
            customer_notify_pending_since=None
        )
        events = [
            e
            for e in TicketEvent.objects.for_tenant(tenant)
            .filter(
                ticket_id=ticket.pk,
                is_public=True,
                created_at__gte=since - timedelta(seconds=5),
            )
            .order_by("pk")
            if _notify_kind_worthy(e)
        ]
        email = (ticket.customer.email or "").strip()
        if not email or not events:
            return None
        url = status_link_url(tenant=tenant, ticket=ticket)
        summary = status_summary_for(tenant=tenant, ticket=ticket, now=now)
        reference = ticket.reference_with(tenant.reference_prefix)
        context = {
            "tenant": tenant,
            "ticket": ticket,
            "reference": reference,
            "customer_name": ticket.customer.first_name,
            "summary": summary,
            "changes": [selectors_status.event_public_text(e) for e in events],
            "url": url,
        }
        subject = " ".join(
            render_to_string("tickets/email/status_update_subject.txt", context).split()
        )
        text = render_to_string("tickets/email/status_update.txt", context)
        html = render_to_string("tickets/email/status_update.html", context)
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
        message_id = make_msgid(domain=domain)
        message = EmailMultiAlternatives(
            subject,
            text,
            None,
            [email],
            headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(html, "text/html")
        message.send()
        return OutboundEmail.objects.create(
            tenant=tenant,
            ticket=ticket,
            kind="status",
            rfc_message_id=message_id,
            to=email,
            subject=subject[:500],
            state=OutboundEmail.State.SENT,
            attempts=1,
            sent_at=now,
        )


def status_notify_sweep(*, tenant: Tenant, now: datetime | None = None, limit: int = 200) -> int:
    """Send every batch whose window has passed (a lost or failed task). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=status_email_batch_seconds())
    with tenant_context(tenant):
        due = list(
            Ticket.objects.for_tenant(tenant)
            .filter(customer_notify_pending_since__lte=cutoff)
            .order_by("customer_notify_pending_since")
            .values_list("pk", flat=True)[:limit]
        )
    sent = 0
    for ticket_id in due:
        if status_notify_send(tenant=tenant, ticket_id=ticket_id, now=now) is not None:
            sent += 1
    return sent
