"""The analysis of survey comments is used: the digest's complaint and confusion themes include
CSAT comments, NPS reasons and help-page feedback (and count messages with the agents'
corrections), and the NPS and CSAT drills show each comment's sentiment. Hand-made data."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from empathy_metrics.models import SurveyKind
from empathy_metrics.selectors.digest import digest_data
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory, SurveyResponseFactory
from tests.factories.tickets import CustomerFactory, MessageFactory, TicketFactory
from tickets.services.analysis import analysis_correct

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_MORNING = datetime(2026, 3, 16, 8, 30, tzinfo=BERLIN)
WEEK = date(2026, 3, 9)  # Monday 9 to Sunday 15 March
BEFORE = date(2026, 3, 2)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def analysis(label: str, keywords: list[str], signals: dict | None = None) -> dict:
    return {
        "model_version": "test-1",
        "language": "en",
        "is_supported_language": True,
        "sentiment_label": label,
        "sentiment_score": {"negative": -0.7, "neutral": 0.0, "positive": 0.7}[label],
        "signals": signals or {},
        "keywords": keywords,
    }


CONFUSED = {"confusion": {"score": 0.8, "phrases": ["where do i"]}}


def message(tenant, ticket, when, label, keywords, signals=None, text="A message"):
    found = MessageFactory(tenant=tenant, ticket=ticket, body_text=text, created_at=when)
    MessageAnalysisFactory(
        tenant=tenant,
        message=found,
        sentiment_label=label,
        keywords=keywords,
        signals=signals or {},
    )
    return found


def answer(tenant, kind, when, text, extra, **fields):
    score = {SurveyKind.CSAT: 2, SurveyKind.NPS: 3, SurveyKind.FEEDBACK: None}[kind]
    return SurveyResponseFactory(
        tenant=tenant,
        kind=kind,
        score=fields.pop("score", score),
        comment=text,
        extra_answers={"_analysis": extra} if extra else {},
        created_at=when,
        **fields,
    )


@pytest.fixture
def berlin(tenant):
    tenant.time_zone = "Europe/Berlin"
    tenant.save(update_fields=["time_zone"])
    return tenant


@pytest.fixture
def weeks(berlin):
    tenant = berlin
    ticket = TicketFactory(tenant=tenant, created_at=at(BEFORE))
    customer = CustomerFactory(tenant=tenant)
    message(tenant, ticket, at(BEFORE), "negative", ["invoice"])  # the week before: 1
    # This week, a message an agent corrected to neutral: no complaint any more.
    corrected = message(tenant, ticket, at(WEEK), "negative", ["invoice"])
    analysis_correct(
        tenant=tenant, actor=None, message=corrected, field="sentiment", corrected="neutral"
    )
    # Survey comments of the week: a CSAT comment on the ticket, an NPS reason and feedback.
    answer(
        tenant,
        SurveyKind.CSAT,
        at(WEEK + timedelta(days=1)),
        "The invoice was wrong twice",
        analysis("negative", ["invoice"]),
        ticket=ticket,
    )
    answer(
        tenant,
        SurveyKind.NPS,
        at(WEEK + timedelta(days=2)),
        "Invoice and pricing are a mess",
        analysis("negative", ["invoice", "pricing"]),
        customer=customer,
    )
    answer(
        tenant,
        SurveyKind.NPS,
        at(WEEK + timedelta(days=2)),
        "Love the invoice view",
        analysis("positive", ["invoice"]),
        customer=customer,
        score=10,
    )
    answer(
        tenant,
        SurveyKind.FEEDBACK,
        at(WEEK + timedelta(days=3)),
        "Where do I find my API token?",
        analysis("neutral", ["api token"], CONFUSED),
    )
    answer(tenant, SurveyKind.FEEDBACK, at(WEEK), "Not analysed yet", None)  # waits
    # Confusion on messages: one found by an agent, one the agent said was not confusion.
    found = message(tenant, ticket, at(WEEK), "neutral", ["csv export"], text="CSV export?")
    analysis_correct(
        tenant=tenant, actor=None, message=found, field="confusion", corrected="present"
    )
    wrong = message(tenant, ticket, at(WEEK), "neutral", ["login"], CONFUSED)
    analysis_correct(
        tenant=tenant, actor=None, message=wrong, field="confusion", corrected="absent"
    )
    metrics_rollup_rebuild(tenant=tenant, now=MONDAY_MORNING)
    return tenant, ticket


def test_the_digest_themes_include_survey_comments_and_corrections(weeks):
    tenant, ticket = weeks
    data = digest_data(tenant=tenant, monday=WEEK)
    themes = {t["keyword"]: t for t in data["rising_themes"]}
    assert list(themes) == ["invoice", "pricing"]
    invoice = themes["invoice"]
    # this week: the CSAT comment and the NPS reason (the corrected message no longer counts,
    # the positive reason never did); the week before: one message
    assert (invoice["count"], invoice["previous"], invoice["rise"]) == (2, 1, 1)
    assert invoice["comments"] == 2
    assert invoice["example"]["text"] == "The invoice was wrong twice"  # the latest with a ticket
    assert invoice["example"]["ticket_number"] == ticket.number
    assert invoice["example"]["source"] == "CSAT comment"
    pricing = themes["pricing"]
    assert (pricing["count"], pricing["previous"], pricing["comments"]) == (1, 0, 1)
    assert pricing["example"] is None
    assert pricing["comment_example"]["text"] == "Invoice and pricing are a mess"
    assert pricing["comment_example"]["source"] == "NPS reason"

    confusion = {c["keyword"]: c for c in data["uncovered_confusion"]}
    assert set(confusion) == {"api token", "csv export"}
    assert confusion["api token"]["comment_example"]["source"] == "Help-page feedback"
    assert confusion["api token"]["comments"] == 1
    assert confusion["csv export"]["example"]["text"] == "CSV export?"
    assert confusion["csv export"]["comments"] == 0


def test_the_digest_page_shows_the_comment_themes(weeks, client, member_factory):
    tenant, _ticket = weeks
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    page = client.get(f"/t/acme/dashboards/digest/?week={WEEK.isoformat()}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "pricing" in html and "api token" in html


def test_the_nps_and_csat_drills_show_each_comments_sentiment(weeks, client, member_factory):
    tenant, _ticket = weeks
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    query = f"period=custom&from={WEEK.isoformat()}&to={(WEEK + timedelta(days=6)).isoformat()}"
    nps = client.get(f"/t/acme/dashboards/drill/?metric=nps&{query}")
    assert nps.status_code == 200
    rows = {r["response"].comment: r["comment_analysis"] for r in nps.context["rows"]}
    assert rows["Invoice and pricing are a mess"]["label"] == "negative"
    assert rows["Love the invoice view"]["label"] == "positive"
    html = nps.content.decode()
    assert html.count("data-comment-sentiment") == 2
    assert 'sentiment-pill--negative">negative' in html
    assert 'sentiment-pill--positive">positive' in html

    csat = client.get(f"/t/acme/dashboards/drill/?metric=comments&{query}")
    assert [r["comment_analysis"]["label"] for r in csat.context["rows"]] == ["negative"]

    export = client.get(f"/t/acme/dashboards/export.csv?metric=nps&table=drill&{query}")
    table = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    column = table[0].index("comment_sentiment")
    assert sorted(r[column] for r in table[1:]) == ["negative", "positive"]


def test_an_unanalysed_comment_says_so_in_the_drill(berlin, client, member_factory):
    tenant = berlin
    customer = CustomerFactory(tenant=tenant)
    answer(tenant, SurveyKind.NPS, at(WEEK), "Too slow", None, customer=customer)
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    query = f"period=custom&from={WEEK.isoformat()}&to={(WEEK + timedelta(days=6)).isoformat()}"
    html = client.get(f"/t/acme/dashboards/drill/?metric=nps&{query}").content.decode()
    assert "not analysed yet" in html
