"""Each metric definition against small data sets computed by hand.

Every figure is checked twice: computed directly from the source tables and read from the
rollups after a rebuild, both must equal the hand-computed value.

The tenant is in Europe/Berlin with opening hours Monday to Friday 09:00-17:00. 2 March 2026 is a
Monday; the default period is the week 2-8 March 2026.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from empathy_metrics.models import SurveyKind, SurveySettings
from empathy_metrics.periods import Filters, Period
from empathy_metrics.selectors.direct import metrics_direct
from empathy_metrics.selectors.rollup import metrics_rollup
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.context import tenant_context
from tests.empathy_metrics.factories import MessageAnalysisFactory, SurveyResponseFactory
from tests.factories.tickets import CustomerFactory, MessageFactory, TagFactory, TicketFactory
from tickets.models import Customer, SlaPolicy, Ticket, TicketEvent, TicketTag

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8), BERLIN)


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def both(tenant, period=WEEK, filters=None, now=NOW) -> tuple[dict, dict]:
    """The figures computed directly and from freshly rebuilt rollups."""
    filters = filters or Filters()
    direct = metrics_direct(tenant=tenant, period=period, filters=filters, now=now)
    metrics_rollup_rebuild(tenant=tenant, now=now)
    rolled = metrics_rollup(tenant=tenant, period=period, filters=filters, now=now)
    return direct, rolled


def figure(tenant, name, **kwargs) -> dict:
    direct, rolled = both(tenant, **kwargs)
    assert direct[name] == rolled[name], (direct[name], rolled[name])
    return direct[name]


def set_fields(tenant, ticket, **fields) -> None:
    with tenant_context(tenant):
        Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(**fields)


def event(tenant, ticket, kind, to_value="", when=None) -> None:
    with tenant_context(tenant):
        TicketEvent.objects.create(
            tenant=tenant, ticket=ticket, kind=kind, to_value=to_value, created_at=when or NOW
        )


# --- CSAT ------------------------------------------------------------------------------------


def test_csat_is_the_share_of_4_and_5_with_the_count(tenant):
    ticket = TicketFactory(tenant=tenant, created_at=at(3, 2))
    for i, score in enumerate([5, 4, 3, 1, 5]):
        SurveyResponseFactory(
            tenant=tenant, ticket=ticket, resolution=i, score=score, created_at=at(3, 3 + i)
        )
    csat = figure(tenant, "csat")
    assert csat["value"] == 60.0
    assert (csat["satisfied"], csat["count"]) == (3, 5)
    assert csat["average"] == pytest.approx(18 / 5)


def test_csat_without_responses_is_no_data_not_zero(tenant):
    TicketFactory(tenant=tenant, created_at=at(3, 3))
    csat = figure(tenant, "csat")
    assert csat == {"value": None, "satisfied": 0, "count": 0, "average": None}


def test_csat_period_boundaries_follow_the_tenants_time_zone(tenant):
    ticket = TicketFactory(tenant=tenant, created_at=at(3, 1))
    inside = [at(3, 2, 0, 0), at(3, 8, 23, 59)]  # local midnight Monday; Sunday 23:59 local
    outside = [at(3, 1, 23, 59), at(3, 9, 0, 0)]  # Sunday before; the next Monday 00:00 local
    for i, when in enumerate(inside):
        SurveyResponseFactory(tenant=tenant, ticket=ticket, resolution=i, score=5, created_at=when)
    for i, when in enumerate(outside, start=5):
        SurveyResponseFactory(tenant=tenant, ticket=ticket, resolution=i, score=1, created_at=when)
    # 2026-03-08 23:59 in Berlin is 22:59 UTC: a UTC day would still count it, and would count
    # the 2026-03-01 23:59 answer (22:59 UTC) as well. Berlin days count exactly the two.
    csat = figure(tenant, "csat")
    assert (csat["count"], csat["value"]) == (2, 100.0)


# --- NPS -------------------------------------------------------------------------------------


def test_nps_is_promoters_minus_detractors_with_each_group(tenant):
    for i, score in enumerate([10, 9, 8, 7, 6, 0, 3]):
        SurveyResponseFactory(
            tenant=tenant,
            kind=SurveyKind.NPS,
            customer=CustomerFactory(tenant=tenant),
            score=score,
            created_at=at(3, 2 + i % 7),
        )
    nps = figure(tenant, "nps")
    assert (nps["promoters"], nps["passives"], nps["detractors"], nps["count"]) == (2, 2, 3, 7)
    assert nps["value"] == pytest.approx((2 - 3) * 100 / 7)


@pytest.mark.parametrize(
    ("scores", "expected"), [([0, 6, 5, 1], -100.0), ([9, 10], 100.0), ([7, 8], 0.0)]
)
def test_nps_extremes(tenant, scores, expected):
    for score in scores:
        SurveyResponseFactory(
            tenant=tenant,
            kind=SurveyKind.NPS,
            customer=CustomerFactory(tenant=tenant),
            score=score,
            created_at=at(3, 4),
        )
    assert figure(tenant, "nps")["value"] == expected


def test_nps_without_answers_is_no_data(tenant):
    assert figure(tenant, "nps")["value"] is None


def test_nps_ignores_ticket_filters(tenant):
    SurveyResponseFactory(
        tenant=tenant,
        kind=SurveyKind.NPS,
        customer=CustomerFactory(tenant=tenant),
        score=10,
        created_at=at(3, 4),
    )
    assert figure(tenant, "nps", filters=Filters(channel="chat"))["promoters"] == 1


# --- Retention -------------------------------------------------------------------------------


def customer_created(tenant, when: datetime) -> Customer:
    customer = CustomerFactory(tenant=tenant)
    with tenant_context(tenant):
        Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(created_at=when)
    return customer


@pytest.fixture
def thirty_day_window(tenant, settings):
    # The formula on a handful of customers: a rate from one customer at the start up (the
    # minimum starting base has its own tests below).
    settings.HELPDESK_RETENTION_MIN_START_ACTIVE = 1
    with tenant_context(tenant):
        SurveySettings.objects.create(tenant=tenant, active_days=30)


MARCH = Period(date(2026, 3, 1), date(2026, 3, 31), BERLIN)
APRIL_NOW = datetime(2026, 4, 2, 12, 0, tzinfo=BERLIN)


def test_retention_counts_start_end_and_new_customers(tenant, thirty_day_window):
    # Active at the start = a contact on one of the 30 local days ending 28 February.
    a = customer_created(tenant, at(1, 5))
    TicketFactory(tenant=tenant, customer=a, created_at=at(2, 10))
    TicketFactory(tenant=tenant, customer=a, created_at=at(3, 20))  # kept
    b = customer_created(tenant, at(1, 5))
    TicketFactory(tenant=tenant, customer=b, created_at=at(2, 15))  # lost: active until 16 March
    c = customer_created(tenant, at(3, 5))
    TicketFactory(tenant=tenant, customer=c, created_at=at(3, 5))  # new, still active
    d = customer_created(tenant, at(3, 1))
    TicketFactory(tenant=tenant, customer=d, created_at=at(3, 1, 9))  # acquired and lost in March
    f = customer_created(tenant, at(1, 2))
    SurveyResponseFactory(  # a survey answer is a contact too
        tenant=tenant, kind=SurveyKind.NPS, customer=f, score=8, created_at=at(2, 20)
    )
    SurveyResponseFactory(
        tenant=tenant, kind=SurveyKind.NPS, customer=f, score=9, created_at=at(3, 10)
    )
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    # S = {a, b, f}; E = {a, c, f}; N = {c, d}: every customer first seen in March, also d,
    # who was acquired and lost within it (the formula: (E - N) / S).
    assert retention == {
        "value": pytest.approx((3 - 2) * 100 / 3),
        "start_active": 3,
        "end_active": 3,
        "acquired": 2,
        "retained": 1,
        "reason": None,
        "min_start_active": 1,
    }


def test_a_customer_acquired_and_lost_in_the_period_lowers_the_rate(tenant, thirty_day_window):
    a = customer_created(tenant, at(1, 5))
    TicketFactory(tenant=tenant, customer=a, created_at=at(2, 10))
    TicketFactory(tenant=tenant, customer=a, created_at=at(3, 20))  # kept
    b = customer_created(tenant, at(1, 5))
    TicketFactory(tenant=tenant, customer=b, created_at=at(2, 20))
    TicketFactory(tenant=tenant, customer=b, created_at=at(3, 15))  # kept
    assert figure(tenant, "retention", period=MARCH, now=APRIL_NOW)["value"] == 100.0
    lost = customer_created(tenant, at(3, 1))
    TicketFactory(tenant=tenant, customer=lost, created_at=at(3, 1, 9))  # active until 30 March
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    assert (retention["start_active"], retention["end_active"], retention["acquired"]) == (2, 2, 1)
    assert retention["value"] == 50.0  # (2 - 1) / 2
    # A customer created in March with no contact at all was never seen: not acquired.
    customer_created(tenant, at(3, 3))
    assert figure(tenant, "retention", period=MARCH, now=APRIL_NOW)["acquired"] == 1


def test_retention_day_windows_are_local_days(tenant, thirty_day_window):
    # A contact at 00:30 on 30 January in Berlin (23:30 UTC on the 29th) is inside the 30 days
    # ending 28 February; one at 23:30 on 29 January is not.
    inside = customer_created(tenant, at(1, 1))
    TicketFactory(tenant=tenant, customer=inside, created_at=at(1, 30, 0, 30))
    outside = customer_created(tenant, at(1, 1))
    TicketFactory(tenant=tenant, customer=outside, created_at=at(1, 29, 23, 30))
    assert figure(tenant, "retention", period=MARCH, now=APRIL_NOW)["start_active"] == 1


def test_retention_without_active_customers_at_the_start_is_no_data(tenant, thirty_day_window):
    c = customer_created(tenant, at(3, 5))
    TicketFactory(tenant=tenant, customer=c, created_at=at(3, 5))
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    assert retention["value"] is None
    assert retention["reason"] == "too_few_customers_at_start"
    assert (retention["start_active"], retention["end_active"], retention["acquired"]) == (0, 1, 1)


def test_below_the_minimum_starting_base_retention_has_counts_but_no_rate(
    tenant, thirty_day_window, settings
):
    """2 active at the start, 5 at the end: 250% by the formula, which means nothing with a
    base that small. Below the minimum the rate is left out (None, with the reason); the counts
    stay, and from the minimum on the same formula gives the rate."""
    for _ in range(2):  # active at the start, still active at the end
        kept = customer_created(tenant, at(1, 5))
        TicketFactory(tenant=tenant, customer=kept, created_at=at(2, 20))
        TicketFactory(tenant=tenant, customer=kept, created_at=at(3, 20))
    for _ in range(3):  # known before March, inactive at the start, back at the end
        back = customer_created(tenant, at(1, 2))
        TicketFactory(tenant=tenant, customer=back, created_at=at(3, 25))
    settings.HELPDESK_RETENTION_MIN_START_ACTIVE = 3
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    assert retention["value"] is None
    assert retention["reason"] == "too_few_customers_at_start"
    assert retention["min_start_active"] == 3
    assert (retention["start_active"], retention["end_active"], retention["acquired"]) == (2, 5, 0)
    assert retention["retained"] == 5
    settings.HELPDESK_RETENTION_MIN_START_ACTIVE = 2
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    assert (retention["value"], retention["reason"]) == (250.0, None)


def test_a_customer_who_comes_back_counts_as_retained(tenant, thirty_day_window):
    """Inactive at the start, acquired before the period, active at the end: in E - N."""
    a = customer_created(tenant, at(1, 1))
    TicketFactory(tenant=tenant, customer=a, created_at=at(2, 20))
    back = customer_created(tenant, at(1, 1))
    TicketFactory(tenant=tenant, customer=back, created_at=at(1, 2))
    MessageFactory(  # a message the customer wrote is a contact
        tenant=tenant,
        ticket=TicketFactory(tenant=tenant, customer=back, created_at=at(1, 2)),
        created_at=at(3, 25),
    )
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    assert (retention["start_active"], retention["end_active"], retention["value"]) == (
        1,
        1,
        100.0,
    )


def test_a_chat_and_a_journey_event_make_a_customer_active(tenant, thirty_day_window):
    """Active = a ticket, message, chat, journey event or survey answer in the window."""
    from journeys import services as journey_services
    from tests.factories.journeys import journey_make
    from tickets.models import ChatSession

    chatter = customer_created(tenant, at(1, 5))
    with tenant_context(tenant):
        chat = ChatSession.objects.create(tenant=tenant, token_hash="x" * 64, customer=chatter)
        ChatSession.objects.for_tenant(tenant).filter(pk=chat.pk).update(started_at=at(2, 20))
    browser = customer_created(tenant, at(1, 5))
    with tenant_context(tenant):
        Customer.objects.for_tenant(tenant).filter(pk=browser.pk).update(external_id="browser")
    journey_make(tenant, "Purchase")
    journey_services.events_ingest(
        tenant=tenant,
        events=[
            {
                "id": "e1",
                "name": "Cart viewed",
                "timestamp": at(2, 25).isoformat(),
                "customer_id": "browser",
            }
        ],
    )
    retention = figure(tenant, "retention", period=MARCH, now=APRIL_NOW)
    # both active at the end of 28 February (their only contacts), neither at the end of March
    assert (retention["start_active"], retention["end_active"]) == (2, 0)
    assert retention["value"] == 0.0


# --- Support health --------------------------------------------------------------------------


@pytest.fixture
def week_of_tickets(tenant):
    """Five tickets created in the week of 2 March (see the comments for each one's figures)."""
    email, chat, web = "email", "chat", "web"
    policy_kwargs = {"first_response_minutes": 60, "next_response_minutes": 60}
    with tenant_context(tenant):
        policy = SlaPolicy.objects.create(
            tenant=tenant, name="Std", resolution_minutes=600, **policy_kwargs
        )
    # T1 Monday 09:00: replied 10:00 (60 business min), solved 15:00 (360), SLA attained.
    t1 = TicketFactory(tenant=tenant, channel=email, created_at=at(3, 2, 9))
    set_fields(
        tenant,
        t1,
        status="solved",
        first_response_at=at(3, 2, 10),
        solved_at=at(3, 2, 15),
        sla_policy=policy,
    )
    # T2 Friday 16:30: replied Monday 09:30 (30 + 30 = 60), open, SLA breached.
    t2 = TicketFactory(tenant=tenant, channel=chat, created_at=at(3, 6, 16, 30))
    set_fields(
        tenant,
        t2,
        status="open",
        first_response_at=at(3, 9, 9, 30),
        sla_policy=policy,
        sla_breached_at=at(3, 9, 9),
    )
    # T3 Saturday 10:00: replied 11:00 (closed: 0), closed Monday 10:00 (60), reopened once,
    # a repeat of T1.
    t3 = TicketFactory(tenant=tenant, channel=email, created_at=at(3, 7, 10))
    set_fields(
        tenant,
        t3,
        status="closed",
        first_response_at=at(3, 7, 11),
        solved_at=at(3, 9, 10),
        closed_at=at(3, 9, 10),
        reopen_count=1,
        repeat_of=t1,
    )
    # T4 Tuesday 09:00: replied 09:10 (10), reopened and open again, escalated to tier 2,
    # SLA pending.
    t4 = TicketFactory(tenant=tenant, channel=web, created_at=at(3, 3, 9))
    set_fields(
        tenant,
        t4,
        status="open",
        first_response_at=at(3, 3, 9, 10),
        reopen_count=1,
        tier=2,
        sla_policy=policy,
    )
    event(tenant, t4, "ticket.escalated", "2", at(3, 3, 11))
    # T5 Wednesday 12:00: no reply yet, new, SLA breached; a de-escalation is not an escalation.
    t5 = TicketFactory(tenant=tenant, channel=email, created_at=at(3, 4, 12))
    set_fields(tenant, t5, status="new", sla_policy=policy, sla_breached_at=at(3, 4, 13))
    event(tenant, t5, "ticket.deescalated", "1", at(3, 4, 14))
    # Outside the week (Sunday 1 March 23:30 local is 22:30 UTC): not counted.
    TicketFactory(tenant=tenant, channel=email, created_at=at(3, 1, 23, 30))
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5}


