"""The ticket timeline: record an event row and publish it after commit.

Every ticket change goes through ``event_record``: the row is the audit trail, the status page's
source and the metrics' input, and its id is the cursor real-time clients resume from. Publishing
happens on commit only, and a failed publish never fails the caller (clients catch up by cursor).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.realtime.groups import tenant_group, ticket_group
from helpdesk.realtime.publish import group_send_on_commit
from helpdesk.tenancy.context import scope_memo
from helpdesk.tenancy.models import Tenant
from tickets.models import Channel, Customer, Message, Ticket, TicketEvent

PUBLIC_EVENT_KINDS = frozenset(
    {
        "ticket.created",
        "ticket.status_changed",
        "ticket.reopened",
        "ticket.assigned",
        "ticket.escalated",
        "ticket.deescalated",
        "message.created",
    }
)


def event_record(
    *,
    tenant: Tenant,
    ticket: Ticket,
    kind: str,
    actor: User | None = None,
    customer: Customer | None = None,
    from_value: str = "",
    to_value: str = "",
    data: dict | None = None,
    is_public: bool | None = None,
    at: datetime | None = None,
    message: Message | None = None,
) -> TicketEvent:
    """``message``: the new message of a "message.created" event (live chats get it with the
    event, so that their sockets need not read it back)."""
    event = TicketEvent.objects.create(
        tenant=tenant,
        ticket=ticket,
        kind=kind,
        actor_user=actor,
        actor_customer=customer,
        from_value=from_value,
        to_value=to_value,
        data=data or {},
        is_public=kind in PUBLIC_EVENT_KINDS if is_public is None else is_public,
        created_at=at or timezone.now(),
    )
    publish_event_on_commit(event=event, ticket=ticket, actor=actor, message=message)
    from tickets.services.webhooks import webhook_dispatch_for_event  # services import this module

    webhook_dispatch_for_event(tenant=tenant, ticket=ticket, event=event)
    return event


def agent_payload(*, event: TicketEvent, ticket: Ticket, actor: User | None) -> dict:
    """What staff sockets receive: every field, internal events included."""
    return {
        "cursor": event.pk,
        "ticket": ticket.number,
        "kind": event.kind,
        "from": event.from_value,
        "to": event.to_value,
        "actor": str(actor) if actor else "",
        "actor_id": actor.pk if actor else None,
        "public": event.is_public,
        "data": event.data,
        "at": event.created_at.isoformat(),
    }


def publish_event_on_commit(
    *, event: TicketEvent, ticket: Ticket, actor: User | None, message: Message | None = None
) -> None:
    # The customer's status page: public events only, as customer-safe entries (decided here,
    # at publish time, and sent after commit by the status service, before the staff sockets
    # below wake their pages up).
    from tickets.services.status import status_event_recorded  # services import this module

    # Nobody can have the page of a ticket opened in this very transaction: its status page
    # and ticket page get nothing (they read everything when they open); the queue does.
    watched = not ticket_is_new_here(ticket)
    status_event_recorded(event=event, ticket=ticket, publish=watched)
    if watched:
        _ticket_event_on_commit(event=event, ticket=ticket, actor=actor, message=message)
    _queue_changed_on_commit(event=event, ticket=ticket)


NEW_TICKETS = "events.new_tickets"


def ticket_is_new_here(ticket: Ticket) -> bool:
    """Whether ``ticket`` was created by the current transaction (``ticket_new_here``)."""
    memo = scope_memo(NEW_TICKETS)
    return memo is not None and ticket.pk in memo


def ticket_new_here(ticket: Ticket) -> None:
    """Note that the current transaction created ``ticket`` (called by ``ticket_create``)."""
    memo = scope_memo(NEW_TICKETS)
    if memo is not None:
        memo[ticket.pk] = True


def _ticket_event_on_commit(
    *, event: TicketEvent, ticket: Ticket, actor: User | None, message: Message | None
) -> None:
    group_message = {
        "type": "ticket.event",
        "event": agent_payload(event=event, ticket=ticket, actor=actor),
    }
    if message is not None and ticket.channel == Channel.CHAT:
        from tickets.selectors_chat import chat_delivery

        group_message["chat"] = chat_delivery(tenant=event.tenant, message=message)
    group_send_on_commit(ticket_group(event.tenant_id, ticket.pk), group_message)


def _queue_changed_on_commit(*, event: TicketEvent, ticket: Ticket) -> None:
    """One "queue changed" per ticket and transaction, naming its latest event: queue pages only
    need to know that a row moved (a new ticket records two events, a reply up to three)."""
    message = {
        "type": "queue.changed",
        "ticket": ticket.number,
        "kind": event.kind,
        "cursor": event.pk,
    }
    pending = scope_memo("events.queue_changed")
    if pending is None:
        group_send_on_commit(tenant_group(event.tenant_id), message)
        return
    # A callback registered inside a savepoint is dropped if that savepoint rolls back: reuse
    # one only from this savepoint or an enclosing one (it goes or stays with this event).
    here = tuple(connection.savepoint_ids)
    registered = pending.get(ticket.pk)
    if registered is not None and here[: len(registered[0])] == registered[0]:
        registered[1].update(message)  # the registered callback sends the latest
        return
    pending[ticket.pk] = (here, message)
    group_send_on_commit(tenant_group(event.tenant_id), message)


def ticket_analysed_notice_on_commit(
    *, tenant_id: int, ticket: Ticket, message_ids: list[str]
) -> None:
    """After commit, tell the ticket's open staff pages that these messages (public ids) have
    their analysis stored, so that a page swaps its "analysing…" markers in. A notice, not a
    timeline event: nothing happened to the ticket, and a page that misses it (the layer dropped
    it, the socket was down) reads the analysis on its next refresh or reconnect. Staff only: the
    status page never hears of it (the ticket group is the staff pages' group)."""
    if not message_ids or ticket_is_new_here(ticket):
        return
    group_send_on_commit(
        ticket_group(tenant_id, ticket.pk),
        {"type": "ticket.analysed", "ticket": ticket.number, "messages": list(message_ids)},
    )
