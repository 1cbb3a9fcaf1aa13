"""The customer's public timeline: public replies and public events in customer words; never
internal notes, internal fields (escalation reasons, group names, tags, priorities, SLA) or
another customer's messages; catch-up by cursor; a fixed number of queries."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory, GroupFactory
from tests.tickets.test_status_services import make_ticket, reload
from tickets import selectors_status, services
from tickets.services.escalation import ticket_escalate_and_route
from tickets.services.fields import (
    ticket_custom_fields_set,
    ticket_set_priority,
    ticket_tags_change,
)
from tickets.services.merge import ticket_merge


def timeline(ticket):
    with tenant_context(ticket.tenant):
        return selectors_status.status_timeline(tenant=ticket.tenant, ticket=reload(ticket))


def flat(entries) -> str:
    return repr([entry.as_dict() for entry in entries])


def test_public_replies_and_public_events_appear_in_customer_words(tenant, agent):
    agent.full_name = "Dana Scully"
    agent.save(update_fields=["full_name"])
    ticket = make_ticket(tenant, body="My card was charged twice")
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    services.message_create(tenant=tenant, ticket=ticket, body="Refund sent", author_user=agent)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    entries = timeline(ticket)
    assert [(e.kind, e.text) for e in entries] == [
        ("update", "We received your request."),
        ("message", "My card was charged twice"),
        ("update", "Dana is now handling your request."),
        ("message", "Refund sent"),
        ("update", "We are working on your request."),
        ("update", "We marked your request as resolved."),
    ]
    mine, reply = entries[1], entries[3]
    assert mine.mine and mine.author == "You"
    assert not reply.mine and reply.author == "Dana" and "<p>Refund sent</p>" in reply.html
    cursors = [e.cursor for e in entries]
    assert cursors == sorted(cursors)


def test_internal_notes_and_internal_fields_never_appear(tenant, agent):
    specialists = GroupFactory(tenant=tenant, name="GROUP-SECRET", tier=2)
    ticket = make_ticket(tenant)
    services.message_create(
        tenant=tenant, ticket=ticket, body="NOTE-SECRET", author_user=agent, is_internal=True
    )
    ticket_escalate_and_route(
        tenant=tenant, actor=agent, ticket=ticket, group=specialists, reason="REASON-SECRET"
    )
    ticket_set_priority(tenant=tenant, actor=agent, ticket=ticket, priority="urgent")
    ticket_tags_change(tenant=tenant, actor=agent, ticket=ticket, add=["tag-secret"], remove=[])
    ticket_custom_fields_set(tenant=tenant, actor=agent, ticket=ticket, values={})
    text = flat(timeline(ticket))
    for secret in ("NOTE-SECRET", "REASON-SECRET", "GROUP-SECRET", "tag-secret", "urgent"):
        assert secret not in text
    assert "A specialist is now looking into your request." in text
    assert agent.email not in text


def test_another_customers_messages_never_appear_even_after_a_merge(tenant, agent):
    alice = CustomerFactory(tenant=tenant, name="Alice")
    bob = CustomerFactory(tenant=tenant, name="Bob")
    alices = make_ticket(tenant, customer=alice, body="Alice writes")
    bobs = make_ticket(tenant, customer=bob, body="BOB-PRIVATE message")
    ticket_merge(tenant=tenant, actor=agent, source=bobs, target=alices)
    text = flat(timeline(alices))
    assert "Alice writes" in text and "BOB-PRIVATE" not in text
    merged = timeline(bobs)
    assert [e.text for e in merged] == [
        "This request was combined with another one; updates continue there."
    ]


def test_events_since_a_cursor_with_a_limit_and_more(tenant, agent):
    ticket = make_ticket(tenant)
    start = timeline(ticket)[-1].cursor
    for n in range(3):
        services.message_create(tenant=tenant, ticket=ticket, body=f"reply {n}", author_user=agent)
    services.message_create(
        tenant=tenant, ticket=ticket, body="hidden", author_user=agent, is_internal=True
    )
    with tenant_context(tenant):
        ticket = reload(ticket)
        entries, more = selectors_status.status_events_since(
            tenant=tenant, ticket=ticket, cursor=start
        )
        assert [e.text for e in entries if e.kind == "message"] == [
            "reply 0",
            "reply 1",
            "reply 2",
        ]
        assert not more and all(e.cursor > start for e in entries)
        first_two, more = selectors_status.status_events_since(
            tenant=tenant, ticket=ticket, cursor=start, limit=2
        )
        assert more and len(first_two) == 2
        latest = selectors_status.status_latest_cursor(tenant=tenant, ticket=ticket)
        assert selectors_status.status_events_since(
            tenant=tenant, ticket=ticket, cursor=latest
        ) == (
            [],
            False,
        )


def test_the_timeline_takes_two_queries_however_long_it_is(
    tenant, agent, django_assert_num_queries
):
    ticket = make_ticket(tenant)
    for n in range(10):
        services.message_create(tenant=tenant, ticket=ticket, body=f"reply {n}", author_user=agent)
    ticket = reload(ticket)
    with tenant_context(tenant):
        with django_assert_num_queries(2):
            entries = selectors_status.status_timeline(tenant=tenant, ticket=ticket)
            authors = [e.author for e in entries if e.kind == "message"]
    assert authors == ["You"] + [agent.first_name] * 10


def test_the_queue_ahead_counts_earlier_waiting_requests_of_the_same_tenant(
    tenant, other_tenant, agent
):
    earlier = make_ticket(tenant)
    answered = make_ticket(tenant)
    services.message_create(tenant=tenant, ticket=answered, body="Hi", author_user=agent)
    make_ticket(other_tenant)
    mine = make_ticket(tenant)
    make_ticket(tenant)  # later: not ahead
    with tenant_context(tenant):
        assert selectors_status.status_queue_ahead(tenant=tenant, ticket=reload(mine)) == 1
    services.message_create(tenant=tenant, ticket=earlier, body="Hi", author_user=agent)
    with tenant_context(tenant):
        assert selectors_status.status_queue_ahead(tenant=tenant, ticket=reload(mine)) == 0


@pytest.mark.parametrize("kind", ["ticket.created", "ticket.status_changed", "ticket.assigned"])
def test_every_public_event_kind_has_customer_words(kind):
    from tickets.models import TicketEvent

    event = TicketEvent(kind=kind, to_value="pending", data={"assignee_first_name": "Dana"})
    assert selectors_status.event_public_text(event)
