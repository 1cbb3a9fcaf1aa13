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


def test_every_cell_of_the_journey_table_leads_to_exactly_its_rows(client, tenant, member_factory):
    import html as htmllib
    import re

    from empathy_metrics.models import SurveyKind
    from tests.empathy_metrics.factories import SurveyResponseFactory

    now = timezone.now().replace(microsecond=0)
    journey = journey_make(tenant, "Purchase")
    ada = CustomerFactory(tenant=tenant, external_id="ada")
    bob = CustomerFactory(tenant=tenant, external_id="bob")
    outsider = CustomerFactory(tenant=tenant, external_id="zed")  # never in the journey
    ingest(
        tenant,
        [
            ("ada", "Cart viewed", now - 10 * DAY),
            ("ada", "Checkout started", now - 9 * DAY),
            ("ada", "Payment started", now - 8 * DAY),
            ("bob", "Cart viewed", now - 6 * DAY),
        ],
    )
    at_cart = ticket_with_analysis(tenant, ada, now - 9.5 * DAY, "Coupon?", label="neutral")
    at_payment = ticket_with_analysis(tenant, ada, now - 5 * DAY, "Fee?", label="negative")
    ticket_with_analysis(tenant, bob, now - 2 * DAY, "Where is my cart?", label="negative")
    ticket_with_analysis(tenant, outsider, now - 2 * DAY, "Hello", label="negative")
    # CSAT counts where the rated ticket was raised; NPS where the customer was when answering
    SurveyResponseFactory(tenant=tenant, ticket=at_cart, score=5, created_at=now - 1 * DAY)
    SurveyResponseFactory(tenant=tenant, ticket=at_payment, score=2, created_at=now - 1 * DAY)
    SurveyResponseFactory(
        tenant=tenant, kind=SurveyKind.NPS, customer=ada, score=3, created_at=now - 1 * DAY
    )
    SurveyResponseFactory(
        tenant=tenant, kind=SurveyKind.NPS, customer=bob, score=10, created_at=now - 1 * DAY
    )

    client.force_login(member_factory(tenant, Role.MANAGER, "manager@acme.test"))
    page = client.get("/t/acme/dashboards/?period=30d")
    html = page.content.decode()
    (purchase,) = page.context["data"]["journey_stages"]
    counts = {
        "stage_tickets": lambda r: r["tickets"],
        "stage_csat": lambda r: r["csat"]["count"],
        "stage_nps": lambda r: r["nps"]["count"],
        "stage_messages": lambda r: r["messages"],
        "stage_negative": lambda r: r["negative"],
    }
    hrefs = [htmllib.unescape(h) for h in re.findall(r'href="([^"]*/drill/\?[^"]*)"', html)]
    followed = 0
    for row in purchase["rows"]:
        for metric, count_of in counts.items():
            wanted = f"metric={metric}&journey={journey.public_id}&stage={row['value']}"
            (href,) = [h for h in hrefs if h.endswith(wanted)]
            drill = client.get(href)
            assert drill.status_code == 200, href
            assert drill.context["page"].paginator.count == count_of(row), (metric, row)
            followed += 1
    assert followed == 4 * 5
    cart, _checkout, payment, _confirmation = purchase["rows"]
    # by hand: Cart has Ada's first ticket and Bob's (2 tickets, 2 messages, 1 negative), the
    # 5 for the Cart ticket, Bob's NPS (Bob is still at Cart); Payment has Ada's second ticket
    # (negative), its CSAT 2 and Ada's NPS
    assert (cart["tickets"], cart["messages"], cart["negative"]) == (2, 2, 1)
    assert (cart["csat"]["count"], cart["nps"]["count"]) == (1, 1)
    assert (payment["tickets"], payment["negative"], payment["csat"]["count"]) == (1, 1, 1)
    assert payment["nps"]["count"] == 1
    nps_at_cart = client.get(
        f"/t/acme/dashboards/drill/?period=30d&metric=stage_nps&journey={journey.public_id}&stage=0"
    )
    assert [r["response"].score for r in nps_at_cart.context["rows"]] == [10]
    bad = client.get("/t/acme/dashboards/drill/?period=30d&metric=stage_nps&journey=nope&stage=0")
    assert bad.status_code == 400
