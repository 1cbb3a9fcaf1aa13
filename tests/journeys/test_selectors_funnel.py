"""Funnel counts on hand-made event sequences."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.tenancy.context import tenant_context
from journeys import selectors
from journeys.selectors.funnels import Period
from tests.factories.tickets import CustomerFactory


@pytest.fixture
def story(tenant, purchase, onboarding, ingest, now):
    """Seven customers; times are days ago (d) and hours on top (h)."""

    def t(days, hours=0):
        return now - timedelta(days=days) + timedelta(hours=hours)

    ingest(
        [
            # A: the whole way, one hour per stage
            ("a", "Cart viewed", t(10)),
            ("a", "Checkout started", t(10, 1)),
            ("a", "Payment started", t(10, 2)),
            ("a", "Order confirmed", t(10, 3)),
            # B: skips Checkout
            ("b", "Cart viewed", t(9)),
            ("b", "Payment started", t(9, 5)),
            # C: repeats the cart, goes no further
            ("c", "Cart viewed", t(8)),
            ("c", "Cart viewed", t(8, 1)),
            ("c", "Cart viewed", t(8, 2)),
            # D: sent backwards: checkout first, then the cart that came before it
            ("d", "Checkout started", t(7, 3)),
            ("d", "Cart viewed", t(7)),
            # E: entered 40 days ago (previous period), checked out in this one
            ("e", "Cart viewed", t(40)),
            ("e", "Checkout started", t(5)),
            # F: straight from the cart to the confirmation
            ("f", "Cart viewed", t(6)),
            ("f", "Order confirmed", t(6, 2)),
            # G: in both journeys
            ("g", "Signed up", t(2)),
            ("g", "Cart viewed", t(2, 1)),
            ("g", "Checkout started", t(2, 4)),
            ("g", "Email verified", t(1)),
            # H: at the cart for 20 days: dropped
            ("h", "Cart viewed", t(20)),
        ]
    )
    return t


def funnel_of(tenant, journey, days=30, **kwargs):
    with tenant_context(tenant):
        return selectors.journey_funnel(
            tenant=tenant, journey=journey, period=selectors.period_last_days(days=days), **kwargs
        )


def test_funnel_counts_skipped_repeated_and_out_of_order(tenant, purchase, story):
    funnel = funnel_of(tenant, purchase)
    assert [s.name for s in funnel.stages] == ["Cart", "Checkout", "Payment", "Confirmation"]
    assert [s.reached for s in funnel.stages] == [
        7,
        5,
        3,
        2,
    ]  # a b c d f g h | a b d f g | a b f | a f
    assert [s.skipped for s in funnel.stages] == [0, 2, 1, 0]  # b, f skip Checkout; f skips Payment
    assert funnel.entered == 7 and funnel.completed == 2
    cart, checkout, payment, confirmation = funnel.stages
    assert checkout.conversion == pytest.approx(5 / 7)
    assert payment.conversion == pytest.approx(3 / 5)
    assert confirmation.overall == pytest.approx(2 / 7)
    assert (cart.drop_off, checkout.drop_off, payment.drop_off) == (2, 2, 1)
    assert confirmation.drop_off is None
    assert checkout.drop_off_rate == pytest.approx(2 / 5)


def test_median_time_between_stages_uses_observed_pairs_only(tenant, purchase, story):
    _cart, checkout, payment, confirmation = funnel_of(tenant, purchase).stages
    # Cart -> Checkout observed for a (1 h), d (3 h), g (3 h)
    assert checkout.timed == 3 and checkout.median_seconds == 3 * 3600
    # Checkout -> Payment observed for a only (b skipped Checkout)
    assert payment.timed == 1 and payment.median_seconds == 3600
    assert confirmation.timed == 1 and confirmation.median_seconds == 3600


def test_now_figures_split_waiting_stuck_and_dropped(tenant, purchase, story):
    cart, checkout, payment, _confirmation = funnel_of(tenant, purchase).stages
    assert (cart.now_waiting, cart.now_stuck, cart.now_dropped) == (0, 1, 1)  # c stuck, h dropped
    assert (checkout.now_waiting, checkout.now_stuck, checkout.now_dropped) == (1, 1, 0)  # g, d
    assert (payment.now_stuck, payment.now_dropped) == (1, 0)  # b


def test_a_customer_in_two_journeys_counts_in_each(tenant, onboarding, story):
    funnel = funnel_of(tenant, onboarding)
    assert [s.reached for s in funnel.stages] == [1, 1, 0, 0]


def test_a_period_counts_the_runs_entered_in_it_and_the_stages_reached_by_its_end(
    tenant, purchase, story, now
):
    earlier = Period(now - timedelta(days=60), now - timedelta(days=30), "earlier")
    with tenant_context(tenant):
        funnel = selectors.journey_funnel(tenant=tenant, journey=purchase, period=earlier)
    # e entered 40 days ago; its checkout 5 days ago is after that period's end
    assert [s.reached for s in funnel.stages] == [1, 0, 0, 0]
    short = funnel_of(tenant, purchase, days=7)  # d (7 days ago + 0 h) is just outside
    assert short.entered == 2  # f, g


def test_the_previous_period_has_the_same_length(now):
    period = selectors.period_last_days(days=30, now=now)
    previous = period.previous()
    assert previous.end == period.start
    assert previous.end - previous.start == timedelta(days=30)


def test_an_empty_period_gives_zeros_not_errors(tenant, purchase):
    funnel = funnel_of(tenant, purchase)
    assert funnel.entered == 0 and funnel.completion_rate is None
    assert all(s.conversion is None for s in funnel.stages[1:])


def test_the_funnel_takes_a_fixed_number_of_queries(tenant, purchase, story):
    stages = None
    with tenant_context(tenant):
        stages = selectors.journey_stages(tenant=tenant, journey=purchase)
    with CaptureQueriesContext(connection) as queries:
        funnel_of(tenant, purchase, stages=stages)
    limit = 3 if connection.vendor == "postgresql" else 4  # + the durations on SQLite
    assert len([q for q in queries if "journeys_" in q["sql"]]) <= limit


@pytest.mark.parametrize("by", ["tag", "company", "signup_month"])
def test_breakdowns_split_the_entrants_by_segment(tenant, purchase, ingest, now, by):
    day = timedelta(days=1)
    CustomerFactory(tenant=tenant, external_id="vip-1", company="Acme", tags=["vip", "beta"])
    CustomerFactory(tenant=tenant, external_id="vip-2", company="Acme", tags=["vip"])
    CustomerFactory(tenant=tenant, external_id="plain", company="", tags=[])
    ingest(
        [
            ("vip-1", "Cart viewed", now - 3 * day),
            ("vip-1", "Checkout started", now - 2 * day),
            ("vip-2", "Cart viewed", now - 3 * day),
            ("plain", "Cart viewed", now - 3 * day),
            ("plain", "Order confirmed", now - 2 * day),
        ]
    )
    with tenant_context(tenant):
        breakdown = selectors.journey_breakdown(
            tenant=tenant,
            journey=purchase,
            period=selectors.period_last_days(days=30),
            by=by,
            stage_count=4,
        )
    rows = {row.label: row.reached for row in breakdown.rows}
    if by == "tag":
        assert rows == {"vip": [2, 1, 0, 0], "beta": [1, 1, 0, 0]}
    elif by == "company":
        assert rows == {"Acme": [2, 1, 0, 0], "(no company)": [1, 1, 1, 1]}
    else:
        assert sum(r[0] for r in rows.values()) == 3
        assert all(len(label.split()) == 2 for label in rows)  # "Nov 2026"


def test_an_unknown_breakdown_is_refused(tenant, purchase):
    with tenant_context(tenant), pytest.raises(ValueError, match="Unknown breakdown"):
        selectors.journey_breakdown(
            tenant=tenant,
            journey=purchase,
            period=selectors.period_last_days(days=30),
            by="shoe_size",
            stage_count=4,
        )


def test_the_histogram_median_is_within_a_percent_of_the_exact_one():
    import random
    import statistics

    from journeys.selectors.funnels import HISTOGRAM_BUCKETS, HISTOGRAM_MAX_LOG, histogram_median

    rng = random.Random(5)
    for size in (1, 2, 3, 10, 1000, 20000):
        values = [int(rng.lognormvariate(8, 2)) for _ in range(size)]
        buckets: dict[int, int] = {}
        for value in values:
            bucket = min(
                HISTOGRAM_BUCKETS + 1,
                int(math.log(value + 1) / (HISTOGRAM_MAX_LOG / HISTOGRAM_BUCKETS)) + 1,
            )
            buckets[bucket] = buckets.get(bucket, 0) + 1
        exact = statistics.median(values)
        assert histogram_median(buckets) == pytest.approx(exact, rel=0.033, abs=1)
    assert histogram_median({}) is None


@pytest.mark.postgres_only
def test_large_funnels_take_their_medians_from_the_histogram(tenant, purchase, story, monkeypatch):
    from journeys.selectors import funnels

    monkeypatch.setattr(funnels, "EXACT_MEDIAN_LIMIT", 0)
    _cart, checkout, payment, _confirmation = funnel_of(tenant, purchase).stages
    assert checkout.median_seconds == pytest.approx(3 * 3600, rel=0.033)
    assert payment.median_seconds == pytest.approx(3600, rel=0.033)
    assert (checkout.timed, checkout.reached, checkout.skipped) == (3, 5, 2)


# --- Breakdowns from the runs' own segment keys ---------------------------------------------


def _direct_breakdown(tenant, journey, period, by, stage_count):
    """Reached per stage and segment, counted directly: every step of the period, with its
    customer's current company, tags and signup month (what the breakdown must equal)."""
    import zoneinfo
    from collections import defaultdict

    from journeys.models import JourneyStep
    from tickets.models import Customer

    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    customers = {c.pk: c for c in Customer.objects.for_tenant(tenant)}
    counts = defaultdict(lambda: [0] * stage_count)
    steps = JourneyStep.objects.for_tenant(tenant).filter(
        journey=journey,
        entered_at__gte=period.start,
        entered_at__lt=period.end,
        reached_at__lt=period.end,
        stage__lt=stage_count,
    )
    for customer_id, stage in steps.values_list("customer_id", "stage"):
        customer = customers[customer_id]
        if by == "company":
            labels = [customer.company or "(no company)"]
        elif by == "tag":
            labels = list(customer.tags)
        else:
            labels = [customer.created_at.astimezone(zone).strftime("%b %Y")]
        for label in labels:
            counts[label][stage] += 1
    return dict(counts)


