"""The manager's dashboard in a real browser (Chromium, Playwright sync API, real ASGI server).

A manager signs in, opens the dashboard (cards, sparklines, charts drawn by the vendored Chart.js),
changes the period, and drills down from a figure to the tickets behind it, then from a chart
point to the answers behind it. Screenshots go to /tmp/shots-ws/ (HELPDESK_SHOTS_DIR).
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from empathy_metrics.models import SurveyKind
from empathy_metrics.periods import local_day, period_from_preset, zone
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory, SurveyResponseFactory
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import (
    CustomerFactory,
    GroupFactory,
    MessageFactory,
    TagFactory,
    TicketFactory,
)
from tickets.models import Customer, Ticket, TicketEvent, TicketTag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000
COMPLAINTS = [
    "I was charged twice for my invoice and nobody answers, this is the third time I ask.",
    "I don't understand how to export the report, where is the button?",
    "Urgent: our team cannot log in since this morning.",
    "Thanks a lot, the refund arrived. Great help!",
    "The invoice shows the wrong VAT number again.",
]


@pytest.fixture
def dashboard_world():
    rng = random.Random(11)
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    manager = UserFactory(email="mia@acme.test", full_name="Mia Manager", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=manager, role=Role.MANAGER)
    agents = []
    for email, name in [("dana@acme.test", "Dana Scully"), ("eli@acme.test", "Eli Brooks")]:
        user = UserFactory(email=email, full_name=name, password=PASSWORD)
        Membership.objects.create(tenant=tenant, user=user, role=Role.AGENT)
        agents.append(user)
    groups = [
        GroupFactory(tenant=tenant, name="Front line"),
        GroupFactory(tenant=tenant, name="Billing"),
    ]
    tags = [TagFactory(tenant=tenant, name=n) for n in ("invoice", "login", "export")]
    now = timezone.now()
    customers = [CustomerFactory(tenant=tenant) for _ in range(40)]
    with tenant_context(tenant):
        for i, customer in enumerate(customers):  # customers since long ago, and new ones
            since = now - timedelta(days=400 if i < 30 else rng.uniform(1, 100))
            Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(created_at=since)
    tickets = []
    for i in range(160):
        # on working days, mostly in opening hours (09:00-17:00 in Berlin)
        day = now - timedelta(days=rng.randint(0, 120))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        created = day.replace(hour=rng.randint(6, 16), minute=rng.randint(0, 59))
        if created > now:
            created -= timedelta(days=7)
        status = rng.choice(["open", "pending", "solved", "closed", "closed", "closed"])
        ticket = TicketFactory(
            tenant=tenant,
            customer=rng.choice(
                customers[:30] if created < now - timedelta(days=100) else customers
            ),
            subject=f"Request {i}: {rng.choice(['invoice', 'login', 'export', 'refund'])}",
            channel=rng.choice(["email", "chat", "web"]),
            status=status,
            group=rng.choice(groups),
            assignee=rng.choice(agents),
            created_at=created,
            updated_at=created,
            first_response_at=created + timedelta(minutes=rng.randint(5, 600)),
            solved_at=created + timedelta(hours=rng.randint(1, 60))
            if status in ("solved", "closed")
            else None,
            reopen_count=1 if rng.random() < 0.1 else 0,
        )
        tickets.append(ticket)
        with tenant_context(tenant):
            TicketTag.objects.create(tenant=tenant, ticket=ticket, tag=rng.choice(tags))
            if rng.random() < 0.12:
                TicketEvent.objects.create(
                    tenant=tenant,
                    ticket=ticket,
                    kind="ticket.escalated",
                    to_value="2",
                    created_at=created + timedelta(hours=1),
                )
    solved = [t for t in tickets if t.status in ("solved", "closed")]
    for ticket in solved[:70]:
        SurveyResponseFactory(
            tenant=tenant,
            ticket=ticket,
            agent=ticket.assignee,
            resolution=0,
            score=rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 6])[0],
            comment=rng.choice(["", "", "Quick and kind, thank you.", "Took too long."]),
            created_at=ticket.solved_at + timedelta(hours=2),
        )
    for _ in range(40):
        SurveyResponseFactory(
            tenant=tenant,
            kind=SurveyKind.NPS,
            customer=rng.choice(customers),
            score=rng.choices(range(11), [1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 5])[0],
            created_at=now - timedelta(days=rng.uniform(0, 120)),
        )
    for ticket in rng.sample(tickets, 90):
        text = rng.choice(COMPLAINTS)
        message = MessageFactory(
            tenant=tenant, ticket=ticket, body_text=text, created_at=ticket.created_at
        )
        negative = "Thanks" not in text
        signals = {}
        if "understand" in text:
            signals["confusion"] = {"score": 0.8, "phrases": ["don't understand"]}
        if "third time" in text or "again" in text:
            signals["frustration"] = {"score": 0.85, "phrases": ["again"]}
        if "Urgent" in text:
            signals["urgency"] = {"score": 0.9, "phrases": ["urgent"]}
        MessageAnalysisFactory(
            tenant=tenant,
            message=message,
            sentiment_label="negative" if negative else "positive",
            sentiment_score=-0.7 if negative else 0.8,
            signals=signals,
            keywords=[
                w
                for w in ("invoice", "export", "log in", "refund", "vat number")
                if w in text.lower()
            ],
        )
    metrics_rollup_rebuild(tenant=tenant, now=now)
    tz = zone(tenant.time_zone)
    month = period_from_preset("30d", today=local_day(now, tz), tz=tz)
    with tenant_context(tenant):
        recent = (
            Ticket.objects.for_tenant(tenant)
            .filter(created_at__gte=month.start_at, created_at__lt=month.end_at)
            .count()
        )
    return {
        "tenant": tenant,
        "recent_tickets": recent,
        "month": (month.start.isoformat(), month.end.isoformat()),
    }


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    return errors


def sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


def card_value(page: Page, key: str) -> str:
    return page.locator(f"[data-card={key}] .metric-card-value").inner_text().strip()


def test_manager_opens_the_dashboard_changes_the_period_and_drills_down(
    dashboard_world, asgi_server, chromium, shots_dir
):
    base = asgi_server
    expected_tickets = dashboard_world["recent_tickets"]  # read before the browser starts
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1100})
        page = context.new_page()
        errors = watch_errors(page)

        sign_in(page, base, "mia@acme.test", "/t/acme/dashboards/")
        expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        expect(page.locator("[data-card]")).to_have_count(12)
        for chart in ("satisfaction", "times", "volume", "rates", "sentiment", "retention"):
            expect(page.locator(f"canvas[data-chart={chart}]")).to_have_attribute(
                "data-chart-ready", "true", timeout=TIMEOUT
            )
        expect(page.locator(".page-subtitle")).to_contain_text("compared with")
        assert re.fullmatch(r"\d+(\.\d)?%", card_value(page, "csat")), card_value(page, "csat")
        page.screenshot(path=str(shots_dir / "metrics-01-dashboard.png"), full_page=True)
        page.screenshot(path=str(shots_dir / "metrics-01-dashboard-top.png"))
        page.locator(".chart-grid").screenshot(path=str(shots_dir / "metrics-01-charts.png"))
        page.locator(".breakdown-grid").screenshot(
            path=str(shots_dir / "metrics-01-breakdowns.png")
        )

        # The definition of a figure is behind its info icon.
        page.locator("[data-card=nps] .info-pop-button").click()
        expect(page.locator("[data-card=nps] .info-pop-panel")).to_contain_text("promoters (9")
        page.screenshot(path=str(shots_dir / "metrics-02-definition.png"))
        page.keyboard.press("Escape")

        # Change the period: the page reloads with the new period in the address.
        page.get_by_label("Period", exact=True).select_option("30d")
        page.wait_for_url(re.compile(r"period=30d"))
        expect(page.locator(".page-subtitle")).to_contain_text("compared with")
        expect(page.get_by_label("Period", exact=True)).to_have_value("30d")
        tickets_30d = card_value(page, "tickets")
        assert int(tickets_30d.replace(",", "")) == expected_tickets
        page.screenshot(path=str(shots_dir / "metrics-03-dashboard-30-days.png"), full_page=True)

        # Drill down from the figure to the tickets behind it.
        page.locator("[data-card=tickets] .metric-card-value").click()
        page.wait_for_url(re.compile(r"/dashboards/drill/\?.*metric=tickets"))
        expect(page.locator("[data-drill-count]")).to_have_text(tickets_30d)
        rows = page.locator("[data-drill-table] tbody tr")
        expect(rows.first).to_be_visible()
        expect(rows.first.locator("a.ref")).to_contain_text("ACME-")
        page.screenshot(path=str(shots_dir / "metrics-04-drill-tickets.png"), full_page=True)

        # And from a chart point (the last CSAT point) to the answers behind it.
        page.go_back()
        canvas = page.locator("canvas[data-chart=satisfaction]")
        expect(canvas).to_have_attribute("data-chart-ready", "true", timeout=TIMEOUT)
        box = canvas.bounding_box()
        point = page.evaluate(
            """() => {
                const chart = Chart.getChart(document.querySelector('canvas[data-chart=satisfaction]'));
                const meta = chart.getDatasetMeta(0);
                for (let i = meta.data.length - 1; i >= 0; i--) {
                    const p = meta.data[i];
                    if (!p.skip && Number.isFinite(p.y)) return {x: p.x, y: p.y, i: i};
                }
                return null;
            }"""
        )
        assert point is not None
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        page.wait_for_url(re.compile(r"/dashboards/drill/\?.*metric=csat"))
        expect(page.get_by_role("heading", level=1)).to_have_text("CSAT answers")
        page.screenshot(path=str(shots_dir / "metrics-05-drill-chart-point.png"), full_page=True)

        # A custom period: the same 30 days typed as dates give the same figure.
        page.go_back()
        expect(page.get_by_label("Period", exact=True)).to_have_value("30d")
        first, last = dashboard_world["month"]
        page.get_by_label("Period", exact=True).select_option("custom")
        page.get_by_label("First day").fill(first)
        page.get_by_label("Last day").fill(last)
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"period=custom"))
        expect(page.get_by_label("Period", exact=True)).to_have_value("custom")
        assert card_value(page, "tickets") == tickets_30d
        page.screenshot(path=str(shots_dir / "metrics-05b-custom-period.png"), full_page=True)

        # Phones get a readable single column.
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        small = phone.new_page()
        sign_in(small, base, "mia@acme.test", "/t/acme/dashboards/")
        expect(small.locator("[data-card]").first).to_be_visible()
        small.screenshot(path=str(shots_dir / "metrics-06-phone.png"), full_page=True)

        assert errors == []
        context.close()
        phone.close()


@pytest.fixture
def survey_world():
    from empathy_metrics.services_nps import survey_token_for
    from tests.empathy_metrics.factories import SurveyRequestFactory

    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    admin = UserFactory(email="ada@acme.test", full_name="Ada Admin", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    customer = CustomerFactory(tenant=tenant, name="Grace Hopper", email="grace@navy.test")
    request = SurveyRequestFactory(tenant=tenant, customer=customer, sent_at=timezone.now())
    return {"tenant": tenant, "token": survey_token_for(survey_request=request)}


def test_a_customer_answers_the_nps_survey_and_an_admin_words_it(
    survey_world, asgi_server, chromium, shots_dir
):
    base, token = asgi_server, survey_world["token"]
    tenant = survey_world["tenant"]
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{base}/survey/{token}/?score=8")  # the "8" link of the email
        expect(page.locator("input[name=score][value='8']")).to_be_checked()
        page.get_by_label("What is the main reason for your score?").fill("Quick, kind answers.")
        page.screenshot(path=str(shots_dir / "metrics-07-nps-survey.png"), full_page=True)
        page.get_by_role("button", name="Send my answer").click()
        expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
        page.screenshot(path=str(shots_dir / "metrics-08-nps-thanks.png"), full_page=True)

        sign_in(page, base, "ada@acme.test", "/t/acme/admin/surveys/")
        expect(page.get_by_role("heading", name="Surveys", level=1)).to_be_visible()
        page.get_by_label("Stars").check()
        page.get_by_label("Extra question 1").fill("How easy was it to reach us?")
        page.screenshot(path=str(shots_dir / "metrics-09-survey-settings.png"), full_page=True)
        page.get_by_role("button", name="Save survey settings").click()
        expect(page.locator(".flash-stack")).to_contain_text("Survey settings saved.")
        page.goto(f"{base}/t/acme/dashboards/digest/")
        expect(page.get_by_role("heading", name="Weekly digest", level=1)).to_be_visible()
        page.screenshot(path=str(shots_dir / "metrics-10-digest.png"), full_page=True)
        assert errors == []
        context.close()
    from empathy_metrics.models import SurveyResponse, SurveySettings

    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
        settings_row = SurveySettings.objects.for_tenant(tenant).get()
    assert (answer.score, answer.comment) == (8, "Quick, kind answers.")
    assert settings_row.csat_scale == "stars"
    assert settings_row.extra_questions[0]["text"] == "How easy was it to reach us?"
