"""The weekly digest: its content, the page, the opt-in, and the email sent by beat in each
tenant's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from empathy_metrics.models import DigestSubscription, SurveyKind
from empathy_metrics.selectors.digest import digest_data, digest_week_for
from empathy_metrics.services_digest import (
    digest_is_due,
    digest_send_due,
    digest_subscription_set,
)
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from empathy_metrics.tasks import digest_fanout_task
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory, SurveyResponseFactory
from tests.factories.tickets import MessageFactory, TicketFactory
from tickets.models import Article

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_MORNING = datetime(2026, 3, 16, 8, 30, tzinfo=BERLIN)
WEEK = date(2026, 3, 9)  # the week being reported: Monday 9 to Sunday 15 March
BEFORE = date(2026, 3, 2)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def analysed(tenant, ticket, when, label, keywords, signals=None, text="A message"):
    message = MessageFactory(tenant=tenant, ticket=ticket, body_text=text, created_at=when)
    MessageAnalysisFactory(
        tenant=tenant,
        message=message,
        sentiment_label=label,
        keywords=keywords,
        signals=signals or {},
    )


@pytest.fixture
def two_weeks(tenant):
    ticket = TicketFactory(tenant=tenant, created_at=at(BEFORE))
    for day, score in ((BEFORE, 5), (WEEK, 2)):
        SurveyResponseFactory(
            tenant=tenant, ticket=ticket, resolution=day.day, score=score, created_at=at(day)
        )
    SurveyResponseFactory(
        tenant=tenant, kind=SurveyKind.NPS, customer=ticket.customer, score=10, created_at=at(WEEK)
    )
    # complaints about invoices rise (1 -> 3); refunds fall (2 -> 1)
    analysed(tenant, ticket, at(BEFORE), "negative", ["invoice"])
    analysed(tenant, ticket, at(BEFORE), "negative", ["refund"])
    analysed(tenant, ticket, at(BEFORE + timedelta(days=1)), "negative", ["refund"])
    for i in range(3):
        analysed(
            tenant,
            ticket,
            at(WEEK + timedelta(days=i)),
            "negative",
            ["invoice"],
            text=f"The invoice is wrong again ({i})",
        )
    analysed(tenant, ticket, at(WEEK), "negative", ["refund"])
    analysed(tenant, ticket, at(WEEK), "positive", ["invoice"])  # not a complaint
    # confusion: "export" has a help article, "api token" has none
    confused = {"confusion": {"score": 0.8, "phrases": ["how do i"]}}
    analysed(tenant, ticket, at(WEEK), "neutral", ["export"], confused, "How do I export?")
    analysed(tenant, ticket, at(WEEK), "neutral", ["api token"], confused, "Where is my API token?")
    analysed(tenant, ticket, at(WEEK), "neutral", ["api token"], {"confusion": {"score": 0.2}})
    with tenant_context(tenant):
        Article.objects.create(
            tenant=tenant, title="Export your data", slug="export", body="...", state="published"
        )
        Article.objects.create(
            tenant=tenant, title="API token", slug="api", body="Draft", state="draft"
        )
    metrics_rollup_rebuild(tenant=tenant, now=MONDAY_MORNING)
    return ticket


def test_the_digest_compares_the_week_with_the_week_before(tenant, two_weeks):
    assert digest_week_for(tenant=tenant, now=MONDAY_MORNING) == WEEK
    data = digest_data(tenant=tenant, monday=WEEK)
    headline = {h["key"]: h for h in data["headline"]}
    assert (headline["csat"]["value"], headline["csat"]["previous"]) == (0.0, 100.0)
    assert (headline["nps"]["value"], headline["nps"]["previous"]) == (100.0, None)
    assert [t["keyword"] for t in data["rising_themes"]] == ["invoice"]
    theme = data["rising_themes"][0]
    assert (theme["count"], theme["previous"]) == (3, 1)
    assert theme["example"]["text"] == "The invoice is wrong again (2)"  # the latest
    assert [c["keyword"] for c in data["uncovered_confusion"]] == ["api token"]
    assert data["uncovered_confusion"][0]["count"] == 1  # the low-score one is no confusion
    assert [s["name"] for s in data["rising_signals"]] == ["confusion"]
    assert data["dropoffs"] == [] and not data["dropoffs_available"]  # no journey tracked


def test_the_digest_page_and_the_opt_in(client, tenant, member_factory, two_weeks):
    manager = member_factory(tenant, Role.MANAGER, "m@acme.test")
    client.force_login(manager)
    page = client.get(f"/t/acme/dashboards/digest/?week={WEEK.isoformat()}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Rising complaint themes" in html and "invoice" in html
    # every example message links to its ticket
    assert (
        html.count(f'href="/t/acme/tickets/{two_weeks.number}/"') == 3
    )  # theme, signal, confusion
    assert "Email it to me weekly" in html
    response = client.post("/t/acme/dashboards/digest/subscription/", {"weekly": "on"})
    assert response.status_code == 302
    with tenant_context(tenant):
        assert DigestSubscription.objects.for_tenant(tenant).get(user=manager).weekly
    assert "You get this digest" in client.get("/t/acme/dashboards/digest/").content.decode()
    client.post("/t/acme/dashboards/digest/subscription/", {"weekly": ""})
    with tenant_context(tenant):
        assert not DigestSubscription.objects.for_tenant(tenant).get(user=manager).weekly
    assert client.get("/t/acme/dashboards/digest/?week=soon").status_code == 400
    assert client.get("/t/acme/dashboards/digest/?week=2999-01-04").status_code == 400


def test_agents_cannot_subscribe(client, agent, tenant):
    client.force_login(agent)
    assert (
        client.post("/t/acme/dashboards/digest/subscription/", {"weekly": "on"}).status_code == 403
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        digest_subscription_set(tenant=tenant, user=agent, weekly=True)


def test_the_digest_email_goes_to_subscribers_once_a_week(tenant, member_factory, two_weeks):
    manager = member_factory(tenant, Role.MANAGER, "m@acme.test")
    observer = member_factory(tenant, Role.OBSERVER, "o@acme.test")
    quiet = member_factory(tenant, Role.MANAGER, "quiet@acme.test")
    digest_subscription_set(tenant=tenant, user=manager, weekly=True)
    digest_subscription_set(tenant=tenant, user=observer, weekly=True)
    digest_subscription_set(tenant=tenant, user=quiet, weekly=False)
    assert digest_send_due(tenant=tenant, now=MONDAY_MORNING) == 2
    assert digest_send_due(tenant=tenant, now=MONDAY_MORNING + timedelta(hours=1)) == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["m@acme.test", "o@acme.test"]
    message = mail.outbox[0]
    assert "Acme weekly digest" in message.subject
    assert "invoice" in message.body and "api token" in message.body
    assert "/t/acme/dashboards/digest/?week=2026-03-09" in message.body
    assert "Rising complaint themes" in message.alternatives[0][0]
    # next Monday: next week's digest
    assert digest_send_due(tenant=tenant, now=MONDAY_MORNING + timedelta(days=7)) == 2


def test_the_digest_is_due_on_monday_morning_in_the_tenants_time_zone(tenant):
    assert digest_is_due(tenant=tenant, now=MONDAY_MORNING)
    assert not digest_is_due(tenant=tenant, now=MONDAY_MORNING.replace(hour=7))
    assert not digest_is_due(tenant=tenant, now=MONDAY_MORNING + timedelta(days=1))
    tenant.time_zone = "America/New_York"  # 08:30 in Berlin is 03:30 there
    assert not digest_is_due(tenant=tenant, now=MONDAY_MORNING)


def test_the_beat_fan_out_sends_the_digests_that_are_due(
    tenant, other_tenant, member_factory, two_weeks, monkeypatch
):
    member = member_factory(tenant, Role.MANAGER, "m@acme.test")
    digest_subscription_set(tenant=tenant, user=member, weekly=True)
    other_tenant.time_zone = "America/New_York"
    other_tenant.save(update_fields=["time_zone"])
    monkeypatch.setattr("empathy_metrics.tasks.timezone.now", lambda: MONDAY_MORNING)
    assert digest_fanout_task() == 1  # Acme only: in New York it is still night
    assert [m.to for m in mail.outbox] == [["m@acme.test"]]


# --- journey stages whose drop-off rose ------------------------------------------------------


def ingest_journey(tenant, rows):
    from journeys import services as journey_services

    events = [
        {"id": f"d{i}", "name": name, "timestamp": when.isoformat(), "customer_id": customer}
        for i, (customer, name, when) in enumerate(rows)
    ]
    return journey_services.events_ingest(tenant=tenant, events=events)


STAGE_EVENTS = ("Cart viewed", "Checkout started", "Payment started", "Order confirmed")


def reach(customer, stages, day):
    """Events taking ``customer`` through the first ``stages`` stages, an hour apart."""
    return [(customer, STAGE_EVENTS[i], at(day, 9 + i)) for i in range(stages)]


@pytest.fixture
def purchase_weeks(tenant):
    """Purchase (Cart > Checkout > Payment > Confirmation), counted by hand:

    week before (entered 2-8 March): 4 at Cart, 3 at Checkout, 2 at Payment, 1 confirmed
      drop-off: Cart 1/4 = 25%, Checkout 1/3 = 33.3%, Payment 1/2 = 50%
    the week (entered 9-15 March):   5 at Cart, 3 at Checkout, 3 at Payment, 1 confirmed
      drop-off: Cart 2/5 = 40% (rose), Checkout 0/3 = 0% (fell), Payment 2/3 = 66.7% (rose)
    """
    from tests.factories.journeys import journey_make
    from tests.factories.tickets import CustomerFactory

    journey = journey_make(tenant, "Purchase")
    rows = []
    for name, stages in (("p1", 4), ("p2", 3), ("p3", 2), ("p4", 1)):
        CustomerFactory(tenant=tenant, external_id=name)
        rows += reach(name, stages, BEFORE + timedelta(days=1))
    for name, stages in (("w1", 4), ("w2", 3), ("w3", 3), ("w4", 1), ("w5", 1)):
        CustomerFactory(tenant=tenant, external_id=name)
        rows += reach(name, stages, WEEK + timedelta(days=2))
    ingest_journey(tenant, rows)
    return journey


def test_the_digest_lists_the_journey_stages_whose_drop_off_rose(tenant, purchase_weeks):
    data = digest_data(tenant=tenant, monday=WEEK)
    assert data["dropoffs_available"]
    payment, cart = data["dropoffs"]  # the largest rise first; Checkout fell, so it is not here
    assert (payment["journey"], payment["stage"], payment["next_stage"]) == (
        "Purchase",
        "Payment",
        "Confirmation",
    )
    assert payment["dropoff"] == pytest.approx(200 / 3)
    assert payment["previous_dropoff"] == pytest.approx(50.0)
    assert (payment["dropped"], payment["reached"]) == (2, 3)
    assert (payment["previous_dropped"], payment["previous_reached"]) == (1, 2)
    assert (cart["stage"], cart["dropoff"], cart["previous_dropoff"]) == ("Cart", 40.0, 25.0)
    assert (cart["dropped"], cart["reached"]) == (2, 5)
    funnel = f"/t/acme/journeys/{purchase_weeks.public_id}/?start=2026-03-09&end=2026-03-15"
    assert cart["url"] == funnel


def test_the_digest_page_and_email_show_the_drop_off(
    client, tenant, member_factory, purchase_weeks
):
    manager = member_factory(tenant, Role.MANAGER, "m@acme.test")
    client.force_login(manager)
    html = client.get(f"/t/acme/dashboards/digest/?week={WEEK.isoformat()}").content.decode()
    assert "Purchase · Payment" in html and "66.7% dropped off before Confirmation" in html
    assert "(2 of 3; week before: 50.0%, 1 of 2)" in html
    assert (
        f"/t/acme/journeys/{purchase_weeks.public_id}/?start=2026-03-09&amp;end=2026-03-15" in html
    )
    assert "No journeys yet" not in html
    digest_subscription_set(tenant=tenant, user=manager, weekly=True)
    assert digest_send_due(tenant=tenant, now=MONDAY_MORNING) == 1
    message = mail.outbox[0]
    assert "Purchase / Payment: 66.7% dropped off before Confirmation" in message.body
    assert "Purchase / Cart: 40.0% dropped off before Checkout" in message.body
    assert f"/t/acme/journeys/{purchase_weeks.public_id}/?start=2026-03-09" in message.body
    assert "Purchase · Payment" in message.alternatives[0][0]


def test_journeys_whose_drop_off_did_not_rise_say_so(client, tenant, member_factory):
    from tests.factories.journeys import journey_make
    from tests.factories.tickets import CustomerFactory

    journey_make(tenant, "Purchase")
    CustomerFactory(tenant=tenant, external_id="only")
    ingest_journey(tenant, reach("only", 4, WEEK))  # nobody lost this week
    data = digest_data(tenant=tenant, monday=WEEK)
    assert data["dropoffs"] == [] and data["dropoffs_available"]
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    html = client.get(f"/t/acme/dashboards/digest/?week={WEEK.isoformat()}").content.decode()
    assert "No journey stage lost more customers than the week before." in html
    assert "No journeys yet" not in html


def test_without_journeys_the_digest_says_there_are_none(client, tenant, member_factory):
    data = digest_data(tenant=tenant, monday=WEEK)
    assert data["dropoffs"] == [] and not data["dropoffs_available"]
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    html = client.get(f"/t/acme/dashboards/digest/?week={WEEK.isoformat()}").content.decode()
    assert "No journeys yet" in html
