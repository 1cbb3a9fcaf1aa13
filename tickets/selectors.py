"""Reads: customers and tickets for pages, the API and the demo."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

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
