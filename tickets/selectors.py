"""Reads: customers and tickets for pages, the API and the demo."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from helpdesk.tenancy.models import Tenant
from tickets.models import OPEN_STATUSES, Customer, Message, Ticket, TicketEvent


def customer_list(*, tenant: Tenant, search: str = "") -> QuerySet[Customer]:
    queryset = Customer.objects.for_tenant(tenant)
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search) | Q(email__icontains=search) | Q(company__icontains=search)
        )
    return queryset.annotate(
        ticket_total=Count("tickets"),
        open_total=Count("tickets", filter=Q(tickets__status__in=OPEN_STATUSES)),
    )


def customer_get(*, tenant: Tenant, public_id) -> Customer | None:
    return Customer.objects.for_tenant(tenant).filter(public_id=public_id).first()


def ticket_list(*, tenant: Tenant) -> QuerySet[Ticket]:
    return Ticket.objects.for_tenant(tenant).select_related("customer", "assignee", "group")


def ticket_get_by_number(*, tenant: Tenant, number: int) -> Ticket | None:
    return ticket_list(tenant=tenant).filter(number=number).first()


def ticket_get(*, tenant: Tenant, public_id) -> Ticket | None:
    return ticket_list(tenant=tenant).filter(public_id=public_id).first()


def message_list_for_ticket(
    *, tenant: Tenant, ticket: Ticket, include_internal: bool
) -> QuerySet[Message]:
    queryset = (
        Message.objects.for_tenant(tenant)
        .filter(ticket=ticket)
        .select_related("author_user", "author_customer")
    )
    if not include_internal:
        queryset = queryset.filter(is_internal=False)
    return queryset.order_by("created_at", "id")


THREAD_VERSION_FIELDS = (
    "message_count",
    "last_message",
    "pending",
    "failed",
    "analysis_count",
    "analysed_at",
    "correction_count",
    "last_correction",
)


def message_thread_version(*, tenant: Tenant, ticket: Ticket) -> tuple:
    """What the rendered conversation of a ticket depends on, in one aggregate query: its
    messages, their analysis state, the analyses and the corrections. Any change to one of them
    changes the tuple (corrections edited in place also add a timeline event: the caller keys on
    the latest event too)."""
    figures = (
        Message.objects.for_tenant(tenant)
        .filter(ticket=ticket)
        .aggregate(
            message_count=Count("id", distinct=True),
            last_message=Max("id"),
            pending=Count("id", filter=Q(analysis_state="pending"), distinct=True),
            failed=Count("id", filter=Q(analysis_state="failed"), distinct=True),
            analysis_count=Count("analyses", distinct=True),
            analysed_at=Max("analyses__analysed_at"),
            correction_count=Count("corrections", distinct=True),
            last_correction=Max("corrections__id"),
        )
    )
    analysed_at = figures["analysed_at"]
    figures["analysed_at"] = analysed_at.timestamp() if analysed_at else 0
    return tuple(figures[name] for name in THREAD_VERSION_FIELDS)


def ticket_events_recent(*, tenant: Tenant, ticket: Ticket, limit: int = 40) -> list[TicketEvent]:
    """The ticket's latest events, newest first (the page's activity timeline)."""
    return list(
        TicketEvent.objects.for_tenant(tenant)
        .filter(ticket=ticket)
        .select_related("actor_user", "actor_customer")
        .order_by("-id")[:limit]
    )


def ticket_list_other_for_customer(*, tenant: Tenant, ticket: Ticket, limit: int = 10):
    """The customer's other tickets, as the ticket page's sidebar lists them (number, status,
    subject, last update: no joins)."""
    return list(
        Ticket.objects.for_tenant(tenant)
        .filter(customer_id=ticket.customer_id)
        .exclude(pk=ticket.pk)
        .only("id", "tenant_id", "number", "status", "subject", "updated_at")[:limit]
    )


REPLAY_LIMIT = 200


def ticket_events_since(*, tenant: Tenant, ticket_id: int, cursor: int, limit: int = REPLAY_LIMIT):
    """Events of a ticket after ``cursor`` (oldest first), at most ``limit`` + 1 to detect gaps."""
    return list(
        TicketEvent.objects.for_tenant(tenant)
        .filter(ticket_id=ticket_id, pk__gt=cursor)
        .select_related("actor_user", "ticket")
        .order_by("pk")[: limit + 1]
    )


def ticket_latest_cursor(*, tenant: Tenant, ticket_id: int) -> int:
    last = (
        TicketEvent.objects.for_tenant(tenant).filter(ticket_id=ticket_id).order_by("-pk").first()
    )
    return last.pk if last else 0


def customer_figures(*, tenant: Tenant, customer: Customer) -> dict:
    """Lifetime figures for the profile: tickets, open now, last contact, repeat contacts."""
    tickets = Ticket.objects.for_tenant(tenant).filter(customer=customer, merged_into=None)
    totals = tickets.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        repeats=Count("id", filter=Q(repeat_of__isnull=False)),
        escalated=Count("id", filter=Q(tier__gt=1)),
    )
    return {**totals, "last_contact_at": customer.last_contact_at}