@pytest.fixture
def segmented(tenant, purchase, ingest, now):
    """Customers in several companies, tags and signup months; skipped stages, repeats, a late
    event, a second run, progress after a past period's end, and changes of company and tags."""
    from tickets.models import Customer
    from tickets.services.customers import customer_update

    def t(days, hours=0):
        return now - timedelta(days=days) + timedelta(hours=hours)

    people = {
        "a": ("Acme", ["vip", "beta"], 200),
        "b": ("Acme", ["vip"], 100),
        "c": ("Globex", [], 100),
        "d": ("", ["beta"], 40),
        "e": ("Initech", ["vip"], 5),
        "mover": ("Old Co", ["trial"], 70),
    }
    for external_id, (company, tags, age_days) in people.items():
        customer = CustomerFactory(
            tenant=tenant, external_id=external_id, company=company, tags=tags
        )
        with tenant_context(tenant):
            Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(
                created_at=t(age_days)
            )
    ingest(
        [
            ("a", "Cart viewed", t(20)),
            ("a", "Checkout started", t(20, 1)),
            ("a", "Payment started", t(20, 2)),
            ("a", "Order confirmed", t(20, 3)),
            ("a", "Cart viewed", t(5)),  # a second run
            ("b", "Cart viewed", t(12)),
            ("b", "Payment started", t(12, 5)),  # Checkout skipped
            ("b", "Cart viewed", t(12, 6)),  # a repeat
            ("c", "Cart viewed", t(35)),  # entered in the past period...
            ("c", "Checkout started", t(3)),  # ...moved on after its end
            ("d", "Cart viewed", t(9)),
            ("e", "Cart viewed", t(4)),
            ("e", "Checkout started", t(4, 2)),
            ("mover", "Cart viewed", t(15)),
            ("mover", "Checkout started", t(14)),
            ("newbie", "Cart viewed", t(2)),  # a customer the events create (no company)
        ]
    )
    ingest([("d", "Checkout started", t(8)), ("d", "Cart viewed", t(10))])  # late, out of order
    with tenant_context(tenant):
        mover = Customer.objects.for_tenant(tenant).get(external_id="mover")
        newbie = Customer.objects.for_tenant(tenant).get(external_id="newbie")
    # After their runs started: the mover changes company and tags; the new customer gets theirs.
    customer_update(tenant=tenant, customer=mover, company="New Co", tags=["paid"])
    customer_update(tenant=tenant, customer=newbie, company="Acme")
    ingest([("mover", "Payment started", t(1))])  # a run written after the change
    return t


