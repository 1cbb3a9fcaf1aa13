"""Reads for the customer's live status page, the portal and the status-page socket.

Everything here returns what a *customer* may see of a ticket: public events and public messages
of the ticket's own customer or of staff, in customer words. Never internal notes, never internal
fields (escalation reasons, group names, tags, priorities, SLA stages), never other customers.

Status links are global rows (``tickets.StatusLink``, on the registry allowlist): they are read
before any tenant scope exists, to find the tenant and the ticket a token points to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk.tenancy.models import Tenant
from tickets.models import (
    AuthorType,
    Customer,
    Message,
    Status,
    StatusLink,
    Ticket,
    TicketEvent,
)

# Replays and poll answers carry at most this many events; a longer gap asks for a resync.
STATUS_REPLAY_LIMIT = 200
# The page shows the latest this many timeline entries.
STATUS_TIMELINE_LIMIT = 200


# --- links -------------------------------------------------------------------------------------


def _active(now: datetime) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def status_link_resolve(*, token: str, now: datetime | None = None) -> StatusLink | None:
    """The active link of ``token`` (not revoked, not expired), with its tenant; else None.

    Unknown, rotated and expired tokens are indistinguishable to the caller (the same 404).
    """
    if not token or len(token) > 64:
        return None
    return (
        StatusLink.objects.select_related("tenant")
        .filter(_active(now or timezone.now()), token=token)
        .first()
    )


def status_link_active_for(
    *, tenant: Tenant, ticket_id: int, now: datetime | None = None
) -> StatusLink | None:
    """The ticket's current link (the newest active one), or None."""
    return (
        StatusLink.objects.filter(
            _active(now or timezone.now()), tenant=tenant, ticket_id=ticket_id
        )
        .order_by("-created_at", "-id")
        .first()
    )


def status_link_active_get(
    *, link_id: int, tenant_id: int, ticket_id: int, now: datetime | None = None
) -> StatusLink | None:
    """The link a viewer token was issued for, if it still opens the page (id and expiry)."""
    return (
        StatusLink.objects.filter(_active(now or timezone.now()))
        .filter(pk=link_id, tenant_id=tenant_id, ticket_id=ticket_id)
        .only("id", "expires_at")
        .first()
    )


def status_links_for_tickets(*, tenant: Tenant, ticket_ids: list[int]) -> dict[int, StatusLink]:
    """The current link of each ticket that has one (one query)."""
    links: dict[int, StatusLink] = {}
    rows = (
        StatusLink.objects.filter(_active(timezone.now()), tenant=tenant, ticket_id__in=ticket_ids)
        .order_by("ticket_id", "-created_at", "-id")
        .only("id", "token", "ticket_id", "tenant_id", "expires_at", "created_at")
    )
    for link in rows:
        links.setdefault(link.ticket_id, link)
    return links


# --- tickets -----------------------------------------------------------------------------------


def status_ticket_get(*, tenant: Tenant, ticket_id: int) -> Ticket | None:
    """The ticket of a link, with what the page shows (assignee's name, SLA policy, merges)."""
    return (
        Ticket.objects.for_tenant(tenant)
        .select_related("customer", "assignee", "sla_policy", "merged_into")
        .filter(pk=ticket_id)
        .first()
    )


def status_ticket_for_summary(*, tenant: Tenant, ticket_id: int) -> Ticket | None:
    """The ticket with just what the summary reads (the publisher's lighter read)."""
    return (
        Ticket.objects.for_tenant(tenant)
        .select_related("assignee", "sla_policy")
        .filter(pk=ticket_id)
        .first()
    )


def status_queue_ahead(*, tenant: Tenant, ticket: Ticket) -> int:
    """How many requests of the tenant wait for a first reply and came in before this one.

    The tenant's current queue load as the customer experiences it: the line in front of them.
    """
    return (
        Ticket.objects.for_tenant(tenant)
        .filter(
            status__in=[Status.NEW, Status.OPEN],
            first_response_at__isnull=True,
            merged_into__isnull=True,
            created_at__lt=ticket.created_at,
        )
        .count()
    )


def portal_ticket_list(*, tenant: Tenant, customer: Customer) -> list[Ticket]:
    """A signed-in portal customer's own tickets, newest first (merged ones left out)."""
    return list(
        Ticket.objects.for_tenant(tenant)
        .filter(customer=customer, merged_into__isnull=True)
        .select_related("assignee")
        .order_by("-created_at", "-id")[:200]
    )


def portal_customer_by_email(*, tenant: Tenant, email: str) -> Customer | None:
    email = email.strip().lower()
    if not email:
        return None
    return Customer.objects.for_tenant(tenant).filter(email=email).first()


def portal_customer_get(*, tenant: Tenant, customer_id: int) -> Customer | None:
    return Customer.objects.for_tenant(tenant).filter(pk=customer_id).first()


# --- the public timeline -----------------------------------------------------------------------


def _status_text(to_value: str) -> str:
    texts = {
        Status.NEW: gettext("We received your request."),
        Status.OPEN: gettext("We are working on your request."),
        Status.PENDING: gettext("We are waiting for your reply."),
        Status.ON_HOLD: gettext("Your request is on hold while we check something."),
        Status.SOLVED: gettext("We marked your request as resolved."),
        Status.CLOSED: gettext("Your request was closed."),
    }
    return texts.get(to_value, gettext("Your request was updated."))


