"""Assignment, macros, merge, repeat detection, bulk actions, tags and custom fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory, GroupFactory
from tickets import services
from tickets.models import CustomFieldDefinition, GroupMember, Message, Status, Ticket, TicketEvent
from tickets.services.assignment import member_set_away, ticket_auto_assign, ticket_take
from tickets.services.bulk import tickets_bulk_apply
from tickets.services.fields import (
    ticket_custom_fields_set,
    ticket_set_priority,
    ticket_tags_change,
)
from tickets.services.macros import macro_apply, macro_render, macro_save
from tickets.services.merge import ticket_merge, ticket_repeat_detect, topic_similarity


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant, name="Jo <b>Bold</b> Doe", email="jo@example.com")


def new_ticket(
    tenant, customer, subject="Cannot log in", body="My password reset mail never arrives", **kw
):
    return services.ticket_create(
        tenant=tenant, customer=customer, subject=subject, body=body, **kw
    )


def fresh(ticket):
    with tenant_context(ticket.tenant):
        return Ticket.objects.select_related("assignee").get(pk=ticket.pk)


def group_with(tenant, users, assignment):
    group = GroupFactory(tenant=tenant, assignment=assignment)
    with tenant_context(tenant):
        for user in users:
            GroupMember.objects.create(tenant=tenant, group=group, user=user)
    return group


@pytest.fixture
def three_agents(tenant, member_factory):
    return [member_factory(tenant, Role.AGENT, f"rr{i}@acme.test") for i in range(3)]


def route(tenant, customer, group, n):
    assigned = []
    for i in range(n):
        ticket = new_ticket(tenant, customer, subject=f"Question {i}")
        with tenant_context(tenant):
            Ticket.objects.filter(pk=ticket.pk).update(group=group)
        assigned.append(ticket_auto_assign(tenant=tenant, ticket=ticket))
    return assigned


def test_round_robin_is_fair_and_skips_agents_marked_away(
    tenant, customer, three_agents, admin_user
):
    group = group_with(tenant, three_agents, "round_robin")
    first = route(tenant, customer, group, 6)
    assert [u.pk for u in first] == [u.pk for u in three_agents] * 2
    member_set_away(tenant=tenant, actor=admin_user, user=three_agents[1], is_away=True)
    later = route(tenant, customer, group, 4)
    assert three_agents[1] not in later
    assert {u.pk for u in later} == {three_agents[0].pk, three_agents[2].pk}
    assert later.count(three_agents[0]) == later.count(three_agents[2]) == 2


def test_load_balanced_assigns_to_the_agent_with_fewest_open_tickets(
    tenant, customer, three_agents
):
    busy, free, medium = three_agents
    group = group_with(tenant, three_agents, "load_balanced")
    for _ in range(3):
        services.ticket_assign(
            tenant=tenant, actor=None, ticket=new_ticket(tenant, customer), assignee=busy
        )
    services.ticket_assign(
        tenant=tenant, actor=None, ticket=new_ticket(tenant, customer), assignee=medium
    )
    assert route(tenant, customer, group, 1) == [free]
    assert set(route(tenant, customer, group, 2)) == {free, medium}


def test_manual_group_and_empty_group_leave_tickets_unassigned(
    tenant, customer, three_agents, member_factory
):
    manual = group_with(tenant, three_agents, "manual")
    assert route(tenant, customer, manual, 1) == [None]
    observers = [member_factory(tenant, Role.OBSERVER, "obs@acme.test")]
    nobody = group_with(tenant, observers, "round_robin")
    assert route(tenant, customer, nobody, 1) == [None]


def test_take_it_assigns_to_me_and_observers_cannot(tenant, customer, agent, member_factory):
    ticket = new_ticket(tenant, customer)
    ticket_take(tenant=tenant, actor=agent, ticket=ticket)
    assert fresh(ticket).assignee == agent
    observer = member_factory(tenant, Role.OBSERVER, "obs@acme.test")
    with pytest.raises(ValidationError):
        ticket_take(tenant=tenant, actor=observer, ticket=ticket)


def test_assignee_from_another_tenant_is_refused(tenant, customer, other_agent):
    with pytest.raises(ValidationError):
        services.ticket_assign(
            tenant=tenant, actor=None, ticket=new_ticket(tenant, customer), assignee=other_agent
        )


def test_macro_renders_placeholders_and_escapes_them_in_html(tenant, customer, agent):
    macro = macro_save(
        tenant=tenant,
        actor=agent,
        name="Reset",
        body="Hi {{customer.first_name}}, about {{ticket.reference}}: {{agent.first_name}} here.",
        set_status=Status.PENDING,
        set_priority="high",
        add_tags=["Password Reset"],
    )
    ticket = new_ticket(tenant, customer)
    assert macro_render(tenant=tenant, macro=macro, ticket=ticket, agent=agent).startswith(
        "Hi Jo, about ACME-1:"
    )
    message = macro_apply(tenant=tenant, actor=agent, ticket=ticket, macro=macro)
    updated = fresh(ticket)
    assert (updated.status, updated.priority) == (Status.PENDING, "high")
    with tenant_context(tenant):
        assert list(updated.tags.values_list("name", flat=True)) == ["password-reset"]
    hostile = CustomerFactory(
        tenant=tenant, name="<script>alert(1)</script>", email="x@example.com"
    )
    other = new_ticket(tenant, hostile)
    message = macro_apply(
        tenant=tenant,
        actor=agent,
        ticket=other,
        macro=macro_save(tenant=tenant, actor=agent, name="Hello", body="Dear {{customer.name}}"),
    )
    assert "<script>" not in message.body_html
    assert "&lt;script&gt;" in message.body_html


def test_macro_with_unknown_placeholder_is_refused(tenant, agent):
    with pytest.raises(ValidationError, match=r"customer\.password"):
        macro_save(tenant=tenant, actor=agent, name="Bad", body="{{customer.password}}")


def test_merge_moves_messages_and_events_and_points_to_the_survivor(tenant, customer, agent):
    survivor = new_ticket(tenant, customer, subject="Login broken")
    duplicate = new_ticket(tenant, customer, subject="Login still broken")
    services.message_create(
        tenant=tenant, ticket=duplicate, body="Any news?", author_customer=customer
    )
    ticket_merge(tenant=tenant, actor=agent, source=duplicate, target=survivor)
    merged, kept = fresh(duplicate), fresh(survivor)
    assert merged.merged_into_id == survivor.pk
    assert merged.status == Status.CLOSED
    with tenant_context(tenant):
        assert Message.objects.filter(ticket=survivor).count() == 3
        assert not Message.objects.filter(ticket=duplicate).exists()
        assert TicketEvent.objects.filter(ticket=survivor, kind="ticket.merged_in").exists()
    assert kept.message_count == 3
    with pytest.raises(ValidationError):
        ticket_merge(tenant=tenant, actor=agent, source=survivor, target=survivor)


def test_repeat_detection_links_same_topic_within_the_window_only(tenant, customer):
    now = timezone.now()
    first = new_ticket(
        tenant, customer, subject="Charged twice for my order", at=now - timedelta(days=3)
    )
    unrelated = new_ticket(
        tenant,
        customer,
        subject="Feature idea: dark mode",
        body="Would love it",
        at=now - timedelta(days=1),
    )
    again = new_ticket(
        tenant,
        customer,
        subject="Charged twice again for order 1234",
        body="Still charged twice",
        at=now,
    )
    assert ticket_repeat_detect(tenant=tenant, ticket=again) == first
    assert fresh(again).repeat_of_id == first.pk
    assert ticket_repeat_detect(tenant=tenant, ticket=unrelated) is None
    old = new_ticket(tenant, customer, subject="Locked out of account", at=now - timedelta(days=30))
    later = new_ticket(tenant, customer, subject="Locked out of account", at=now)
    assert ticket_repeat_detect(tenant=tenant, ticket=later) != old


def test_a_new_ticket_on_the_same_topic_is_linked_as_a_repeat_when_it_is_created(
    tenant, customer, other_tenant
):
    now = timezone.now()
    first = new_ticket(tenant, customer, subject="Charged twice", at=now - timedelta(days=2))
    again = new_ticket(
        tenant, customer, subject="Charged twice for order 1234", body="Still charged twice"
    )
    other_topic = new_ticket(tenant, customer, subject="Feature idea: dark mode", body="Please")
    someone_else = new_ticket(
        tenant, CustomerFactory(tenant=tenant, email="kim@example.com"), subject="Charged twice"
    )
    # the same words in another helpdesk, from a customer with the same address, link nothing
    elsewhere = new_ticket(
        other_tenant,
        CustomerFactory(tenant=other_tenant, email="jo@example.com"),
        subject="Charged twice",
    )
    assert fresh(again).repeat_of_id == first.pk
    assert fresh(other_topic).repeat_of_id is None
    assert fresh(someone_else).repeat_of_id is None
    assert fresh(elsewhere).repeat_of_id is None
    with tenant_context(tenant):
        events = list(TicketEvent.objects.filter(ticket=again, kind="ticket.repeat_detected"))
    assert [(e.to_value, e.is_public) for e in events] == [(str(first.number), False)]
    # detecting again changes nothing and records nothing new
    assert ticket_repeat_detect(tenant=tenant, ticket=again) == first
    with tenant_context(tenant):
        assert TicketEvent.objects.filter(ticket=again, kind="ticket.repeat_detected").count() == 1


def test_topic_similarity_ignores_filler_words():
    assert topic_similarity("Please help: checkout page broken", "checkout page still broken") > 0.5
    assert topic_similarity("refund", "dark mode") == 0


def test_bulk_actions_apply_per_ticket_and_report_refusals(tenant, customer, agent):
    tickets = [new_ticket(tenant, customer, subject=f"T{i}") for i in range(3)]
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=tickets[0], status=Status.CLOSED)
    numbers = [t.number for t in tickets] + [999]
    result = tickets_bulk_apply(
        tenant=tenant, actor=agent, numbers=numbers, action="status", value=Status.PENDING
    )
    assert result.changed == 2
    assert set(result.errors) == {tickets[0].number, 999}
    assert fresh(tickets[1]).status == Status.PENDING
    assign = tickets_bulk_apply(
        tenant=tenant, actor=agent, numbers=numbers[1:3], action="assign", assignee=agent
    )
    assert assign.changed == 2 and fresh(tickets[2]).assignee == agent
    tagged = tickets_bulk_apply(
        tenant=tenant, actor=agent, numbers=numbers[1:3], action="tag", value="outage"
    )
    assert tagged.changed == 2


def test_bulk_cannot_touch_another_tenants_tickets(tenant, other_tenant, agent):
    foreign = new_ticket(other_tenant, CustomerFactory(tenant=other_tenant))
    result = tickets_bulk_apply(
        tenant=tenant, actor=agent, numbers=[foreign.number], action="close"
    )
    assert result.changed == 0
    assert fresh(foreign).status == Status.NEW


def test_priority_and_tags_are_timeline_events(tenant, customer, agent):
    ticket = new_ticket(tenant, customer)
    ticket_set_priority(tenant=tenant, actor=agent, ticket=ticket, priority="urgent")
    assert ticket_tags_change(
        tenant=tenant, actor=agent, ticket=ticket, add=["VIP", "billing"]
    ) == ["billing", "vip"]
    assert ticket_tags_change(tenant=tenant, actor=agent, ticket=ticket, remove=["vip"]) == [
        "billing"
    ]
    with tenant_context(tenant):
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds.count("ticket.tags_changed") == 2 and "ticket.priority_changed" in kinds
    with pytest.raises(ValidationError):
        ticket_set_priority(tenant=tenant, actor=agent, ticket=ticket, priority="whenever")


def test_custom_fields_are_typed_per_tenant(tenant, customer, agent):
    with tenant_context(tenant):
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="order", label="Order", kind="number"
        )
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="plan", label="Plan", kind="choice", choices=["free", "pro"]
        )
        CustomFieldDefinition.objects.create(tenant=tenant, key="since", label="Since", kind="date")
    ticket = new_ticket(tenant, customer)
    values = ticket_custom_fields_set(
        tenant=tenant,
        actor=agent,
        ticket=ticket,
        values={"order": "1042", "plan": "pro", "since": "2026-01-31"},
    )
    assert values == {"order": "1042", "plan": "pro", "since": "2026-01-31"}
    for bad in ({"order": "abc"}, {"plan": "gold"}, {"since": "31/01/2026"}, {"unknown": "x"}):
        with pytest.raises(ValidationError):
            ticket_custom_fields_set(tenant=tenant, actor=agent, ticket=ticket, values=bad)


def test_membership_away_flag_is_per_tenant(tenant, other_tenant, agent, admin_user):
    Membership.objects.create(tenant=other_tenant, user=agent, role=Role.AGENT)
    member_set_away(tenant=tenant, actor=admin_user, user=agent, is_away=True)
    assert Membership.objects.get(tenant=tenant, user=agent).is_away
    assert not Membership.objects.get(tenant=other_tenant, user=agent).is_away


def test_an_unknown_status_is_a_validation_error_not_a_crash(tenant, customer, agent):
    ticket = new_ticket(tenant, customer)
    with pytest.raises(ValidationError):
        services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="vanished")
    result = tickets_bulk_apply(
        tenant=tenant, actor=agent, numbers=[ticket.number], action="status", value="vanished"
    )
    assert result.changed == 0 and ticket.number in result.errors
