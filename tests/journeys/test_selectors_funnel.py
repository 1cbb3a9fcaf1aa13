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