def test_first_response_time_median_and_p90_in_business_minutes(tenant, week_of_tickets):
    # Values 60, 60, 0, 10 -> sorted 0, 10, 60, 60: median (rank 2) 10, p90 (rank 4) 60.
    assert figure(tenant, "frt") == {"median": 10, "p90": 60, "count": 4}


def test_resolution_time_median_and_p90_in_business_minutes(tenant, week_of_tickets):
    # Values 360 (T1) and 60 (T3): median (rank 1) 60, p90 (rank 2) 360.
    assert figure(tenant, "resolution") == {"median": 60, "p90": 360, "count": 2}


def test_repeat_escalation_reopen_and_sla_rates(tenant, week_of_tickets):
    direct, rolled = both(tenant)
    for figures in (direct, rolled):
        assert figures["tickets"] == 5
        assert figures["repeat_rate"] == {"value": 20.0, "repeats": 1, "tickets": 5}
        assert figures["escalation_rate"] == {"value": 20.0, "escalated": 1, "tickets": 5}
        # solved at least once: T1, T3, T4 (reopened); reopened: T3, T4
        assert figures["reopen_rate"] == {
            "value": pytest.approx(200 / 3),
            "reopened": 2,
            "solved": 3,
        }
        # attained: T1; missed: T2, T5; T4 is pending
        assert figures["sla"] == {"value": pytest.approx(100 / 3), "attained": 1, "missed": 2}


