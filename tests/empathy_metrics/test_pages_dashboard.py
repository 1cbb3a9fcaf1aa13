"""The manager's dashboard, its drill-down and its CSV exports: content, bad input, permissions
and tenant isolation."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from empathy_metrics.models import SurveyKind
from empathy_metrics.periods import Filters, local_day, period_from_preset, zone
from empathy_metrics.selectors.drilldown import DRILLS
from empathy_metrics.selectors.rollup import metrics_rollup
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory, SurveyResponseFactory
from tests.factories.tickets import (
    CustomerFactory,
    GroupFactory,
    MessageFactory,
    TagFactory,
    TicketFactory,
)
from tickets.models import TicketEvent, TicketTag

SENTINEL = "SENTINEL-OF-GLOBEX"


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body_of(response))))


@pytest.fixture
def manager(tenant, member_factory):
    return member_factory(tenant, Role.MANAGER, "manager@acme.test")


@pytest.fixture
def world(tenant, agent):
    """A few tickets, answers and analysed messages in the last 90 days of tenant Acme."""
    now = timezone.now()
    group = GroupFactory(tenant=tenant, name="Front line")
    tag = TagFactory(tenant=tenant, name="billing")
    tickets = []
    for i, channel in enumerate(["email", "chat", "email", "web", "email", "chat"]):
        created = now - timedelta(days=2 + i * 7)
        ticket = TicketFactory(
            tenant=tenant,
            channel=channel,
            group=group if i % 2 else None,
            assignee=agent if i < 3 else None,
            status="closed" if i % 3 == 0 else "open",
            created_at=created,
            updated_at=created,
            first_response_at=created + timedelta(hours=1),
            solved_at=created + timedelta(hours=5) if i % 3 == 0 else None,
            reopen_count=1 if i == 3 else 0,
        )
        tickets.append(ticket)
        if i % 2 == 0:
            with tenant_context(tenant):
                TicketTag.objects.create(tenant=tenant, ticket=ticket, tag=tag)
    with tenant_context(tenant):
        TicketEvent.objects.create(
            tenant=tenant, ticket=tickets[1], kind="ticket.escalated", to_value="2", created_at=now
        )
    for i, (ticket, score) in enumerate(zip(tickets[:4], [5, 4, 2, 5], strict=True)):
        SurveyResponseFactory(
            tenant=tenant,
            ticket=ticket,
            agent=agent,
            score=score,
            comment="Lovely help" if i == 0 else "",
            created_at=now - timedelta(days=1 + i),
        )
    SurveyResponseFactory(
        tenant=tenant,
        kind=SurveyKind.NPS,
        customer=tickets[0].customer,
        score=3,
        created_at=now - timedelta(days=3),
    )
    message = MessageFactory(
        tenant=tenant,
        ticket=tickets[0],
        body_text="I cannot find the export button",
        created_at=now,
    )
    MessageAnalysisFactory(
        tenant=tenant,
        message=message,
        sentiment_label="negative",
        sentiment_score=-0.6,
        signals={"confusion": {"score": 0.9, "phrases": ["cannot find"]}},
        keywords=["export button"],
    )
    metrics_rollup_rebuild(tenant=tenant, now=now)
    return {"tickets": tickets, "group": group, "tag": tag, "now": now}


@pytest.fixture
def globex_world(other_tenant, other_admin):
    """Tenant B with the sentinel in every text the dashboards could show."""
    now = timezone.now()
    customer = CustomerFactory(tenant=other_tenant, name=SENTINEL, email="sentinel@globex.test")
    group = GroupFactory(tenant=other_tenant, name=SENTINEL)
    tag = TagFactory(tenant=other_tenant, name=SENTINEL)
    ticket = TicketFactory(
        tenant=other_tenant,
        customer=customer,
        group=group,
        subject=SENTINEL,
        channel="email",
        created_at=now - timedelta(days=1),
    )
    with tenant_context(other_tenant):
        TicketTag.objects.create(tenant=other_tenant, ticket=ticket, tag=tag)
    SurveyResponseFactory(
        tenant=other_tenant, ticket=ticket, score=1, comment=SENTINEL, created_at=now
    )
    message = MessageFactory(tenant=other_tenant, ticket=ticket, body_text=SENTINEL, created_at=now)
    MessageAnalysisFactory(
        tenant=other_tenant,
        message=message,
        sentiment_label="negative",
        signals={"confusion": {"score": 0.9}},
        keywords=[SENTINEL.lower()],
    )
    metrics_rollup_rebuild(tenant=other_tenant, now=now)
    return {"group": group, "tag": tag, "ticket": ticket}


# --- the page ----------------------------------------------------------------------------


def test_the_dashboard_shows_every_headline_figure_with_its_definition(client, manager, world):
    client.force_login(manager)
    response = client.get("/t/acme/dashboards/")
    assert response.status_code == 200
    html = response.content.decode()
    for label in (
        "CSAT",
        "NPS",
        "Customer retention",
        "First response (median)",
        "Resolution (median)",
        "Backlog",
        "SLA attainment",
        "Repeat tickets",
        "Escalation rate",
        "Reopen rate",
        "Negative sentiment",
    ):
        assert label in html
    assert html.count('class="metric-card"') == 12
    assert html.count('class="info-pop"') == 12  # every figure has its definition
    assert "Answers of 4 or 5 divided by all answers" in html
    assert "75.0%" in html  # CSAT: 3 of 4 answers are 4 or 5
    assert "No data" in html  # SLA attainment: no ticket has a policy
    data = json.loads(re.search(r'id="metrics-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert data["bucket"] == "week"
    assert len(data["trend"]["labels"]) == len(data["trend"]["csat"]) >= 13
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/dashboard.js" in html
    assert "<script>" not in html  # no inline scripts (CSP)


@pytest.fixture
def small_base(tenant):
    """5 customers active at the start of the last 90 days, 10 at the end (the 5 others were
    known before and come back): 200% by the formula, on a base of 5."""
    now = timezone.now()
    for i in range(10):
        customer = CustomerFactory(tenant=tenant)
        with tenant_context(tenant):
            type(customer).objects.for_tenant(tenant).filter(pk=customer.pk).update(
                created_at=now - timedelta(days=200)
            )
        if i < 5:
            TicketFactory(tenant=tenant, customer=customer, created_at=now - timedelta(days=95))
        TicketFactory(tenant=tenant, customer=customer, created_at=now - timedelta(days=3))
    metrics_rollup_rebuild(tenant=tenant, now=now)


def test_retention_on_too_small_a_starting_base_says_so_instead_of_a_rate(
    client, manager, small_base, api_client_for
):
    client.force_login(manager)
    html = client.get("/t/acme/dashboards/?period=90d").content.decode()
    card = re.search(r'data-card="retention".*?</article>', html, re.S).group(0)
    assert "Too few customers at the start of the period" in card
    assert "5 active at the start (a rate needs 20)" in card
    assert "10 at the end" in card
    assert "%" not in card.split("metric-card-detail")[0].split("metric-card-value")[1]
    assert "200.0%" not in html

    api = api_client_for(manager).get("/api/v1/t/acme/metrics/?period=90d").json()
    retention = api["figures"]["retention"]
    assert retention["value"] is None
    assert retention["reason"] == "too_few_customers_at_start"
    assert (retention["start_active"], retention["end_active"]) == (5, 10)

    rows = csv_rows(client.get("/t/acme/dashboards/export.csv?table=cards&period=90d"))
    row = next(r for r in rows if r[0] == "Customer retention")
    assert row[2] == ""  # no rate; the detail column keeps the counts
    assert "5 active at the start" in row[4]


def test_the_period_and_filters_change_the_figures(client, manager, world):
    client.force_login(manager)
    week = client.get("/t/acme/dashboards/?period=7d")
    assert week.status_code == 200
    assert week.context["data"]["figures"]["tickets"] == 1
    assert week.context["data"]["bucket_unit"] == "day"
    email = client.get("/t/acme/dashboards/?channel=email")
    assert email.context["data"]["figures"]["tickets"] == 3
    assert "channel" not in email.context["data"]["breakdowns"]  # filtered: no breakdown
    today = local_day(world["now"], zone("Europe/Berlin"))
    custom = client.get(
        "/t/acme/dashboards/",
        {"period": "custom", "from": (today - timedelta(days=10)).isoformat(), "to": today},
    )
    assert custom.context["data"]["figures"]["tickets"] == 2
    assert custom.context["data"]["period"].days == 11
    monthly = client.get("/t/acme/dashboards/?period=365d&bucket=month")
    assert monthly.context["data"]["bucket_unit"] == "month"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=forever", "Unknown period"),
        ("period=custom&from=2026-01-01", "needs a start and an end"),
        ("period=custom&from=2026-02-10&to=2026-02-01", "ends before it starts"),
        ("period=custom&from=yesterday&to=2026-02-01", "must look like"),
        ("period=custom&from=2020-01-01&to=2026-01-01", "at most"),
        ("channel=fax", "Unknown channel"),
        ("group=abc", "must be a number"),
        ("agent=-3", "must be a number"),
        ("bucket=hour", "day, week or month"),
    ],
)
def test_bad_input_is_a_400_with_a_message(client, manager, world, query, message):
    client.force_login(manager)
    response = client.get(f"/t/acme/dashboards/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    drill = client.get(f"/t/acme/dashboards/drill/?metric=tickets&{query}")
    assert drill.status_code == 400
    export = client.get(f"/t/acme/dashboards/export.csv?table=cards&{query}")
    assert export.status_code == 400
    assert message in export.content.decode()


def test_roles_who_may_see_the_dashboard(client, tenant, member_factory, world):
    for role, status in [
        (Role.ADMIN, 200),
        (Role.MANAGER, 200),
        (Role.OBSERVER, 200),
        (Role.AGENT, 403),
        (Role.SPECIALIST, 403),
    ]:
        client.force_login(member_factory(tenant, role, f"{role}-dash@acme.test"))
        assert client.get("/t/acme/dashboards/").status_code == status, role
        assert client.get("/t/acme/dashboards/drill/?metric=csat").status_code == status, role
        assert client.get("/t/acme/dashboards/export.csv?table=tickets").status_code == status


def test_the_dashboard_asks_for_a_rollup_run_when_none_exists(
    client, manager, tenant, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/t/acme/dashboards/")
    assert response.status_code == 200
    assert response.context["preparing"] is True
    from empathy_metrics.models import RollupState

    with tenant_context(tenant):
        assert RollupState.objects.for_tenant(tenant).get().last_rebuild_at is not None


# --- drill-down ----------------------------------------------------------------------------


FIGURE_COUNTS = {
    "tickets": lambda f: f["tickets"],
    "frt": lambda f: f["frt"]["count"],
    "resolution": lambda f: f["resolution"]["count"],
    "repeats": lambda f: f["repeat_rate"]["repeats"],
    "escalated": lambda f: f["escalation_rate"]["escalated"],
    "reopened": lambda f: f["reopen_rate"]["reopened"],
    "solved_ever": lambda f: f["reopen_rate"]["solved"],
    "sla_attained": lambda f: f["sla"]["attained"],
    "sla_missed": lambda f: f["sla"]["missed"],
    "backlog": lambda f: f["backlog"]["value"],
    "csat": lambda f: f["csat"]["count"],
    "csat_satisfied": lambda f: f["csat"]["satisfied"],
    "csat_unsatisfied": lambda f: f["csat"]["count"] - f["csat"]["satisfied"],
    "nps": lambda f: f["nps"]["count"],
    "promoters": lambda f: f["nps"]["promoters"],
    "passives": lambda f: f["nps"]["passives"],
    "detractors": lambda f: f["nps"]["detractors"],
    "messages": lambda f: f["sentiment"]["messages"],
    "negative": lambda f: f["sentiment"]["negative"],
    "neutral": lambda f: f["sentiment"]["neutral"],
    "positive": lambda f: f["sentiment"]["positive"],
    "active_start": lambda f: f["retention"]["start_active"],
    "active_end": lambda f: f["retention"]["end_active"],
}


@pytest.mark.parametrize("query", ["", "channel=email", "agent=AGENT", "tag=TAG", "group=0"])
def test_every_drill_down_lists_exactly_the_rows_behind_its_figure(
    client, manager, tenant, agent, world, query
):
    query = query.replace("AGENT", str(agent.pk)).replace("TAG", str(world["tag"].pk))
    client.force_login(manager)
    tz = zone(tenant.time_zone)
    period = period_from_preset("90d", today=local_day(timezone.now(), tz), tz=tz)
    params = dict(p.split("=") for p in query.split("&") if p)
    filters = Filters(
        channel=params.get("channel"),
        group=int(params["group"]) if "group" in params else None,
        agent=int(params["agent"]) if "agent" in params else None,
        tag=int(params["tag"]) if "tag" in params else None,
    )
    figures = metrics_rollup(tenant=tenant, period=period, filters=filters, now=timezone.now())
    others = {"comments", "signal", "keyword", "acquired", "answers", "corrected", "feedback"}
    others |= {m for m in DRILLS if m.startswith("stage_")}  # test_selectors_journey_stages
    # "corrected": test_corrections_in_metrics; "feedback": test_selectors_feedback
    assert set(FIGURE_COUNTS) | others == set(DRILLS)
    for metric, count_of in FIGURE_COUNTS.items():
        response = client.get(f"/t/acme/dashboards/drill/?metric={metric}&{query}")
        assert response.status_code == 200, metric
        expected = count_of(figures)
        if metric in ("nps", "promoters", "passives", "detractors", "active_start", "active_end"):
            expected = count_of(
                metrics_rollup(tenant=tenant, period=period, filters=Filters(), now=timezone.now())
            )
        assert response.context["page"].paginator.count == expected, (metric, query)
    signal = client.get(f"/t/acme/dashboards/drill/?metric=signal&signal=confusion&{query}")
    assert signal.context["page"].paginator.count == figures["signals"].get("confusion", 0)
    keyword = client.get(f"/t/acme/dashboards/drill/?metric=keyword&keyword=export+button&{query}")
    assert keyword.context["page"].paginator.count == dict(figures["keywords"]).get(
        "export button", 0
    )


def test_drilling_into_a_figure_shows_the_tickets_with_their_figures(client, manager, world):
    client.force_login(manager)
    response = client.get("/t/acme/dashboards/drill/?metric=resolution&channel=email")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Solved or closed tickets" in html
    numbers = {t.number for t in world["tickets"] if t.channel == "email" and t.solved_at}
    for number in numbers:
        assert f"ACME-{number}" in html
    assert "Channel: <strong>Email</strong>" in html


def test_an_unknown_figure_is_a_400(client, manager, world):
    client.force_login(manager)
    assert client.get("/t/acme/dashboards/drill/?metric=salary").status_code == 400
    assert client.get("/t/acme/dashboards/drill/?metric=signal").status_code == 400
    assert client.get("/t/acme/dashboards/export.csv?table=drill&metric=nope").status_code == 400


# --- CSV exports ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table", ["cards", "trend", "channel", "group", "agent", "tag", "keywords", "signals"]
)
def test_every_table_exports_as_csv(client, manager, world, table):
    client.force_login(manager)
    response = client.get(f"/t/acme/dashboards/export.csv?table={table}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) >= 2, rows


def test_the_per_ticket_export_has_one_row_per_ticket_with_its_figures(
    client, manager, world, agent
):
    client.force_login(manager)
    response = client.get("/t/acme/dashboards/export.csv?table=tickets")
    assert response.streaming
    header, *rows = csv_rows(response)
    assert header[:12] == [
        "reference",
        "number",
        "created_at",
        "channel",
        "group",
        "agent",
        "status",
        "first_response_business_minutes",
        "resolution_business_minutes",
        "reopen_count",
        "escalated",
        "csat",
    ]
    assert len(rows) == 6
    by_number = {int(row[1]): dict(zip(header, row, strict=True)) for row in rows}
    first = by_number[world["tickets"][0].number]
    assert first["csat"] == "5"
    assert first["tags"] == "billing"
    assert first["agent"] == (agent.full_name or agent.email)
    assert by_number[world["tickets"][1].number]["escalated"] == "yes"
    assert by_number[world["tickets"][3].number]["reopen_count"] == "1"


def test_drill_down_lists_export_as_csv_and_defuse_formulas(client, manager, tenant, world, agent):
    ticket = world["tickets"][4]
    SurveyResponseFactory(
        tenant=tenant,
        ticket=ticket,
        agent=agent,
        score=1,
        comment='=HYPERLINK("http://evil")',
        created_at=timezone.now(),
    )
    metrics_rollup_rebuild(tenant=tenant, now=timezone.now())
    client.force_login(manager)
    response = client.get("/t/acme/dashboards/export.csv?table=drill&metric=comments")
    header, *rows = csv_rows(response)
    assert header[0] == "kind"
    comments = [row[2] for row in rows]
    assert '\'=HYPERLINK("http://evil")' in comments
    assert "Lovely help" in comments


# --- tenant isolation ------------------------------------------------------------------------


def test_no_figure_or_export_shows_another_tenants_data(client, manager, world, globex_world):
    client.force_login(manager)
    group, tag = globex_world["group"], globex_world["tag"]
    urls = [
        "/t/acme/dashboards/",
        f"/t/acme/dashboards/?group={group.pk}",
        f"/t/acme/dashboards/?tag={tag.pk}",
        "/t/acme/dashboards/digest/",
        "/t/acme/me/metrics/",
        "/api/v1/t/acme/metrics/",
        "/api/v1/t/acme/metrics/tickets/",
        *(f"/t/acme/dashboards/drill/?metric={m}" for m in FIGURE_COUNTS),
        f"/t/acme/dashboards/drill/?metric=tickets&group={group.pk}",
        "/t/acme/dashboards/drill/?metric=signal&signal=confusion",
        f"/t/acme/dashboards/drill/?metric=keyword&keyword={SENTINEL.lower()}",
        *(
            f"/t/acme/dashboards/export.csv?table={t}"
            for t in ("cards", "trend", "channel", "group", "agent", "tag", "keywords", "signals")
        ),
        "/t/acme/dashboards/export.csv?table=tickets",
        f"/t/acme/dashboards/export.csv?table=tickets&tag={tag.pk}",
        "/t/acme/dashboards/export.csv?table=drill&metric=comments",
        "/t/acme/dashboards/export.csv?table=drill&metric=active_end",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 400), url
        assert SENTINEL not in body_of(response), url
        if "keyword=" not in url:  # the keyword page repeats the keyword that was asked for
            assert SENTINEL.lower() not in body_of(response).lower(), url
    keyword = client.get(f"/t/acme/dashboards/drill/?metric=keyword&keyword={SENTINEL.lower()}")
    assert keyword.context["page"].paginator.count == 0
    # A foreign group or tag id filters down to nothing, it never reveals B's figures.
    response = client.get(f"/t/acme/dashboards/?tag={tag.pk}")
    assert response.context["data"]["figures"]["tickets"] == 0


def test_another_tenants_members_get_404_everywhere(client, other_admin, world):
    client.force_login(other_admin)
    for url in (
        "/t/acme/dashboards/",
        "/t/acme/dashboards/drill/?metric=tickets",
        "/t/acme/dashboards/export.csv?table=tickets",
        "/t/acme/dashboards/digest/",
        "/t/acme/me/metrics/",
        "/t/acme/admin/surveys/",
        "/api/v1/t/acme/metrics/",
        "/api/v1/t/acme/metrics/tickets/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Lovely help" not in body_of(response)
