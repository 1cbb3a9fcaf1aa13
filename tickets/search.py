"""Full-text search over subjects, messages and customers.

PostgreSQL: ``websearch_to_tsquery`` against GIN expression indexes created in migration 0004 (the
SQL expressions here must stay identical to the indexed ones). Elsewhere (the SQLite demo): every
word must appear (case-insensitive substring) in the subject, a message or the customer.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from tickets.models import Customer, Message, Ticket

TICKET_FTS = "to_tsvector('english'::regconfig, COALESCE(subject, '')) @@ websearch_to_tsquery('english', %s)"
MESSAGE_FTS = "to_tsvector('english'::regconfig, COALESCE(body_text, '')) @@ websearch_to_tsquery('english', %s)"
CUSTOMER_FTS = (
    "to_tsvector('simple'::regconfig, COALESCE(name, '') || ' ' || "
    "COALESCE(email, '') || ' ' || COALESCE(company, '')) "
    "@@ websearch_to_tsquery('simple', %s)"
)


def _fts(sql: str, query: str) -> RawSQL:
    # The SQL is a constant of this module; the user's text is always a bound parameter.
    return RawSQL(sql, [query], output_field=BooleanField())  # noqa: S611


def ticket_search_filter(queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    """Narrow ``queryset`` (already tenant-scoped) to tickets matching ``query``."""
    query = query.strip()[:200]
    if not query:
        return queryset
    messages = Message.objects.all()
    customers = Customer.objects.all()
    by_number = Q(number=int(query)) if query.isdigit() else Q(pk__in=[])
    if connection.vendor == "postgresql":
        return queryset.filter(
            by_number
            | Q(_fts(TICKET_FTS, query))
            | Q(pk__in=messages.filter(_fts(MESSAGE_FTS, query)).values("ticket_id"))
            | Q(customer_id__in=customers.filter(_fts(CUSTOMER_FTS, query)).values("pk"))
        )
    matches = Q()
    for word in query.split()[:8]:
        matches &= (
            Q(subject__icontains=word)
            | Q(pk__in=messages.filter(body_text__icontains=word).values("ticket_id"))
            | Q(customer__name__icontains=word)
            | Q(customer__email__icontains=word)
            | Q(customer__company__icontains=word)
        )
    return queryset.filter(by_number | matches)