def test_filters_narrow_every_ticket_figure(tenant, week_of_tickets):
    direct, rolled = both(tenant, filters=Filters(channel="email"))
    for figures in (direct, rolled):
        assert figures["tickets"] == 3  # T1, T3, T5
        assert figures["frt"] == {"median": 0, "p90": 60, "count": 2}
        assert figures["escalation_rate"]["value"] == 0.0
        assert figures["repeat_rate"]["value"] == pytest.approx(100 / 3)


def test_tag_and_agent_filters(tenant, week_of_tickets, agent):
    tag = TagFactory(tenant=tenant, name="billing")
    with tenant_context(tenant):
        for name in ("t1", "t4"):
            TicketTag.objects.create(tenant=tenant, ticket=week_of_tickets[name], tag=tag)
    set_fields(tenant, week_of_tickets["t4"], assignee=agent)
    direct, rolled = both(tenant, filters=Filters(tag=tag.pk))
    for figures in (direct, rolled):
        assert figures["tickets"] == 2
        assert figures["escalation_rate"]["value"] == 50.0
    direct, rolled = both(tenant, filters=Filters(tag=tag.pk, agent=agent.pk))
    for figures in (direct, rolled):
        assert figures["tickets"] == 1
        assert figures["frt"]["median"] == 10
    direct, rolled = both(tenant, filters=Filters(agent=0))  # unassigned
    for figures in (direct, rolled):
        assert figures["tickets"] == 4


