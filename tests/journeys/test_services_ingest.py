"""Event ingestion: idempotency, per-event validation, customer matching, positions kept current."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from helpdesk.tenancy.context import tenant_context
from journeys import services
from journeys.derive import derive_runs
from journeys.models import CustomerKey, JourneyEvent, JourneyRun, JourneyStep
from journeys.services.progress import active_rules
from tests.factories.tickets import CustomerFactory
from tickets.models import Customer


def event(i, name="Cart viewed", customer="u-1", **extra):
    body = {"id": f"evt-{i}", "name": name, "customer_id": customer}
    body.update(extra)
    return body


def runs_of(tenant, journey, customer_id):
    with tenant_context(tenant):
        return list(
            JourneyRun.objects.for_tenant(tenant)
            .filter(journey=journey, customer_id=customer_id)
            .order_by("number")
            .values_list("number", "stage", "is_latest", "completed_at")
        )


def customer_id(tenant, external_id):
    with tenant_context(tenant):
        return Customer.objects.for_tenant(tenant).get(external_id=external_id).pk


def test_a_batch_is_stored_and_a_second_delivery_is_ignored(tenant, purchase, now):
    batch = [
        event(1, timestamp=(now - timedelta(hours=3)).isoformat()),
        event(2, "Checkout started", timestamp=(now - timedelta(hours=2)).isoformat()),
    ]
    first = services.events_ingest(tenant=tenant, events=batch)
    assert (first.accepted, first.duplicates, first.rejected) == (2, 0, 0)
    again = services.events_ingest(tenant=tenant, events=batch)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 0)
    with tenant_context(tenant):
        assert JourneyEvent.objects.for_tenant(tenant).count() == 2
        assert JourneyStep.objects.for_tenant(tenant).count() == 2  # not applied twice
    assert runs_of(tenant, purchase, customer_id(tenant, "u-1")) == [(1, 1, True, None)]


def test_duplicate_ids_inside_one_batch_count_once(tenant, purchase):
    result = services.events_ingest(tenant=tenant, events=[event(1), event(1), event(2)])
    assert (result.accepted, result.duplicates) == (2, 1)


def test_events_without_an_id_are_idempotent_by_content(tenant, purchase, now):
    body = {"name": "Cart viewed", "customer_id": "u-9", "timestamp": now.isoformat()}
    assert services.events_ingest(tenant=tenant, events=[body]).accepted == 1
    assert services.events_ingest(tenant=tenant, events=[dict(body)]).duplicates == 1
    other = dict(body, properties={"sku": "A-1"})
    assert services.events_ingest(tenant=tenant, events=[other]).accepted == 1


def test_bad_events_are_reported_with_their_index_and_good_ones_stored(tenant, purchase, now):
    batch = [
        event(1),
        "not an object",
        {"id": "evt-3", "customer_id": "u-1"},
        event(4, customer=""),
        event(5, timestamp="yesterday"),
        event(6, timestamp="2025-05-01T10:00:00"),
        event(7, timestamp=(now + timedelta(days=2)).isoformat()),
        event(8, email="not-an-email", customer=None),
        event(9, properties=["a", "list"]),
        event(10, properties={"blob": "x" * 5000}),
        event(11, name="x" * 101),
        event(12, name="Checkout started"),
        event(13, properties={"note": "a\x00b"}),
        event(14, name="bad \ud800 text"),
        event(15, properties={"path": "C:\\u0000dir"}),  # a backslash, not a NUL: fine
        event(16, properties={"ratio": float("nan")}),  # jsonb has no NaN
        event(17, properties={"big": "é" * 1500}),  # 1,500 characters, 3,000 bytes: fine
        event(18, properties={"big": "é" * 2100}),  # 4,200 bytes
    ]
    result = services.events_ingest(tenant=tenant, events=batch)
    assert result.accepted == 4
    messages = {e.index: e.message for e in result.errors}
    assert sorted(messages) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 17]
    assert "cannot be stored as JSON" in messages[15]
    assert "larger than 4096 bytes" in messages[17]
    assert "cannot be stored" in messages[12]
    assert "not valid Unicode" in messages[13]
    assert messages[1] == "Each event must be a JSON object."
    assert "name must be a string" in messages[2]
    assert "customer_id" in messages[3] and "email" in messages[3]
    assert "not an ISO 8601" in messages[4]
    assert "time zone" in messages[5]
    assert "future" in messages[6]
    assert "not a valid address" in messages[7]
    assert "properties must be a JSON object" in messages[8]
    assert "larger than" in messages[9]
    assert "longer than 100" in messages[10]
    assert {e.index: e.id for e in result.errors}[4] == "evt-5"


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ({"events": []}, "Send a JSON object"),
        ([], "The batch has no events."),
        ([{"name": "x"}] * 1001, "At most 1,000 events per request; this one has 1,001."),
        ("text", "Send a JSON object"),
    ],
)
def test_an_unusable_batch_is_refused_as_a_whole(tenant, events, message):
    with pytest.raises(services.BatchError, match=re.escape(message)):
        services.events_ingest(tenant=tenant, events=events)


def test_customers_are_matched_by_external_id_then_email_and_created_when_unknown(tenant, purchase):
    known = CustomerFactory(tenant=tenant, email="grace@navy.test", external_id="")
    by_ext = CustomerFactory(tenant=tenant, email="ada@example.com", external_id="crm-7")
    result = services.events_ingest(
        tenant=tenant,
        events=[
            {"id": "a", "name": "Cart viewed", "email": "GRACE@navy.test"},
            {"id": "b", "name": "Cart viewed", "customer_id": "crm-7", "email": "x@y.test"},
            {"id": "c", "name": "Cart viewed", "customer_id": "new-1", "email": "new@shop.test"},
            {"id": "d", "name": "Cart viewed", "customer_id": "new-1"},
            {"id": "e", "name": "Cart viewed", "customer_id": 42},
            {
                "id": "f",
                "name": "Cart viewed",
                "customer_id": "u-grace",
                "email": "grace@navy.test",
            },
        ],
    )
    assert result.accepted == 6 and result.customers_created == 2
    with tenant_context(tenant):
        rows = dict(JourneyEvent.objects.for_tenant(tenant).values_list("event_id", "customer_id"))
        new = Customer.objects.for_tenant(tenant).get(external_id="new-1")
        known.refresh_from_db()
        assert CustomerKey.objects.for_tenant(tenant).filter(external_id="crm-7").exists()
    assert rows["a"] == known.pk and rows["f"] == known.pk
    assert rows["b"] == by_ext.pk
    assert rows["c"] == rows["d"] == new.pk
    assert new.email == "new@shop.test"
    assert known.external_id == "u-grace"  # learnt from the event that carried both


def test_new_customers_are_dated_from_their_first_event(tenant, purchase, now):
    first = now - timedelta(days=40)
    services.events_ingest(
        tenant=tenant,
        events=[
            event(1, customer="late", timestamp=(now - timedelta(days=2)).isoformat()),
            event(2, customer="late", timestamp=first.isoformat()),
        ],
    )
    with tenant_context(tenant):
        assert Customer.objects.for_tenant(tenant).get(external_id="late").created_at == first


def test_late_and_out_of_order_events_give_the_same_positions_as_in_order(
    tenant, purchase, onboarding, now
):
    def at(hours):
        return (now - timedelta(days=5) + timedelta(hours=hours)).isoformat()

    names = ["Cart viewed", "Checkout started", "Payment started", "Order confirmed"]
    in_order = [event(i, name, "ordered", timestamp=at(i)) for i, name in enumerate(names)]
    services.events_ingest(tenant=tenant, events=in_order)
    # The same story for another customer, arriving backwards in four batches.
    for i, name in reversed(list(enumerate(names))):
        services.events_ingest(
            tenant=tenant, events=[event(100 + i, name, "backwards", timestamp=at(i))]
        )
    ordered = runs_of(tenant, purchase, customer_id(tenant, "ordered"))
    backwards = runs_of(tenant, purchase, customer_id(tenant, "backwards"))
    assert [r[:3] for r in ordered] == [r[:3] for r in backwards] == [(1, 3, True)]
    with tenant_context(tenant):
        steps = list(
            JourneyStep.objects.for_tenant(tenant)
            .filter(customer_id=customer_id(tenant, "backwards"))
            .order_by("stage")
            .values_list("stage", "observed", "seconds_from_previous")
        )
    assert steps == [(0, True, None), (1, True, 3600), (2, True, 3600), (3, True, 3600)]


def test_stored_positions_always_equal_a_full_recompute(tenant, purchase, onboarding, now):
    """Random batches for a few customers, in random order: the runs kept incrementally match
    the runs derived from scratch from all events."""
    import random

    rng = random.Random(3)
    names = [
        "Cart viewed",
        "Checkout started",
        "Payment started",
        "Order confirmed",
        "Signed up",
        "Email verified",
        "Project created",
        "Page viewed",
    ]
    pending = [
        event(
            i,
            rng.choice(names),
            f"c{rng.randint(1, 6)}",
            timestamp=(now - timedelta(hours=rng.uniform(0, 24 * 60))).isoformat(),
        )
        for i in range(400)
    ]
    pending.sort(key=lambda e: e["timestamp"])
    # mostly in order, some late
    for i in range(0, 400, 7):
        j = min(399, i + rng.randint(0, 30))
        pending[i], pending[j] = pending[j], pending[i]
    for start in range(0, 400, 25):
        services.events_ingest(tenant=tenant, events=pending[start : start + 25])
    with tenant_context(tenant):
        rules = active_rules(tenant=tenant)
        for journey_id, journey_rules in rules.items():
            for customer in Customer.objects.for_tenant(tenant):
                events = list(
                    JourneyEvent.objects.for_tenant(tenant)
                    .filter(customer=customer)
                    .values_list("occurred_at", "name")
                )
                expected = [
                    (r.number, r.entered_at, r.stage, r.completed_at, r.last_event_at)
                    for r in derive_runs(journey_rules, events)
                ]
                stored = list(
                    JourneyRun.objects.for_tenant(tenant)
                    .filter(journey_id=journey_id, customer=customer)
                    .order_by("number")
                    .values_list("number", "entered_at", "stage", "completed_at", "last_event_at")
                )
                assert stored == expected, (journey_id, customer.external_id)
                steps = JourneyStep.objects.for_tenant(tenant).filter(
                    journey_id=journey_id, customer=customer
                )
                assert steps.count() == sum(r[2] + 1 for r in expected)
                latest = JourneyRun.objects.for_tenant(tenant).filter(
                    journey_id=journey_id, customer=customer, is_latest=True
                )
                assert latest.count() == (1 if expected else 0)


def test_events_matching_no_journey_are_stored_without_positions(tenant, purchase):
    result = services.events_ingest(tenant=tenant, events=[event(1, "Page viewed")])
    assert result.accepted == 1
    with tenant_context(tenant):
        assert not JourneyRun.objects.for_tenant(tenant).exists()


def test_a_customer_in_several_journeys_moves_in_each(tenant, purchase, onboarding, now):
    services.events_ingest(
        tenant=tenant,
        events=[
            event(1, "Signed up", "both", timestamp=(now - timedelta(days=3)).isoformat()),
            event(2, "Cart viewed", "both", timestamp=(now - timedelta(days=2)).isoformat()),
            event(3, "Email verified", "both", timestamp=(now - timedelta(days=1)).isoformat()),
        ],
    )
    pk = customer_id(tenant, "both")
    assert runs_of(tenant, purchase, pk) == [(1, 0, True, None)]
    assert runs_of(tenant, onboarding, pk) == [(1, 1, True, None)]


def test_inactive_journeys_do_not_move(tenant, purchase):
    from journeys.models import Journey

    with tenant_context(tenant):
        Journey.objects.for_tenant(tenant).filter(pk=purchase.pk).update(is_active=False)
    services.events_ingest(tenant=tenant, events=[event(1)])
    with tenant_context(tenant):
        assert not JourneyRun.objects.for_tenant(tenant).exists()
