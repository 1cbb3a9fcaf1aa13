"""Queue views, filters, sorting, keyset pagination and full-text search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory, TicketFactory
from tickets import services
from tickets.models import Status
from tickets.queue import QueueFilters, queue_page


def page(tenant, user, query="", cursor="", size=50):
    with tenant_context(tenant):
        return queue_page(
            tenant=tenant,
            user=user,
            filters=QueueFilters.from_params(QueryDict(query)),
            cursor=cursor,
            size=size,
        )


def numbers(result):
    return [t.number for t in result.tickets]


def test_views_mine_unassigned_open_solved(tenant, agent):
    mine = TicketFactory(tenant=tenant, assignee=agent, status=Status.OPEN)
    unassigned = TicketFactory(tenant=tenant, status=Status.NEW)
    solved = TicketFactory(tenant=tenant, status=Status.SOLVED)
    assert numbers(page(tenant, agent, "view=mine")) == [mine.number]
    assert numbers(page(tenant, agent, "view=unassigned")) == [unassigned.number]
    assert set(numbers(page(tenant, agent, "view=open"))) == {mine.number, unassigned.number}
    assert numbers(page(tenant, agent, "view=solved")) == [solved.number]


def test_filters_combine_and_bad_values_are_ignored(tenant, agent):
    urgent_email = TicketFactory(
        tenant=tenant, priority="urgent", channel="email", status=Status.OPEN
    )
    TicketFactory(tenant=tenant, priority="urgent", channel="chat", status=Status.OPEN)
    TicketFactory(tenant=tenant, priority="low", channel="email", status=Status.OPEN)
    assert numbers(page(tenant, agent, "priority=urgent&channel=email")) == [urgent_email.number]
    assert (
        len(
            page(
                tenant, agent, "priority=whatever&channel=pigeon&assignee=';drop&sort=evil"
            ).tickets
        )
        == 3
    )


def test_keyset_pages_cover_everything_once_in_order(tenant, agent):
    base = timezone.now()
    made = [
        TicketFactory(tenant=tenant, status=Status.OPEN, updated_at=base - timedelta(minutes=i % 4))
        for i in range(23)
    ]
    seen, cursor = [], ""
    while True:
        result = page(tenant, agent, "view=open", cursor=cursor, size=5)
        seen += result.tickets
        if not result.next_cursor:
            break
        cursor = result.next_cursor
    assert sorted(t.pk for t in seen) == sorted(t.pk for t in made)
    keys = [(t.updated_at, t.pk) for t in seen]
    assert keys == sorted(keys, reverse=True)


def test_priority_sort_puts_urgent_first(tenant, agent):
    low = TicketFactory(tenant=tenant, priority="low", status=Status.OPEN)
    urgent = TicketFactory(tenant=tenant, priority="urgent", status=Status.OPEN)
    assert numbers(page(tenant, agent, "sort=-priority"))[:1] == [urgent.number]
    assert numbers(page(tenant, agent, "sort=priority"))[:1] == [low.number]


def test_a_garbled_cursor_starts_from_the_top(tenant, agent):
    TicketFactory(tenant=tenant, status=Status.OPEN)
    assert len(page(tenant, agent, cursor="!!not-a-cursor").tickets) == 1


def test_query_count_does_not_grow_with_page_size(tenant, agent):
    for _ in range(30):
        TicketFactory(tenant=tenant, status=Status.OPEN, assignee=agent)
    with CaptureQueriesContext(connection) as small:
        page(tenant, agent, size=2)
    with CaptureQueriesContext(connection) as large:
        assert len(page(tenant, agent, size=30).tickets) == 30
    assert len(small) == len(large)


def test_search_finds_subject_message_customer_and_number(tenant, other_tenant, agent):
    jo = CustomerFactory(tenant=tenant, name="Josephine Quirk", email="jq@example.com")
    by_subject = services.ticket_create(
        tenant=tenant, customer=jo, subject="Invoice shows hidden fees", body="hello"
    )
    by_body = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant),
        subject="Question",
        body="The checkout page keeps spinning forever",
    )
    services.ticket_create(
        tenant=other_tenant,
        customer=CustomerFactory(tenant=other_tenant),
        subject="hidden fees at Globex",
        body="checkout spinning",
    )
    assert numbers(page(tenant, agent, "view=all&q=hidden fee")) == [by_subject.number]
    assert numbers(page(tenant, agent, "view=all&q=checkout spinning")) == [by_body.number]
    assert numbers(page(tenant, agent, "view=all&q=Quirk")) == [by_subject.number]
    assert numbers(page(tenant, agent, f"view=all&q={by_body.number}")) == [by_body.number]


@pytest.mark.postgres_only
def test_postgres_search_uses_stemming_and_the_gin_indexes(tenant, agent):
    services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant),
        subject="Refunds",
        body="I was charged twice",
    )
    assert (
        len(page(tenant, agent, "view=all&q=charging").tickets) == 1
    )  # stemmed: charged ~ charging
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%fts_idx'")
        assert {row[0] for row in cursor.fetchall()} == {
            "ticket_subject_fts_idx",
            "message_body_fts_idx",
            "customer_fts_idx",
        }