def test_no_tickets_means_no_data_for_every_rate(tenant):
    direct, rolled = both(tenant)
    for figures in (direct, rolled):
        assert figures["tickets"] == 0
        assert figures["frt"] == {"median": None, "p90": None, "count": 0}
        for name in ("repeat_rate", "escalation_rate", "reopen_rate", "sla"):
            assert figures[name]["value"] is None


def test_backlog_counts_open_tickets_now(tenant, week_of_tickets):
    now = datetime(2026, 3, 8, 18, 0, tzinfo=BERLIN)
    direct, rolled = both(tenant, now=now)
    # T2, T4, T5 and the new ticket of 1 March: the backlog is every open ticket, whenever created
    assert direct["backlog"] == rolled["backlog"] == {"value": 4}


def test_backlog_of_a_past_period_comes_from_the_days_snapshot(tenant, week_of_tickets):
    metrics_rollup_rebuild(tenant=tenant, now=datetime(2026, 3, 8, 18, 0, tzinfo=BERLIN))
    set_fields(tenant, week_of_tickets["t2"], status="solved", solved_at=NOW)
    rolled = metrics_rollup(tenant=tenant, period=WEEK, filters=Filters(), now=NOW)
    assert rolled["backlog"]["value"] == 4  # what was open at the end of 8 March
    earlier = Period(date(2026, 2, 1), date(2026, 2, 7), BERLIN)
    assert metrics_rollup(tenant=tenant, period=earlier, filters=Filters(), now=NOW)["backlog"] == {
        "value": None
    }  # no snapshot that day: no data


