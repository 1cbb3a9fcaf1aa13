"""The dashboard's breakdown by journey stage: tickets, CSAT and sentiment at the stage the
customer had reached when they wrote; per tenant; a hint when no journey is tracked."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from empathy_metrics.periods import local_day, period_from_preset, zone
from empathy_metrics.selectors.journey_stages import journey_stage_breakdowns
from helpdesk.tenancy.policy import Role
from journeys import services as journey_services
from tests.empathy_metrics.test_pages_dashboard import csv_rows
from tests.factories.journeys import journey_make
from tests.factories.tickets import CustomerFactory, ticket_with_analysis

DAY = timedelta(days=1)


def ingest(tenant, rows):
    events = [
        {"id": f"e{i}", "name": name, "timestamp": at.isoformat(), "customer_id": customer}
        for i, (customer, name, at) in enumerate(rows)
    ]
    return journey_services.events_ingest(tenant=tenant, events=events)


def test_tickets_and_sentiment_by_the_stage_the_customer_had_reached(
    client, tenant, other_tenant, member_factory
):
    now = timezone.now().replace(microsecond=0)
    journey_make(tenant, "Purchase")
    ada = CustomerFactory(tenant=tenant, external_id="ada")
    bob = CustomerFactory(tenant=tenant, external_id="bob")
    ingest(
        tenant,
        [
            ("ada", "Cart viewed", now - 10 * DAY),
            ("ada", "Checkout started", now - 9 * DAY),
            ("ada", "Payment started", now - 8 * DAY),
            ("bob", "Cart viewed", now - 6 * DAY),
        ],
    )
    ticket_with_analysis(tenant, ada, now - 9.5 * DAY, "Coupon?", label="neutral")  # at Cart
    ticket_with_analysis(tenant, ada, now - 5 * DAY, "Why a fee?", label="negative")  # at Payment
    ticket_with_analysis(
        tenant, bob, now - 2 * DAY, "Where is my cart?", label="negative"
    )  # at Cart
    journey_make(other_tenant, "Purchase")  # another tenant's journey stays out
    tz = zone(tenant.time_zone)
    period = period_from_preset("30d", today=local_day(now, tz), tz=tz)

    (purchase,) = journey_stage_breakdowns(tenant=tenant, period=period)
    cart, checkout, payment, confirmation = purchase["rows"]
    assert purchase["journey"] == "Purchase"
    assert (cart["label"], cart["tickets"], cart["messages"]) == ("1. Cart", 2, 2)
    assert cart["negative_share"] == 50
    assert (checkout["tickets"], confirmation["tickets"]) == (0, 0)
    assert (payment["tickets"], payment["negative_share"]) == (1, 100)
    assert checkout["negative_share"] is None  # no messages: no data, not 0

    client.force_login(member_factory(tenant, Role.MANAGER, "manager@acme.test"))
    html = client.get("/t/acme/dashboards/?period=30d").content.decode()
    assert "By journey stage: Purchase" in html and "1. Cart" in html
    assert "once the tenant tracks customer journeys" not in html
    rows = csv_rows(client.get("/t/acme/dashboards/export.csv?period=30d&table=journeys"))
    assert rows[0][:3] == ["journey", "stage", "tickets"]
    assert [row[:3] for row in rows[1:]] == [
        ["Purchase", "1. Cart", "2"],
        ["Purchase", "2. Checkout", "0"],
        ["Purchase", "3. Payment", "1"],
        ["Purchase", "4. Confirmation", "0"],
    ]


def test_without_journeys_the_dashboard_says_where_the_stages_will_appear(
    client, tenant, member_factory
):
    tz = zone(tenant.time_zone)
    period = period_from_preset("30d", today=local_day(timezone.now(), tz), tz=tz)
    assert journey_stage_breakdowns(tenant=tenant, period=period) == []
    client.force_login(member_factory(tenant, Role.MANAGER, "manager@acme.test"))
    html = client.get("/t/acme/dashboards/?period=30d").content.decode()
    assert "once the tenant tracks customer journeys" in html
