"""The reports of the extra survey questions: hand-computed figures, "no data", the dashboard
section, the drill-down to the answers, the CSV export, and tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from empathy_metrics.models import SurveyKind
from empathy_metrics.periods import local_day, period_from_preset, zone
from empathy_metrics.selectors.questions import extra_question_reports
from empathy_metrics.services_nps import survey_settings_update
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import SurveyResponseFactory
from tests.empathy_metrics.test_pages_dashboard import SENTINEL, body_of, csv_rows
from tests.factories.tickets import TicketFactory

QUESTIONS = [
    {"text": "How easy was it to reach us?", "kind": "rating"},
    {"text": "What should we do better?", "kind": "text"},
]


def last_30_days(tenant):
    tz = zone(tenant.time_zone)
    return period_from_preset("30d", today=local_day(timezone.now(), tz), tz=tz)


@pytest.fixture
def answers(tenant, other_tenant):
    survey_settings_update(tenant=tenant, actor=None, extra_questions=QUESTIONS)
    survey_settings_update(tenant=other_tenant, actor=None, extra_questions=QUESTIONS)
    now = timezone.now()
    ticket = TicketFactory(tenant=tenant, created_at=now - timedelta(days=3))
    given = [  # (kind, extra answers, days ago)
        (SurveyKind.CSAT, {"q1": 5, "q2": "Answer faster on Mondays"}, 1),
        (SurveyKind.CSAT, {"q1": 4}, 2),
        (SurveyKind.NPS, {"q1": 2, "q2": "Fewer forms"}, 3),
        (SurveyKind.NPS, {}, 4),  # answered the survey, not the extra questions
        (SurveyKind.CSAT, {"q1": 1, "q2": "Too old to count"}, 45),  # before the period
    ]
    for resolution, (kind, extra, days) in enumerate(given):  # CSAT: one per resolution
        SurveyResponseFactory(
            tenant=tenant,
            kind=kind,
            resolution=resolution,
            ticket=ticket if kind == SurveyKind.CSAT else None,
            customer=ticket.customer,
            score=9 if kind == SurveyKind.NPS else 4,
            extra_answers=extra,
            created_at=now - timedelta(days=days),
        )
    SurveyResponseFactory(
        tenant=other_tenant,
        kind=SurveyKind.NPS,
        customer=TicketFactory(tenant=other_tenant).customer,
        score=0,
        extra_answers={"q1": 1, "q2": SENTINEL},
        created_at=now - timedelta(days=1),
    )
    return ticket


def test_rated_and_free_text_questions_against_hand_computed_figures(tenant, answers):
    config = [{**q, "id": f"q{i}"} for i, q in enumerate(QUESTIONS, start=1)]
    rated, text = extra_question_reports(
        tenant=tenant, period=last_30_days(tenant), questions=config
    )
    assert rated["count"] == 3
    assert rated["average"] == pytest.approx((5 + 4 + 2) / 3)
    assert rated["satisfied"] == pytest.approx(200 / 3)  # 4 and 5: two of three
    assert [(r, n) for r, n, _share in rated["spread"]] == [(1, 0), (2, 1), (3, 0), (4, 1), (5, 1)]
    assert text["count"] == 2
    assert [e["text"] for e in text["examples"]] == ["Answer faster on Mondays", "Fewer forms"]
    assert text["examples"][0]["ticket_number"] == answers.number


def test_no_answers_is_no_data_not_zero(tenant):
    survey_settings_update(tenant=tenant, actor=None, extra_questions=QUESTIONS)
    config = [{**q, "id": f"q{i}"} for i, q in enumerate(QUESTIONS, start=1)]
    rated, text = extra_question_reports(
        tenant=tenant, period=last_30_days(tenant), questions=config
    )
    assert (rated["count"], rated["average"], rated["satisfied"]) == (0, None, None)
    assert (text["count"], text["examples"]) == (0, [])


def test_the_dashboard_shows_each_question_and_drills_down_to_its_answers(
    client, tenant, member_factory, answers
):
    client.force_login(member_factory(tenant, Role.MANAGER, "manager@acme.test"))
    page = client.get("/t/acme/dashboards/?period=30d")
    html = page.content.decode()
    assert page.status_code == 200
    assert "How easy was it to reach us?" in html and "What should we do better?" in html
    assert "<strong data-question-average>3.67</strong>" in html
    assert "Answer faster on Mondays" in html and SENTINEL not in html
    drill = client.get("/t/acme/dashboards/drill/?period=30d&metric=answers&question=q1")
    assert drill.status_code == 200
    assert drill.context["page"].paginator.count == 3
    assert "How easy was it to reach us?" in drill.content.decode()
    fives = client.get("/t/acme/dashboards/drill/?period=30d&metric=answers&question=q1&rating=5")
    assert fives.context["page"].paginator.count == 1
    texts = client.get("/t/acme/dashboards/drill/?period=30d&metric=answers&question=q2")
    assert [row["answer"] for row in texts.context["rows"]] == [
        "Answer faster on Mondays",
        "Fewer forms",
    ]
    for bad in ("question=q9", "question=", "question=q1&rating=7"):
        response = client.get(f"/t/acme/dashboards/drill/?period=30d&metric=answers&{bad}")
        assert response.status_code == 400, bad


def test_the_question_reports_and_answers_export_as_csv(client, tenant, member_factory, answers):
    client.force_login(member_factory(tenant, Role.MANAGER, "manager@acme.test"))
    rows = csv_rows(client.get("/t/acme/dashboards/export.csv?period=30d&table=questions"))
    assert rows[0][:5] == ["question", "kind", "answers", "average", "satisfied_pct"]
    assert rows[1][:5] == ["How easy was it to reach us?", "rating", "3", "3.67", "66.67"]
    assert rows[1][5:10] == ["0", "1", "0", "1", "1"]
    assert [r[-1] for r in rows[2:]] == ["Answer faster on Mondays", "Fewer forms"]
    drill = client.get(
        "/t/acme/dashboards/export.csv?period=30d&table=drill&metric=answers&question=q2"
    )
    body = body_of(drill)
    assert "answer" in body.splitlines()[0] and "Fewer forms" in body and SENTINEL not in body


def test_another_tenant_sees_only_its_own_answers(client, other_tenant, other_admin, answers):
    client.force_login(other_admin)
    page = client.get("/t/globex/dashboards/?period=30d").content.decode()
    assert SENTINEL in page and "Answer faster on Mondays" not in page
    drill = client.get("/t/globex/dashboards/drill/?period=30d&metric=answers&question=q2")
    assert drill.context["page"].paginator.count == 1
    assert client.get("/t/acme/dashboards/?period=30d").status_code == 404


def test_the_metrics_api_has_the_question_reports(api_client_for, tenant, member_factory, answers):
    client = api_client_for(member_factory(tenant, Role.MANAGER, "bi@acme.test"))
    body = client.get("/api/v1/t/acme/metrics/?period=30d").json()
    rated, text = body["questions"]
    assert (rated["text"], rated["count"], rated["kind"]) == (
        "How easy was it to reach us?",
        3,
        "rating",
    )
    assert [count for _rating, count, _share in rated["spread"]] == [0, 1, 0, 1, 1]
    assert [e["text"] for e in text["examples"]] == ["Answer faster on Mondays", "Fewer forms"]
    assert body["journey_stages"] == []