# --- Sentiment, signals, keywords ------------------------------------------------------------


def test_sentiment_mix_signals_and_keywords(tenant):
    ticket = TicketFactory(tenant=tenant, created_at=at(3, 2))

    def analysed(label, score, when, signals=None, keywords=None, supported=True):
        message = MessageFactory(tenant=tenant, ticket=ticket, created_at=when)
        MessageAnalysisFactory(
            tenant=tenant,
            message=message,
            sentiment_label=label,
            sentiment_score=score,
            signals=signals or {},
            keywords=keywords or [],
            is_supported_language=supported,
        )

    analysed(
        "negative",
        -0.8,
        at(3, 2),
        {"frustration": {"score": 0.9, "phrases": ["again"]}, "confusion": {"score": 0.4}},
        ["invoice", "refund"],
    )
    analysed("negative", -0.4, at(3, 3), {"urgency": {"score": 0.5}}, ["invoice"])
    analysed("neutral", 0.0, at(3, 4), keywords=["Invoice "])
    analysed("positive", 0.6, at(3, 5), {"gratitude": {"score": 0.95}})
    analysed("negative", -0.9, at(3, 6), supported=False)  # stored, not scored
    analysed("positive", 0.9, at(3, 9))  # next week
    direct, rolled = both(tenant)
    for figures in (direct, rolled):
        assert figures["sentiment"] == {
            "negative": 2,
            "neutral": 1,
            "positive": 1,
            "labelled": 4,
            "messages": 5,
            "negative_share": 50.0,
            "positive_share": 25.0,
            "average": pytest.approx((-0.8 - 0.4 + 0.0 + 0.6) / 4),
        }
        assert figures["signals"] == {"frustration": 1, "gratitude": 1, "urgency": 1}
        assert figures["keywords"] == [("invoice", 3), ("refund", 1)]


def test_figures_of_an_empty_tenant_are_all_no_data(tenant):
    direct, rolled = both(tenant, now=timezone.now())
    assert direct["csat"]["value"] is rolled["csat"]["value"] is None
    assert direct["sentiment"]["negative_share"] is None
    assert direct["keywords"] == rolled["keywords"] == []


def test_ticket_figures_count_on_the_creation_day_across_daylight_saving(tenant):
    # 29 March 2026: Berlin moves to summer time (the day has 23 hours).
    TicketFactory(tenant=tenant, created_at=at(3, 29, 23, 30))  # 21:30 UTC
    TicketFactory(tenant=tenant, created_at=at(3, 30, 0, 30))  # 22:30 UTC on the 29th
    day = Period(date(2026, 3, 29), date(2026, 3, 29), BERLIN)
    now = at(4, 1)
    direct, rolled = both(tenant, period=day, now=now)
    assert direct["tickets"] == rolled["tickets"] == 1
    week = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)
    assert both(tenant, period=week, now=now)[1]["tickets"] == 1
    assert WEEK.previous() == Period(date(2026, 2, 23), date(2026, 3, 1), BERLIN, "previous")
    assert day.end_at - day.start_at == timedelta(hours=23)