@pytest.mark.parametrize("by", ["company", "tag", "signup_month"])
@pytest.mark.parametrize("days_back", [0, 8])
def test_breakdowns_equal_a_direct_count_of_the_steps(
    tenant, purchase, segmented, now, by, days_back
):
    """The current company and tags count: the mover is under "New Co" for a run that began
    while they were at "Old Co" (as the breakdown did when it joined the customers)."""
    end = now - timedelta(days=days_back)
    period = Period(end - timedelta(days=30), end, "period")
    with tenant_context(tenant):
        breakdown = selectors.journey_breakdown(
            tenant=tenant, journey=purchase, period=period, by=by, stage_count=4
        )
        expected = _direct_breakdown(tenant, purchase, period, by, 4)
    assert {row.label: row.reached for row in breakdown.rows} == expected
    if by == "company" and days_back == 0:
        assert expected == {
            "Acme": [4, 2, 2, 1],  # a twice, b (Checkout skipped), newbie (company given later)
            "(no company)": [1, 1, 0, 0],  # d, whose late Cart event came after Checkout
            "Initech": [1, 1, 0, 0],
            "New Co": [1, 1, 1, 0],  # the mover: no "Old Co" row
        }
    if by == "company" and days_back == 8:
        # c entered 35 days ago and reached Checkout 3 days ago, after this period's end.
        assert expected["Globex"] == [1, 0, 0, 0]


