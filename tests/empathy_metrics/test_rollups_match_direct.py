"""A rollup never disagrees with the direct computation over the same data.

Random tickets, events, CSAT and NPS answers and message analyses in a tenant whose time zone
changes to summer time inside the data; then every figure of random periods, with and without
filters, from the rollups must equal the direct computation. Then more changes arrive through the
services (as in production), the incremental run catches up, and the figures agree again.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from empathy_metrics.models import MetricsRollup, SurveyKind, SurveySettings
from empathy_metrics.periods import Filters, Period
from empathy_metrics.selectors.direct import metrics_direct, tally_direct
from empathy_metrics.selectors.rollup import metrics_rollup, tallies_by_value
from empathy_metrics.services_rollups import metrics_rollup_rebuild, metrics_rollup_update
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory, SurveyResponseFactory
from tests.factories.tickets import (
    CustomerFactory,
    GroupFactory,
    MessageFactory,
    TagFactory,
    TicketFactory,
)
from tickets import services
from tickets.models import SlaPolicy, Ticket, TicketEvent, TicketTag

NEW_YORK = ZoneInfo("America/New_York")  # summer time starts 8 March 2026
NOW = datetime(2026, 3, 28, 15, 0, tzinfo=NEW_YORK)
SEEDED_UNTIL = NOW - timedelta(hours=6)
FIRST_DAY = date(2026, 1, 20)
CHANNELS = ["email", "chat", "web", "api", "phone"]


def random_instant(rng: random.Random, first: date, last: datetime) -> datetime:
    start = datetime.combine(first, datetime.min.time(), tzinfo=NEW_YORK)
    return start + (last - start) * rng.random()


def seed_world(tenant: Tenant, rng: random.Random, member_factory) -> dict:
    agents = [member_factory(tenant, Role.AGENT, f"agent{i}@acme.test") for i in range(3)]
    groups = [GroupFactory(tenant=tenant, tier=1), GroupFactory(tenant=tenant, tier=2)]
    tags = [TagFactory(tenant=tenant) for _ in range(3)]
    customers = [CustomerFactory(tenant=tenant) for _ in range(12)]
    with tenant_context(tenant):
        policy = SlaPolicy.objects.create(
            tenant=tenant,
            name="p",
            first_response_minutes=60,
            next_response_minutes=60,
            resolution_minutes=480,
        )
    tickets = []
    for _ in range(70):
        created = random_instant(rng, FIRST_DAY, SEEDED_UNTIL)
        status = rng.choice(["new", "open", "pending", "solved", "closed", "closed"])
        fields = {
            "tenant": tenant,
            "customer": rng.choice(customers),
            "channel": rng.choice(CHANNELS),
            "status": status,
            "group": rng.choice([None, *groups]),
            "assignee": rng.choice([None, *agents]),
            "created_at": created,
            "updated_at": created,
            "reopen_count": rng.choice([0, 0, 0, 1, 2]),
            "sla_policy": rng.choice([None, policy]),
        }
        if status != "new" and rng.random() < 0.9:
            fields["first_response_at"] = created + timedelta(minutes=rng.randint(0, 4000))
        if status in ("solved", "closed"):
            fields["solved_at"] = created + timedelta(minutes=rng.randint(1, 20000))
        if fields["sla_policy"] and rng.random() < 0.4:
            fields["sla_breached_at"] = created + timedelta(hours=2)
        if tickets and rng.random() < 0.2:
            fields["repeat_of"] = rng.choice(tickets)
        ticket = TicketFactory(**fields)
        tickets.append(ticket)
        with tenant_context(tenant):
            for tag in rng.sample(tags, rng.randint(0, 2)):
                TicketTag.objects.create(tenant=tenant, ticket=ticket, tag=tag)
            if rng.random() < 0.25:
                TicketEvent.objects.create(
                    tenant=tenant,
                    ticket=ticket,
                    kind="ticket.escalated",
                    to_value="2",
                    created_at=created + timedelta(hours=1),
                )
        if len(tickets) > 1 and rng.random() < 0.06:
            # a merged-away duplicate now and then: never counted
            with tenant_context(tenant):
                Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(
                    merged_into=tickets[0]
                )
    for i, ticket in enumerate(rng.sample(tickets, 35)):
        SurveyResponseFactory(
            tenant=tenant,
            ticket=ticket,
            resolution=i,
            agent=rng.choice([None, *agents]),
            score=rng.randint(1, 5),
            created_at=random_instant(rng, FIRST_DAY, SEEDED_UNTIL),
        )
    for _ in range(25):
        SurveyResponseFactory(
            tenant=tenant,
            kind=SurveyKind.NPS,
            customer=rng.choice(customers),
            score=rng.randint(0, 10),
            created_at=random_instant(rng, FIRST_DAY, SEEDED_UNTIL),
        )
    for _ in range(45):
        ticket = rng.choice(tickets)
        message = MessageFactory(
            tenant=tenant, ticket=ticket, created_at=random_instant(rng, FIRST_DAY, SEEDED_UNTIL)
        )
        MessageAnalysisFactory(
            tenant=tenant,
            message=message,
            sentiment_label=rng.choice(["negative", "neutral", "positive"]),
            sentiment_score=round(rng.uniform(-1, 1), 3),
            is_supported_language=rng.random() < 0.9,
            signals={
                name: {"score": round(rng.random(), 2)}
                for name in rng.sample(["frustration", "confusion", "urgency"], rng.randint(0, 2))
            },
            keywords=rng.sample(["invoice", "login", "refund", "export", "password"], 2),
        )
    return {"agents": agents, "groups": groups, "tags": tags, "tickets": tickets}


def filter_choices(world: dict) -> list[Filters]:
    agent, group, tag = world["agents"][0], world["groups"][0], world["tags"][0]
    return [
        Filters(),
        Filters(channel="email"),
        Filters(group=group.pk),
        Filters(group=0),
        Filters(agent=agent.pk),
        Filters(agent=0),
        Filters(tag=tag.pk),
        Filters(channel="chat", agent=agent.pk),
        Filters(tag=tag.pk, group=group.pk),
        Filters(channel="web", group=group.pk, agent=agent.pk, tag=tag.pk),
    ]


def random_periods(rng: random.Random, count: int) -> list[Period]:
    today = NOW.date()
    periods = [Period(FIRST_DAY, today, NEW_YORK), Period(date(2026, 3, 8), today, NEW_YORK)]
    for _ in range(count):
        start = FIRST_DAY + timedelta(days=rng.randint(0, (today - FIRST_DAY).days))
        end = start + timedelta(days=rng.randint(0, (today - start).days))
        periods.append(Period(start, end, NEW_YORK))
    return periods


def assert_agree(tenant: Tenant, periods, filters_list, now=NOW) -> int:
    checked = 0
    for period in periods:
        for filters in filters_list:
            direct = metrics_direct(tenant=tenant, period=period, filters=filters, now=now)
            rolled = metrics_rollup(tenant=tenant, period=period, filters=filters, now=now)
            if period.end < now.astimezone(NEW_YORK).date():
                direct.pop("backlog"), rolled.pop("backlog")
            assert rolled == direct, (period, filters)
            checked += 1
    return checked


@pytest.fixture
def new_york(tenant):
    tenant.time_zone = "America/New_York"
    tenant.save(update_fields=["time_zone"])
    with tenant_context(tenant):
        SurveySettings.objects.create(tenant=tenant, active_days=21)
    return tenant


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_the_direct_computation_on_random_data(new_york, member_factory, seed):
    tenant = new_york
    rng = random.Random(seed)
    world = seed_world(tenant, rng, member_factory)
    metrics_rollup_rebuild(tenant=tenant, now=NOW)
    assert assert_agree(tenant, random_periods(rng, 4), filter_choices(world)) == 60

    # Breakdown rows equal the figures filtered by that value.
    period = Period(FIRST_DAY, NOW.date(), NEW_YORK)
    for dim, values in (
        ("channel", CHANNELS),
        ("group", [0, *(g.pk for g in world["groups"])]),
        ("agent", [0, *(a.pk for a in world["agents"])]),
        ("tag", [t.pk for t in world["tags"]]),
    ):
        rows = tallies_by_value(
            tenant=tenant, first=period.start, last=period.end, filters=Filters(), dim=dim
        )
        for value in values:
            direct = tally_direct(
                tenant=tenant, period=period, filters=Filters().with_value(dim, value)
            )
            expected = direct.figures()
            got = rows[value].figures() if value in rows else None
            if got is None:
                assert expected["tickets"] == 0 and expected["csat"]["count"] == 0
                continue
            for name in ("tickets", "csat", "frt", "resolution", "escalation_rate", "sla"):
                assert got[name] == expected[name], (dim, value, name)


def test_the_incremental_run_catches_up_with_changes_made_through_the_services(
    new_york, member_factory
):
    tenant = new_york
    rng = random.Random(3)
    world = seed_world(tenant, rng, member_factory)
    metrics_rollup_rebuild(tenant=tenant, now=SEEDED_UNTIL)
    later = NOW
    agent, tier2 = world["agents"][1], world["groups"][1]
    old_tickets = [t for t in world["tickets"] if t.created_at < NOW - timedelta(days=20)]
    # changes to old tickets dirty their creation days (and their CSAT and message days)
    services.ticket_assign(
        tenant=tenant, actor=agent, ticket=old_tickets[0], assignee=agent, at=later
    )
    with tenant_context(tenant):
        escalatable = next(
            t for t in Ticket.objects.for_tenant(tenant).filter(tier=1).order_by("created_at")
        )
    services.ticket_escalate(
        tenant=tenant, actor=agent, ticket=escalatable, group=tier2, reason="needs a specialist"
    )
    customer = CustomerFactory(tenant=tenant)
    fresh = services.ticket_create(
        tenant=tenant,
        customer=customer,
        subject="New today",
        body="Hello",
        channel="chat",
        at=later - timedelta(hours=3),
    )
    services.message_create(
        tenant=tenant,
        ticket=fresh,
        body="On it",
        author_user=agent,
        at=later - timedelta(hours=1),
    )
    services.ticket_set_status(
        tenant=tenant, actor=agent, ticket=fresh, status="solved", at=later - timedelta(minutes=30)
    )
    SurveyResponseFactory(
        tenant=tenant, ticket=fresh, agent=agent, score=2, created_at=later - timedelta(minutes=5)
    )
    SurveyResponseFactory(
        tenant=tenant,
        kind=SurveyKind.NPS,
        customer=world["tickets"][5].customer,
        score=10,
        created_at=later - timedelta(minutes=4),
    )
    result = metrics_rollup_update(tenant=tenant, now=later)
    assert result["rebuilt"] == 0
    assert result["days"] >= 2 and result["customers"] >= 1
    assert assert_agree(tenant, random_periods(rng, 3), filter_choices(world), now=later) == 50

    # Nothing new: nothing recomputed, still equal.
    again = metrics_rollup_update(tenant=tenant, now=later)
    assert (again["days"], again["customers"]) == (0, 0)


def test_a_new_time_zone_or_active_window_rebuilds_everything(new_york, member_factory):
    tenant = new_york
    seed_world(tenant, random.Random(4), member_factory)
    assert metrics_rollup_update(tenant=tenant, now=NOW)["rebuilt"] == 1  # first run
    assert metrics_rollup_update(tenant=tenant, now=NOW)["rebuilt"] == 0
    tenant.time_zone = "Asia/Tokyo"
    tenant.save(update_fields=["time_zone"])
    assert metrics_rollup_update(tenant=tenant, now=NOW)["rebuilt"] == 1
    tokyo = ZoneInfo("Asia/Tokyo")
    period = Period(FIRST_DAY, NOW.astimezone(tokyo).date(), tokyo)
    direct = metrics_direct(tenant=tenant, period=period, filters=Filters(), now=NOW)
    assert metrics_rollup(tenant=tenant, period=period, filters=Filters(), now=NOW) == direct
    with tenant_context(tenant):
        SurveySettings.objects.for_tenant(tenant).update(active_days=7)
        assert MetricsRollup.objects.for_tenant(tenant).exists()
    assert metrics_rollup_update(tenant=tenant, now=NOW)["rebuilt"] == 1
