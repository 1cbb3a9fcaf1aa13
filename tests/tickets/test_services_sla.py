"""SLA services: policy choice, due dates kept current by messages and status, the periodic check.

Time is frozen by passing ``at``/``now`` explicitly. The ``tenant`` fixture is in Europe/Berlin
with the default hours (Mon-Fri 09:00-17:00); 2026-03-02 is a Monday.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.realtime.groups import agent_group
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import UserFactory
from tests.factories.tickets import CustomerFactory, GroupFactory, SlaPolicyFactory, TicketFactory
from tickets import services
from tickets.models import GroupMember, Notification, Status, Ticket, TicketEvent

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


MONDAY_9 = berlin(2026, 3, 2, 9, 0)


def reload(ticket: Ticket) -> Ticket:
    with tenant_context(ticket.tenant):
        return Ticket.objects.select_related("tenant", "customer").get(pk=ticket.pk)


def set_fields(obj, **fields) -> None:
    with tenant_context(obj.tenant):
        for name, value in fields.items():
            setattr(obj, name, value)
        obj.save(update_fields=list(fields))


def events_of(ticket: Ticket, prefix: str = "sla.") -> list[TicketEvent]:
    with tenant_context(ticket.tenant):
        return list(
            TicketEvent.objects.filter(ticket=ticket, kind__startswith=prefix).order_by("id")
        )


def notifications_for(tenant, user) -> list[Notification]:
    with tenant_context(tenant):
        return list(Notification.objects.filter(user=user, kind="sla").order_by("id"))


def new_ticket(tenant, at: datetime, **fields) -> Ticket:
    """A ticket (via the factory) with its SLA applied at creation time."""
    ticket = TicketFactory(tenant=tenant, created_at=at, updated_at=at, **fields)
    return services.sla_apply(tenant=tenant, ticket=ticket, at=at)


def create_via_service(tenant, at: datetime, priority: str = "normal", customer=None) -> Ticket:
    customer = customer or CustomerFactory(tenant=tenant)
    return services.ticket_create(
        tenant=tenant,
        customer=customer,
        subject="Printer on fire",
        body="It is really on fire.",
        priority=priority,
        at=at,
    )


def staff_reply(tenant, ticket, agent, at, *, internal: bool = False):
    return services.message_create(
        tenant=tenant, ticket=ticket, body="On it.", author_user=agent, is_internal=internal, at=at
    )


def customer_reply(tenant, ticket, at):
    return services.message_create(
        tenant=tenant, ticket=ticket, body="Any news?", author_customer=ticket.customer, at=at
    )


# --- choosing a policy ---------------------------------------------------------------------


def chosen(tenant, ticket):
    return services.sla_policy_for(tenant=tenant, ticket=ticket)


def test_company_match_beats_tag_match_beats_priority_and_inactive_policies_are_ignored(tenant):
    customer = CustomerFactory(tenant=tenant, company="Initech", tags=["vip", "beta"])
    ticket = TicketFactory(tenant=tenant, customer=customer, priority="high")
    catch_all = SlaPolicyFactory(tenant=tenant, name="Everyone", position=0)
    by_priority = SlaPolicyFactory(tenant=tenant, priority="high", position=1)
    by_tag = SlaPolicyFactory(tenant=tenant, match_tag="VIP", position=2)
    by_company = SlaPolicyFactory(tenant=tenant, match_company=" initech ", position=3)
    assert chosen(tenant, ticket) == by_company
    set_fields(by_company, is_active=False)
    assert chosen(tenant, ticket) == by_tag
    set_fields(by_tag, is_active=False)
    assert chosen(tenant, ticket) == by_priority
    set_fields(by_priority, is_active=False)
    assert chosen(tenant, ticket) == catch_all
    set_fields(catch_all, is_active=False)
    assert chosen(tenant, ticket) is None


def test_every_non_empty_condition_must_match(tenant):
    customer = CustomerFactory(tenant=tenant, company="Initech", tags=["beta"])
    ticket = TicketFactory(tenant=tenant, customer=customer, priority="low")
    SlaPolicyFactory(tenant=tenant, match_company="Initech", priority="urgent")
    SlaPolicyFactory(tenant=tenant, match_company="Initech", match_tag="vip")
    SlaPolicyFactory(tenant=tenant, match_company="Globex")
    SlaPolicyFactory(tenant=tenant, priority="high")
    fallback = SlaPolicyFactory(tenant=tenant, match_tag="beta", priority="low")
    assert chosen(tenant, ticket) == fallback


def test_more_conditions_win_and_ties_go_to_the_lowest_position(tenant):
    customer = CustomerFactory(tenant=tenant, company="Initech", tags=["vip"])
    ticket = TicketFactory(tenant=tenant, customer=customer, priority="urgent")
    SlaPolicyFactory(tenant=tenant, match_company="Initech", position=1)
    full = SlaPolicyFactory(
        tenant=tenant, match_company="Initech", match_tag="vip", priority="urgent", position=9
    )
    assert chosen(tenant, ticket) == full
    earlier = SlaPolicyFactory(
        tenant=tenant, match_company="Initech", match_tag="vip", priority="urgent", position=5
    )
    assert chosen(tenant, ticket) == earlier


def test_another_tenants_policies_are_never_chosen(tenant, other_tenant):
    ticket = TicketFactory(tenant=tenant, priority="high")
    SlaPolicyFactory(tenant=other_tenant, priority="high")
    assert chosen(tenant, ticket) is None


# --- due dates -------------------------------------------------------------------------------


def test_ticket_create_sets_due_dates_in_business_time(tenant):
    high = SlaPolicyFactory(tenant=tenant, priority="high", first_response_minutes=60)
    SlaPolicyFactory(tenant=tenant, priority="low", first_response_minutes=480)
    friday_afternoon = berlin(2026, 3, 6, 16, 30)
    ticket = create_via_service(tenant, friday_afternoon, priority="high")
    for loaded in (ticket, reload(ticket)):
        assert loaded.sla_policy_id == high.pk
        assert loaded.first_response_due_at == berlin(2026, 3, 9, 9, 30)  # Monday
        # 960 minutes: 30 on Friday, 480 on Monday, 450 on Tuesday.
        assert loaded.resolution_due_at == berlin(2026, 3, 10, 16, 30)
        assert loaded.next_response_due_at is None
        assert (loaded.sla_stage, loaded.sla_breached_at) == (0, None)


def test_without_a_matching_policy_there_are_no_due_dates(tenant):
    SlaPolicyFactory(tenant=tenant, priority="urgent")
    ticket = reload(create_via_service(tenant, MONDAY_9, priority="low"))
    assert ticket.sla_policy is None
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (None, None)


def test_replies_clear_and_start_the_response_targets(tenant, agent):
    SlaPolicyFactory(tenant=tenant, next_response_minutes=120)
    ticket = create_via_service(tenant, MONDAY_9)
    resolution_due = ticket.resolution_due_at

    customer_reply(tenant, ticket, berlin(2026, 3, 2, 9, 5))  # before any staff reply
    ticket = reload(ticket)
    assert ticket.first_response_due_at == berlin(2026, 3, 2, 10, 0)
    assert ticket.next_response_due_at is None

    staff_reply(tenant, ticket, agent, berlin(2026, 3, 2, 9, 20))
    ticket = reload(ticket)
    assert (ticket.first_response_due_at, ticket.next_response_due_at) == (None, None)
    assert ticket.first_response_at == berlin(2026, 3, 2, 9, 20)
    assert ticket.resolution_due_at == resolution_due

    customer_reply(tenant, ticket, berlin(2026, 3, 2, 16, 0))
    ticket = reload(ticket)
    assert ticket.next_response_due_at == berlin(2026, 3, 3, 10, 0)  # 60 today, 60 tomorrow

    customer_reply(tenant, ticket, berlin(2026, 3, 3, 9, 30))  # the clock restarts
    assert reload(ticket).next_response_due_at == berlin(2026, 3, 3, 11, 30)

    staff_reply(tenant, ticket, agent, berlin(2026, 3, 3, 9, 40), internal=True)
    assert reload(ticket).next_response_due_at == berlin(2026, 3, 3, 11, 30)

    staff_reply(tenant, ticket, agent, berlin(2026, 3, 3, 10, 0))
    ticket = reload(ticket)
    assert ticket.next_response_due_at is None
    assert ticket.resolution_due_at == resolution_due


def test_solving_clears_due_dates_and_a_customer_reopening_restores_them(tenant, agent):
    SlaPolicyFactory(tenant=tenant)
    ticket = create_via_service(tenant, MONDAY_9)
    resolution_due = ticket.resolution_due_at
    staff_reply(tenant, ticket, agent, berlin(2026, 3, 2, 9, 30))
    services.ticket_set_status(
        tenant=tenant, actor=agent, ticket=ticket, status=Status.SOLVED, at=berlin(2026, 3, 2, 10)
    )
    ticket = reload(ticket)
    assert (ticket.first_response_due_at, ticket.next_response_due_at) == (None, None)
    assert ticket.resolution_due_at is None

    customer_reply(tenant, ticket, berlin(2026, 3, 2, 11, 0))
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.resolution_due_at == resolution_due
    assert ticket.next_response_due_at == berlin(2026, 3, 2, 13, 0)
    assert ticket.first_response_due_at is None


def test_an_agent_reopening_restores_the_pending_targets(tenant, agent):
    SlaPolicyFactory(tenant=tenant)
    ticket = create_via_service(tenant, MONDAY_9)
    services.ticket_set_status(
        tenant=tenant, actor=agent, ticket=ticket, status=Status.SOLVED, at=berlin(2026, 3, 2, 10)
    )
    services.ticket_set_status(
        tenant=tenant, actor=agent, ticket=ticket, status=Status.OPEN, at=berlin(2026, 3, 2, 11)
    )
    ticket = reload(ticket)
    # Nobody has replied yet: the first response is pending again; resolution counts from creation.
    assert ticket.first_response_due_at == berlin(2026, 3, 2, 10, 0)
    assert ticket.resolution_due_at == berlin(2026, 3, 3, 17, 0)


def test_closing_stops_the_clock(tenant, agent):
    SlaPolicyFactory(tenant=tenant)
    ticket = create_via_service(tenant, MONDAY_9)
    services.ticket_set_status(
        tenant=tenant, actor=agent, ticket=ticket, status=Status.CLOSED, at=berlin(2026, 3, 2, 10)
    )
    ticket = reload(ticket)
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (None, None)
    assert services.sla_check(tenant=tenant, now=berlin(2026, 3, 9, 12))["checked"] == 0


def test_a_priority_change_recomputes_the_policy_and_keeps_met_targets_cleared(tenant, agent):
    normal = SlaPolicyFactory(tenant=tenant, priority="normal", resolution_minutes=2400)
    urgent = SlaPolicyFactory(
        tenant=tenant,
        priority="urgent",
        first_response_minutes=15,
        next_response_minutes=30,
        resolution_minutes=240,
    )
    ticket = create_via_service(tenant, MONDAY_9)
    assert ticket.sla_policy_id == normal.pk
    staff_reply(tenant, ticket, agent, berlin(2026, 3, 2, 9, 10))
    customer_reply(tenant, ticket, berlin(2026, 3, 2, 9, 20))
    ticket = reload(ticket)
    set_fields(ticket, priority="urgent")

    services.sla_apply(tenant=tenant, ticket=ticket, at=berlin(2026, 3, 2, 9, 25))
    ticket = reload(ticket)
    assert ticket.sla_policy_id == urgent.pk
    assert ticket.first_response_due_at is None  # already met
    assert ticket.next_response_due_at == berlin(2026, 3, 2, 9, 50)  # still pending
    assert ticket.resolution_due_at == berlin(2026, 3, 2, 13, 0)


def test_a_met_target_or_a_looser_policy_lowers_the_stage(tenant, agent):
    SlaPolicyFactory(tenant=tenant, priority="normal", first_response_minutes=60)
    SlaPolicyFactory(tenant=tenant, priority="low", first_response_minutes=600)
    ticket = new_ticket(tenant, MONDAY_9, assignee=agent)
    services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, 9, 50))
    assert reload(ticket).sla_stage == 75

    set_fields(ticket, priority="low")
    services.sla_apply(tenant=tenant, ticket=reload(ticket), at=berlin(2026, 3, 2, 9, 55))
    assert reload(ticket).sla_stage == 0  # 55 of 600 minutes

    # The stage never goes up outside the check: back to normal, 55 of 60 minutes used.
    set_fields(ticket, priority="normal")
    services.sla_apply(tenant=tenant, ticket=reload(ticket), at=berlin(2026, 3, 2, 9, 55))
    assert reload(ticket).sla_stage == 0
    services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, 9, 55))
    assert reload(ticket).sla_stage == 75
    staff_reply(tenant, reload(ticket), agent, berlin(2026, 3, 2, 9, 58))
    assert reload(ticket).sla_stage == 0  # only the resolution target is left, barely started


# --- the periodic check ----------------------------------------------------------------------


def test_stages_rise_at_50_75_and_past_the_due_time_with_one_event_each(tenant, agent):
    SlaPolicyFactory(tenant=tenant, first_response_minutes=60)
    ticket = new_ticket(tenant, MONDAY_9, assignee=agent)

    def check(hour, minute):
        return services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, hour, minute))

    assert check(9, 29)["raised"] == 0
    assert check(9, 30) == {
        "checked": 1,
        "raised": 1,
        "at_risk": 1,
        "breached": 0,
        "notifications": 1,
    }
    assert reload(ticket).sla_stage == 50
    assert check(9, 44)["raised"] == 0
    assert check(9, 45)["raised"] == 1
    assert check(10, 0)["raised"] == 0  # due now, not past due
    assert reload(ticket).sla_breached_at is None
    assert check(10, 1)["breached"] == 1
    assert check(10, 30) == {
        "checked": 0,
        "raised": 0,
        "at_risk": 0,
        "breached": 0,
        "notifications": 0,
    }

    ticket = reload(ticket)
    assert (ticket.sla_stage, ticket.sla_breached_at) == (100, berlin(2026, 3, 2, 10, 1))
    events = events_of(ticket)
    assert [(e.kind, e.data["stage"], e.data["target"]) for e in events] == [
        ("sla.at_risk", 50, "first_response"),
        ("sla.at_risk", 75, "first_response"),
        ("sla.breached", 100, "first_response"),
    ]
    assert not any(e.is_public for e in events)
    assert datetime.fromisoformat(events[-1].data["due_at"]) == berlin(2026, 3, 2, 10, 0)
    assert len(notifications_for(tenant, agent)) == 3


def test_only_business_time_counts_towards_the_stage(tenant, agent):
    SlaPolicyFactory(tenant=tenant, first_response_minutes=60)
    ticket = new_ticket(tenant, berlin(2026, 3, 6, 16, 45), assignee=agent)  # Friday
    assert ticket.first_response_due_at == berlin(2026, 3, 9, 9, 45)
    services.sla_check(tenant=tenant, now=berlin(2026, 3, 8, 12, 0))  # Sunday: 15 of 60
    assert reload(ticket).sla_stage == 0
    services.sla_check(tenant=tenant, now=berlin(2026, 3, 9, 9, 30))  # 45 of 60: straight to 75
    assert [(e.kind, e.data["stage"]) for e in events_of(ticket)] == [("sla.at_risk", 75)]


def test_a_late_check_records_only_the_breach(tenant, agent):
    SlaPolicyFactory(tenant=tenant)
    ticket = new_ticket(tenant, MONDAY_9, assignee=agent)
    result = services.sla_check(tenant=tenant, now=berlin(2026, 3, 3, 9, 0))
    assert (result["at_risk"], result["breached"]) == (0, 1)
    assert [e.kind for e in events_of(ticket)] == ["sla.breached"]


def test_the_target_with_the_highest_share_decides(tenant, agent):
    SlaPolicyFactory(tenant=tenant, next_response_minutes=120, resolution_minutes=960)
    ticket = create_via_service(tenant, MONDAY_9)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    staff_reply(tenant, ticket, agent, berlin(2026, 3, 2, 9, 10))
    customer_reply(tenant, ticket, berlin(2026, 3, 2, 10, 0))  # next response due 12:00
    services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, 11, 0))  # next 50%, resolution 12.5%
    (event,) = events_of(ticket)
    assert (event.data["stage"], event.data["target"]) == (50, "next_response")


def test_a_burst_of_tickets_gives_each_person_one_notification_per_run(
    tenant, agent, member_factory, django_capture_on_commit_callbacks
):
    colleague = member_factory(tenant, Role.AGENT, "colleague@acme.test")
    SlaPolicyFactory(tenant=tenant)
    tickets = [new_ticket(tenant, MONDAY_9, assignee=agent) for _ in range(20)]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(agent_group(tenant.pk, agent.pk), channel)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, 10, 30))

    assert (result["raised"], result["breached"], result["notifications"]) == (20, 20, 1)
    (notice,) = notifications_for(tenant, agent)
    assert notice.title == "20 tickets need attention"
    assert notice.data["tickets"] == sorted(t.number for t in tickets)
    assert (
        notice.body.splitlines()[0] == f"ACME-{tickets[0].number}: first response target breached"
    )
    assert len(notice.body.splitlines()) == 20
    assert notifications_for(tenant, colleague) == []
    pushed = [
        message["payload"]
        for message in drain(layer, channel)
        if message.get("type") == "notify" and message["payload"].get("id") == notice.pk
    ]
    assert len(pushed) == 1
    assert (pushed[0]["kind"], pushed[0]["title"]) == ("sla", "20 tickets need attention")
    assert len(pushed[0]["data"]["tickets"]) == 20


def drain(layer, channel) -> list[dict]:
    async def collect() -> list[dict]:
        received = []
        while True:
            try:
                received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
            except TimeoutError:
                return received

    return async_to_sync(collect)()


def test_unassigned_tickets_notify_every_member_of_their_group(tenant, agent, member_factory):
    first = member_factory(tenant, Role.AGENT, "first@acme.test")
    second = member_factory(tenant, Role.AGENT, "second@acme.test")
    former = UserFactory(email="former@acme.test")  # still in the group, no longer a member
    group = GroupFactory(tenant=tenant)
    with tenant_context(tenant):
        for user in (first, second, former):
            GroupMember.objects.create(tenant=tenant, group=group, user=user)
    SlaPolicyFactory(tenant=tenant)
    unassigned = [new_ticket(tenant, MONDAY_9, group=group) for _ in range(2)]
    new_ticket(tenant, MONDAY_9, group=group, assignee=agent)
    new_ticket(tenant, MONDAY_9)  # nobody to tell: still recorded on the timeline

    result = services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, 9, 40))

    assert (result["raised"], result["notifications"]) == (4, 3)
    for person in (first, second):
        (notice,) = notifications_for(tenant, person)
        assert notice.title == "2 tickets need attention"
        assert notice.data["tickets"] == [t.number for t in unassigned]
        assert [item["stage"] for item in notice.data["items"]] == [50, 50]
    (mine,) = notifications_for(tenant, agent)
    assert mine.title == "1 ticket needs attention"
    assert "50% of the first response time used" in mine.body
    assert notifications_for(tenant, former) == []


def test_one_notice_covers_assigned_and_group_tickets(tenant, agent):
    group = GroupFactory(tenant=tenant)
    with tenant_context(tenant):
        GroupMember.objects.create(tenant=tenant, group=group, user=agent)
    SlaPolicyFactory(tenant=tenant)
    new_ticket(tenant, MONDAY_9, assignee=agent)
    new_ticket(tenant, berlin(2026, 3, 2, 9, 20), assignee=agent)
    new_ticket(tenant, MONDAY_9, group=group)
    services.sla_check(tenant=tenant, now=berlin(2026, 3, 2, 10, 5))
    (notice,) = notifications_for(tenant, agent)
    assert notice.title == "3 tickets need attention"
    assert [item["stage"] for item in notice.data["items"]] == [100, 100, 75]


def test_a_check_never_touches_another_tenants_tickets(tenant, other_tenant, agent, other_agent):
    SlaPolicyFactory(tenant=tenant)
    SlaPolicyFactory(tenant=other_tenant)
    mine = new_ticket(tenant, MONDAY_9, assignee=agent)
    theirs = new_ticket(other_tenant, MONDAY_9, assignee=other_agent)

    result = services.sla_check(tenant=tenant, now=berlin(2026, 3, 4, 9, 0))

    assert (result["checked"], result["breached"]) == (1, 1)
    assert reload(mine).sla_stage == 100
    theirs = reload(theirs)
    assert (theirs.sla_stage, theirs.sla_breached_at) == (0, None)
    assert events_of(theirs) == []
    assert notifications_for(other_tenant, other_agent) == []
    assert services.sla_check(tenant=other_tenant, now=berlin(2026, 3, 4, 9, 0))["breached"] == 1


def test_a_second_run_at_the_same_moment_changes_nothing(tenant, agent):
    SlaPolicyFactory(tenant=tenant)
    tickets = [new_ticket(tenant, MONDAY_9, assignee=agent) for _ in range(3)]
    now = berlin(2026, 3, 2, 9, 50)
    assert services.sla_check(tenant=tenant, now=now)["raised"] == 3
    assert services.sla_check(tenant=tenant, now=now) == {
        "checked": 3,
        "raised": 0,
        "at_risk": 0,
        "breached": 0,
        "notifications": 0,
    }
    assert len(notifications_for(tenant, agent)) == 1
    assert [len(events_of(t)) for t in tickets] == [1, 1, 1]


def test_tickets_that_are_not_open_are_ignored(tenant, agent):
    SlaPolicyFactory(tenant=tenant)
    ticket = new_ticket(tenant, MONDAY_9, assignee=agent)
    set_fields(ticket, status=Status.CLOSED)  # due dates left behind on purpose
    assert services.sla_check(tenant=tenant, now=berlin(2026, 3, 9, 9, 0))["checked"] == 0
    assert reload(ticket).sla_stage == 0


def count_queries(tenant, now) -> int:
    with CaptureQueriesContext(connection) as captured:
        services.sla_check(tenant=tenant, now=now)
    return len(captured)


def test_query_count_does_not_grow_with_the_number_of_tickets(
    tenant, agent, other_tenant, other_agent
):
    SlaPolicyFactory(tenant=tenant)
    SlaPolicyFactory(tenant=other_tenant)
    for _ in range(2):
        new_ticket(tenant, MONDAY_9, assignee=agent)
    for _ in range(20):
        new_ticket(other_tenant, MONDAY_9, assignee=other_agent)
    quiet = berlin(2026, 3, 2, 9, 10)
    assert count_queries(tenant, quiet) == count_queries(other_tenant, quiet)
    # When stages rise: one conditional update and one event row per ticket, the rest constant.
    busy = berlin(2026, 3, 2, 9, 40)
    assert count_queries(other_tenant, busy) - count_queries(tenant, busy) == 18 * 2


def test_malformed_business_hours_fall_back_to_24_7_instead_of_failing_ticket_creation(tenant):
    tenant.business_hours = {"mon": [["17:00", "09:00"]]}
    tenant.save(update_fields=["business_hours"])
    SlaPolicyFactory(tenant=tenant, first_response_minutes=60)
    saturday = berlin(2026, 3, 7, 22, 0)
    ticket = create_via_service(tenant, saturday)
    assert ticket.first_response_due_at == berlin(2026, 3, 7, 23, 0)