def test_breakdowns_read_the_runs_without_the_customers(tenant, purchase, segmented, now):
    period = Period(now - timedelta(days=38), now - timedelta(days=8), "period")
    for by in ("company", "tag", "signup_month"):
        with tenant_context(tenant), CaptureQueriesContext(connection) as queries:
            selectors.journey_breakdown(
                tenant=tenant, journey=purchase, period=period, by=by, stage_count=4
            )
        sql = " ".join(q["sql"] for q in queries.captured_queries)
        assert "journeys_journeyrun" in sql
        assert "tickets_customer" not in sql, by


def test_a_customers_runs_follow_their_company_and_tags(tenant, purchase, ingest, now):
    from journeys.models import JourneyRun
    from tickets.services.customers import customer_update

    ada = CustomerFactory(tenant=tenant, external_id="ada", company="Acme", tags=["vip"])
    ingest([("ada", "Cart viewed", now - timedelta(days=3))])
    with tenant_context(tenant):
        run = JourneyRun.objects.for_tenant(tenant).get(customer=ada)
    assert (run.company, run.tags, run.customer_since) == ("Acme", ["vip"], ada.created_at)
    customer_update(tenant=tenant, customer=ada, name="Ada L.")  # no segment field: no rewrite
    customer_update(tenant=tenant, customer=ada, company="Globex", tags=["beta", "vip"])
    with tenant_context(tenant):
        run.refresh_from_db()
    assert (run.company, run.tags) == ("Globex", ["beta", "vip"])