def event_public_text(event: TicketEvent) -> str:
    """One line in customer words. Reads only the fields that are safe to show."""
    kind = event.kind
    if kind == "ticket.created":
        return gettext("We received your request.")
    if kind == "ticket.status_changed":
        return _status_text(event.to_value)
    if kind == "ticket.reopened":
        return gettext("Your request was reopened.")
    if kind == "ticket.assigned":
        name = (event.data or {}).get("assignee_first_name", "") if event.to_value else ""
        if name:
            return gettext("%(name)s is now handling your request.") % {"name": name}
        return gettext("Your request is with our team.")
    if kind == "ticket.escalated":
        return gettext("A specialist is now looking into your request.")
    if kind == "ticket.deescalated":
        return gettext("Your request is back with our support team.")
    if kind == "ticket.merged":
        return gettext("This request was combined with another one; updates continue there.")
    return gettext("Your request was updated.")


@dataclass(frozen=True)
class PublicEntry:
    """One line of the customer's timeline: an update or a message."""

    cursor: int
    kind: str  # "update" or "message"
    at: datetime
    text: str  # an update's sentence, or a short plain-text preview of a message
    author: str = ""
    mine: bool = False  # written by the customer
    html: str = ""  # a message's sanitised body

    def as_dict(self) -> dict:
        return {
            "cursor": self.cursor,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "text": self.text,
            "author": self.author,
            "mine": self.mine,
            "html": self.html,
        }


def _preview(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _public_entries(
    *, tenant: Tenant, ticket: Ticket, events: list[TicketEvent]
) -> list[PublicEntry]:
    """Customer-safe entries for ``events`` (already public, of ``ticket``). One message query.

    Messages are re-checked: never internal, and only from staff or from the ticket's own
    customer (a merge can bring in another customer's messages; they stay out).
    """
    message_ids = [
        e.data.get("message")
        for e in events
        if e.kind == "message.created" and isinstance(e.data, dict) and e.data.get("message")
    ]
    messages: dict[str, Message] = {}
    if message_ids:
        rows = (
            Message.objects.for_tenant(tenant)
            .filter(ticket_id=ticket.pk, public_id__in=message_ids, is_internal=False)
            .filter(
                Q(author_type=AuthorType.STAFF)
                | Q(author_type=AuthorType.CUSTOMER, author_customer_id=ticket.customer_id)
            )
            .select_related("author_user")
        )
        messages = {str(m.public_id): m for m in rows}
    entries = []
    for event in events:
        if event.actor_customer_id is not None and event.actor_customer_id != ticket.customer_id:
            continue  # another customer's action (merged in): not theirs to see
        if event.kind == "message.created":
            message = messages.get(str((event.data or {}).get("message", "")))
            if message is None:
                continue
            mine = message.author_type == AuthorType.CUSTOMER
            if mine:
                author = gettext("You")
            elif message.author_user is not None:
                author = message.author_user.first_name
            else:
                author = gettext("Support")
            entries.append(
                PublicEntry(
                    cursor=event.pk,
                    kind="message",
                    at=message.created_at,
                    text=_preview(message.body_text),
                    author=author,
                    mine=mine,
                    html=message.body_html,
                )
            )
        else:
            entries.append(
                PublicEntry(
                    cursor=event.pk,
                    kind="update",
                    at=event.created_at,
                    text=event_public_text(event),
                )
            )
    return entries


def _public_events(*, tenant: Tenant, ticket: Ticket):
    return TicketEvent.objects.for_tenant(tenant).filter(ticket_id=ticket.pk, is_public=True)


def status_timeline(
    *, tenant: Tenant, ticket: Ticket, limit: int = STATUS_TIMELINE_LIMIT
) -> list[PublicEntry]:
    """The latest ``limit`` public entries of the ticket, oldest first. Two queries."""
    events = list(_public_events(tenant=tenant, ticket=ticket).order_by("-pk")[:limit])
    events.reverse()
    return _public_entries(tenant=tenant, ticket=ticket, events=events)


def status_events_since(
    *, tenant: Tenant, ticket: Ticket, cursor: int, limit: int = STATUS_REPLAY_LIMIT
) -> tuple[list[PublicEntry], bool]:
    """Public entries after ``cursor`` (oldest first), at most ``limit``; and whether more wait."""
    events = list(
        _public_events(tenant=tenant, ticket=ticket)
        .filter(pk__gt=cursor)
        .order_by("pk")[: limit + 1]
    )
    more = len(events) > limit
    return _public_entries(tenant=tenant, ticket=ticket, events=events[:limit]), more


def status_entries_for_events(
    *, tenant: Tenant, ticket: Ticket, event_ids: list[int]
) -> list[PublicEntry]:
    """Public entries of these committed events (the publisher's input); others are dropped."""
    events = list(
        _public_events(tenant=tenant, ticket=ticket).filter(pk__in=event_ids).order_by("pk")
    )
    return _public_entries(tenant=tenant, ticket=ticket, events=events)


def status_latest_cursor(*, tenant: Tenant, ticket: Ticket) -> int:
    """The newest public event id of the ticket (0 without any)."""
    last = _public_events(tenant=tenant, ticket=ticket).order_by("-pk").values_list("pk", flat=True)
    return last.first() or 0


def status_cursor_before(*, tenant: Tenant, ticket: Ticket, cursor: int) -> int:
    """The newest public event id of the ticket before ``cursor`` (0 without any): sent with each
    live update, so an open page can tell that an earlier update never reached it."""
    last = (
        _public_events(tenant=tenant, ticket=ticket)
        .filter(pk__lt=cursor)
        .order_by("-pk")
        .values_list("pk", flat=True)
    )
    return last.first() or 0
