"""Writes: customers, tickets, messages and every ticket state change.

Each change writes a ``TicketEvent`` in the same transaction (the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.services import counter_next
from tickets.events import event_record, ticket_new_here
from tickets.lifecycle import can_transition
from tickets.models import (
    AuthorType,
    Channel,
    Customer,
    Message,
    Priority,
    Status,
    StatusLink,
    Ticket,
)
from tickets.sanitize import sanitize_html, text_to_html
from tickets.services.analysis import message_analysis_enqueue
from tickets.services.email_out import email_reply_queue
from tickets.services.merge import repeat_candidate, repeat_record
from tickets.services.sla import sla_apply, sla_on_message, sla_on_status_change


def _assert_same_tenant(tenant: Tenant, *objects) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "tenant_id", tenant.pk) != tenant.pk:
            raise ValidationError(f"{type(obj).__name__} belongs to another tenant.")


def _assert_member(tenant: Tenant, user: User | None) -> None:
    if user is not None and not Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ValidationError("That person is not a member of this helpdesk.")


def customer_get_or_create(
    *, tenant: Tenant, email: str, name: str = "", at: datetime | None = None, **fields
) -> tuple[Customer, bool]:
    """Match a customer by email (case-insensitive) or create one."""
    email = email.strip().lower()
    with tenant_context(tenant, savepoint=False):  # the insert has a savepoint of its own
        if email:
            existing = Customer.objects.for_tenant(tenant).filter(email=email).first()
            if existing is not None:
                return existing, False
        try:
            with transaction.atomic():  # two first messages of one new sender may race here
                customer = Customer.objects.create(
                    tenant=tenant, email=email, name=name.strip(), **fields
                )
        except IntegrityError:
            existing = Customer.objects.for_tenant(tenant).filter(email=email).first()
            if existing is None:
                raise
            return existing, False
        if at is not None:
            Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(created_at=at)
            customer.created_at = at
        return customer, True


def ticket_check(*, subject: str, body: str, channel: str, priority: str) -> None:
    """What ``ticket_create`` refuses before it writes anything: ``ValidationError`` (and
    ``ValueError`` for a channel or priority that does not exist). A caller of ``ticket_store``
    calls it first, before its scope."""
    Channel(channel)
    Priority(priority)
    if not subject.strip():
        raise ValidationError({"subject": "A subject is required."})
    if not body.strip():
        raise ValidationError({"body": "The message cannot be empty."})


def ticket_create(
    *,
    tenant: Tenant,
    customer: Customer,
    subject: str,
    body: str,
    channel: str = Channel.WEB,
    priority: str = Priority.NORMAL,
    actor: User | None = None,
    body_html: str = "",
    external_id: str = "",
    at: datetime | None = None,
    new_customer: bool = False,
) -> Ticket:
    """Open a ticket with its first message (from the customer, or logged by staff).

    ``new_customer``: the customer was created for this ticket, so it repeats no earlier one
    (the search for the ticket it repeats is left out)."""
    ticket_check(subject=subject, body=body, channel=channel, priority=priority)
    with tenant_context(tenant):
        stored = ticket_store(
            tenant=tenant,
            customer=customer,
            subject=subject,
            body=body,
            channel=channel,
            priority=priority,
            actor=actor,
            body_html=body_html,
            external_id=external_id,
            at=at,
            new_customer=new_customer,
        )
    return stored.ticket


@dataclass(frozen=True)
class StoredTicket:
    ticket: Ticket
    link: StatusLink
    message: Message  # the first one


def ticket_store(
    *,
    tenant: Tenant,
    customer: Customer,
    subject: str,
    body: str,
    channel: str = Channel.WEB,
    priority: str = Priority.NORMAL,
    actor: User | None = None,
    body_html: str = "",
    external_id: str = "",
    at: datetime | None = None,
    new_customer: bool = False,
) -> StoredTicket:
    """The body of ``ticket_create``, for a caller that holds the tenant's scope and a savepoint
    of its own around the whole use case (the contact form: customer, ticket, attachments), so
    that a failure leaves nothing of it behind. The input is checked first (``ticket_check``,
    before the scope). Returns the ticket, its status link and its first message."""
    now = at or timezone.now()
    _assert_same_tenant(tenant, customer)
    _assert_member(tenant, actor)
    # A repeat of the customer's recent ticket on the same topic (the repeat-ticket metric).
    earlier = None
    if not new_customer:
        earlier = repeat_candidate(
            tenant=tenant, customer_id=customer.pk, subject=subject, body=body, at=now
        )
    ticket = Ticket.objects.create(
        tenant=tenant,
        number=counter_next(tenant=tenant, name="ticket"),
        subject=subject.strip()[:250],
        customer=customer,
        channel=channel,
        priority=priority,
        created_at=now,
        updated_at=now,
        # What its first message (from the customer, or logged for them) sets, saved now.
        message_count=1,
        last_customer_message_at=now,
        repeat_of=earlier,
    )
    ticket_new_here(ticket)  # no page can be open on it before this commits
    from tickets.services.status import status_link_create  # the customer's status page

    link = status_link_create(tenant=tenant, ticket=ticket)
    event_record(
        tenant=tenant,
        ticket=ticket,
        kind="ticket.created",
        actor=actor,
        customer=None if actor else customer,
        to_value=Status.NEW,
        at=now,
    )
    if earlier is not None:
        repeat_record(tenant=tenant, ticket=ticket, earlier=earlier)
    # The ticket row was inserted by this transaction: it is ours already (no re-read, no
    # lock), and the first message updates this very object.
    message = _message_store(
        tenant=tenant,
        ticket=ticket,
        body=body,
        body_html=body_html,
        author_customer=None if actor else customer,
        author_user=actor,
        on_behalf_of_customer=actor is not None,
        is_internal=False,
        channel=channel,
        external_id=external_id,
        at=at,
        now=now,
        counted=True,
    )
    sla_apply(tenant=tenant, ticket=ticket, at=now)
    return StoredTicket(ticket=ticket, link=link, message=message)


def message_create(
    *,
    tenant: Tenant,
    ticket: Ticket,
    body: str,
    author_user: User | None = None,
    author_customer: Customer | None = None,
    is_internal: bool = False,
    on_behalf_of_customer: bool = False,
    channel: str | None = None,
    body_html: str = "",
    external_id: str = "",
    at: datetime | None = None,
) -> Message:
    """Add a message to the conversation and update the ticket's counters and lifecycle.

    A customer writing to a solved ticket reopens it; a first public staff reply sets the first
    response time and opens a new ticket.
    """
    if (author_user is None) == (author_customer is None):
        raise ValidationError("A message has exactly one author: a staff member or the customer.")
    if not body.strip():
        raise ValidationError({"body": "The message cannot be empty."})
    from_customer = author_customer is not None or on_behalf_of_customer
    if from_customer and is_internal:
        raise ValidationError("Customer messages cannot be internal notes.")
    now = at or timezone.now()
    with tenant_context(tenant):
        _assert_same_tenant(tenant, ticket, author_customer)
        _assert_member(tenant, author_user)
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        return _message_store(
            tenant=tenant,
            ticket=ticket,
            body=body,
            body_html=body_html,
            author_customer=author_customer,
            author_user=author_user,
            on_behalf_of_customer=on_behalf_of_customer,
            is_internal=is_internal,
            channel=channel,
            external_id=external_id,
            at=at,
            now=now,
        )


def _message_store(
    *,
    tenant: Tenant,
    ticket: Ticket,
    body: str,
    body_html: str,
    author_user: User | None,
    author_customer: Customer | None,
    on_behalf_of_customer: bool,
    is_internal: bool,
    channel: str | None,
    external_id: str,
    at: datetime | None,
    now: datetime,
    counted: bool = False,
) -> Message:
    """The body of ``message_create``, inside its scope, for a ticket row this transaction holds
    (locked, or inserted by it). Updates ``ticket`` in place.

    ``counted``: the ticket was inserted with this (first, customer) message already counted.
    """
    from_customer = author_customer is not None or on_behalf_of_customer
    message = Message.objects.create(
        tenant=tenant,
        ticket=ticket,
        author_type=AuthorType.CUSTOMER if from_customer else AuthorType.STAFF,
        author_user=author_user,
        author_customer=author_customer or (ticket.customer if on_behalf_of_customer else None),
        is_internal=is_internal,
        body_text=body,
        body_html=sanitize_html(body_html) if body_html else text_to_html(body),
        channel=channel or ticket.channel,
        external_id=external_id,
        created_at=now,
        analysis_state="pending" if from_customer else "skipped",
    )
    if not counted:
        ticket.message_count += 1
        ticket.updated_at = now
    changed = [] if counted else ["message_count", "updated_at"]
    event_record(
        tenant=tenant,
        ticket=ticket,
        kind="message.created",
        actor=author_user,
        customer=author_customer,
        data={"message": str(message.public_id)},
        is_public=not is_internal,
        at=now,
        message=message,
    )
    if from_customer:
        if not counted:
            ticket.last_customer_message_at = now
            changed.append("last_customer_message_at")
        # Only ever forward: a message recorded late (an import, a backfilled history) is not
        # the customer's latest contact. Still one statement.
        Customer.objects.for_tenant(tenant).filter(
            Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=now), pk=ticket.customer_id
        ).update(last_contact_at=now)
        if ticket.status == Status.SOLVED:
            _set_status(
                tenant=tenant,
                ticket=ticket,
                status=Status.OPEN,
                actor=None,
                at=now,
                reopened=True,
            )
            changed += ["status", "solved_at", "reopen_count"]
        elif ticket.status == Status.PENDING:
            _set_status(tenant=tenant, ticket=ticket, status=Status.OPEN, actor=None, at=now)
            changed += ["status"]
    elif not is_internal:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            changed.append("first_response_at")
        if ticket.status == Status.NEW:
            _set_status(tenant=tenant, ticket=ticket, status=Status.OPEN, actor=author_user, at=now)
            changed.append("status")
    if changed:
        ticket.save(update_fields=sorted(set(changed)))
    sla_on_message(tenant=tenant, ticket=ticket, message=message)
    if from_customer:  # stored first; analysed by the workers after commit
        message_analysis_enqueue(tenant=tenant, message=message)
    if (
        at is None  # a live reply; backfilled history (seeding, imports) is not emailed
        and not from_customer
        and not is_internal
        and ticket.channel == Channel.EMAIL
    ):
        email_reply_queue(tenant=tenant, ticket=ticket, message=message)
    return message


def _set_status(
    *,
    tenant: Tenant,
    ticket: Ticket,
    status: str,
    actor: User | None,
    at: datetime,
    reopened: bool = False,
) -> None:
    previous = ticket.status
    ticket.status = status
    if status == Status.SOLVED:
        ticket.solved_at = at
    elif status == Status.CLOSED:
        ticket.closed_at = at
        ticket.solved_at = ticket.solved_at or at
    elif previous == Status.SOLVED:
        ticket.solved_at = None
    if reopened:
        ticket.reopen_count += 1
    event_record(
        tenant=tenant,
        ticket=ticket,
        kind="ticket.reopened" if reopened else "ticket.status_changed",
        actor=actor,
        from_value=previous,
        to_value=status,
        is_public=True,
        at=at,
    )


@transaction.atomic
def ticket_set_status(
    *, tenant: Tenant, actor: User | None, ticket: Ticket, status: str, at: datetime | None = None
) -> Ticket:
    if status not in Status.values:
        raise ValidationError({"status": f"Choose one of {Status.values}."})
    now = at or timezone.now()
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        if ticket.status == status:
            return ticket
        if not can_transition(ticket.status, status):
            raise ValidationError(
                {
                    "status": f"A {ticket.get_status_display().lower()} ticket cannot become "
                    f"{Status(status).label.lower()}."
                }
            )
        _set_status(
            tenant=tenant,
            ticket=ticket,
            status=status,
            actor=actor,
            at=now,
            reopened=ticket.status == Status.SOLVED and status == Status.OPEN,
        )
        ticket.updated_at = now
        ticket.save()
        sla_on_status_change(tenant=tenant, ticket=ticket, at=now)
    return ticket


def ticket_assign(
    *,
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    assignee: User | None,
    at: datetime | None = None,
) -> Ticket:
    now = at or timezone.now()
    with tenant_context(tenant):
        _assert_member(tenant, assignee)
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        previous = ticket.assignee
        ticket.assignee = assignee
        ticket.updated_at = now
        ticket.save(update_fields=["assignee", "updated_at"])
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="ticket.assigned",
            actor=actor,
            from_value=str(previous.pk) if previous else "",
            to_value=str(assignee.pk) if assignee else "",
            data={"assignee_first_name": assignee.first_name if assignee else ""},
            at=now,
        )
    return ticket


def ticket_escalate(
    *,
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    group,
    reason: str,
    at: datetime | None = None,
) -> Ticket:
    """Move a ticket to a higher tier's group. The reason is required and kept on the event."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the ticket needs a specialist."})
    now = at or timezone.now()
    with tenant_context(tenant):
        _assert_same_tenant(tenant, group)
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        if group.tier <= ticket.tier:
            raise ValidationError({"group": "Escalation moves a ticket to a higher tier."})
        previous_tier = ticket.tier
        ticket.group = group
        ticket.tier = group.tier
        ticket.assignee = None
        ticket.updated_at = now
        ticket.save(update_fields=["group", "tier", "assignee", "updated_at"])
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="ticket.escalated",
            actor=actor,
            from_value=str(previous_tier),
            to_value=str(group.tier),
            data={"reason": reason.strip(), "group": group.name},
            at=now,
        )
    return ticket


def tickets_auto_close(*, tenant: Tenant, now: datetime | None = None, limit: int = 500) -> int:
    """Close tickets solved at least ``tenant.auto_close_after_days`` ago. Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=tenant.auto_close_after_days)
    with tenant_context(tenant):
        due = list(
            Ticket.objects.for_tenant(tenant)
            .filter(status=Status.SOLVED, solved_at__lte=cutoff)
            .order_by("solved_at")
            .values_list("pk", flat=True)[:limit]
        )
        for pk in due:
            ticket_set_status(
                tenant=tenant,
                actor=None,
                ticket=Ticket(pk=pk, tenant=tenant),
                status=Status.CLOSED,
                at=now,
            )
    return len(due)
