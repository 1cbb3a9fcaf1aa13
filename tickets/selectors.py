"""Reads: customers and tickets for pages, the API and the demo."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from helpdesk.tenancy.models import Tenant
from tickets.models import (
    OPEN_STATUSES,
    AnalysisCorrection,
    AuthorType,
    Customer,
    Message,
    MessageAnalysis,
    Ticket,
    TicketEvent,
)


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


def ticket_page_versions(*, tenant: Tenant, ticket: Ticket) -> tuple[int, tuple]:
    """The ticket's latest event id (its cursor) and what its rendered conversation depends on:
    its messages, their analysis state, the analyses and the corrections (a tuple that changes
    with any of them; corrections edited in place also write an event). One statement of scalar
    sub-selects, each on an index of the ticket or its messages, under the tenant's row-level
    security as any other read."""
    event, message = TicketEvent._meta.db_table, Message._meta.db_table
    analysis, correction = MessageAnalysis._meta.db_table, AnalysisCorrection._meta.db_table
    messages = f"SELECT id FROM {message} WHERE tenant_id = %s AND ticket_id = %s"  # noqa: S608
    # The message figures come from one scan of the ticket's messages (FILTER), not from
    # sub-selects of their own: a count of pending ones would let the planner walk the partial
    # index of every pending message of the tenant (a backlog while the workers are down).
    sql = f"""
        SELECT
          (SELECT MAX(id) FROM {event} WHERE tenant_id = %s AND ticket_id = %s),
          m.total, m.latest, m.pending, m.failed,
          (SELECT COUNT(*) FROM {analysis} WHERE tenant_id = %s AND message_id IN ({messages})),
          (SELECT MAX(analysed_at) FROM {analysis}
            WHERE tenant_id = %s AND message_id IN ({messages})),
          (SELECT COUNT(*) FROM {correction} WHERE tenant_id = %s AND message_id IN ({messages})),
          (SELECT MAX(id) FROM {correction} WHERE tenant_id = %s AND message_id IN ({messages}))
        FROM (
          SELECT COUNT(*) AS total, MAX(id) AS latest,
                 COUNT(*) FILTER (WHERE analysis_state = 'pending') AS pending,
                 COUNT(*) FILTER (WHERE analysis_state = 'failed') AS failed
          FROM {message} WHERE tenant_id = %s AND ticket_id = %s
        ) AS m
    """  # noqa: S608 - table names from the models, values as parameters
    pair = [tenant.pk, ticket.pk]
    params = pair + [tenant.pk, *pair] * 4 + pair
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        latest_event, *version = cursor.fetchone()
    # As text without spaces (a datetime's): the tuple goes into cache keys.
    return latest_event or 0, tuple(
        "" if value is None else str(value).replace(" ", "T") for value in version
    )


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


def customer_figures(*, tenant: Tenant, customer: Customer) -> dict:
    """Lifetime figures for the profile: tickets, open now, last contact, repeat contacts."""
    tickets = Ticket.objects.for_tenant(tenant).filter(customer=customer, merged_into=None)
    totals = tickets.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        repeats=Count("id", filter=Q(repeat_of__isnull=False)),
        escalated=Count("id", filter=Q(tier__gt=1)),
        last_opened_at=Max("created_at"),
    )
    last_opened_at = totals.pop("last_opened_at")
    return {
        **totals,
        "last_contact_at": customer_last_contact_at(
            tenant=tenant, customer=customer, last_opened_at=last_opened_at
        ),
    }


def customer_last_contact_at(
    *, tenant: Tenant, customer: Customer, last_opened_at: datetime | None = None
) -> datetime | None:
    """When the customer last got in touch, read from what they sent: their latest message on
    any channel (email, web form, chat, API, a call logged for them) or the latest ticket opened
    for them, in this tenant. Not the stored ``Customer.last_contact_at``, which said when the
    last *recorded* message was, not the latest one (a history imported out of order left it
    weeks behind)."""
    latest_message = (
        Message.objects.for_tenant(tenant)
        .filter(author_customer=customer, author_type=AuthorType.CUSTOMER)
        .aggregate(at=Max("created_at"))["at"]
    )
    found = [at for at in (latest_message, last_opened_at) if at is not None]
    return max(found) if found else None
