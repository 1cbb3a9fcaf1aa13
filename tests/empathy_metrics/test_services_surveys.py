"""NPS on a schedule with signed links and one reminder, the survey and feedback pages, and the
survey settings page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse, SurveySettings
from empathy_metrics.services_nps import (
    TOKEN_SALT,
    nps_due_customers,
    nps_request_send,
    nps_response_submit,
    nps_schedule_run,
    survey_reminders_send,
    survey_response_analyse,
    survey_sending_hour,
    survey_settings_update,
    survey_token_for,
    survey_token_read,
)
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import SurveyRequestFactory
from tests.factories.tickets import CustomerFactory, TicketFactory

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # a Tuesday morning


def customer_with_first_ticket(tenant, days_ago, email=None):
    customer = CustomerFactory(tenant=tenant, **({"email": email} if email is not None else {}))
    TicketFactory(tenant=tenant, customer=customer, created_at=NOW - timedelta(days=days_ago))
    return customer


def nps_request(tenant, customer, sent_days_ago):
    return SurveyRequestFactory(
        tenant=tenant, customer=customer, sent_at=NOW - timedelta(days=sent_days_ago)
    )


# --- the schedule ------------------------------------------------------------------------------


def test_nps_is_due_30_days_after_the_first_ticket_then_every_90_days(tenant, other_tenant):
    due_first = customer_with_first_ticket(tenant, 40)
    too_new = customer_with_first_ticket(tenant, 10)
    no_email = customer_with_first_ticket(tenant, 40, email="")
    asked_recently = customer_with_first_ticket(tenant, 200)
    nps_request(tenant, asked_recently, 30)
    asked_long_ago = customer_with_first_ticket(tenant, 400)
    nps_request(tenant, asked_long_ago, 100)
    customer_with_first_ticket(other_tenant, 40)
    due = {c.pk for c in nps_due_customers(tenant=tenant, now=NOW)}
    assert due == {due_first.pk, asked_long_ago.pk}
    assert too_new.pk not in due and no_email.pk not in due


def test_the_schedule_follows_the_tenants_settings(tenant):
    customer = customer_with_first_ticket(tenant, 10)
    survey_settings_update(tenant=tenant, actor=None, nps_first_after_days=7)
    assert [c.pk for c in nps_due_customers(tenant=tenant, now=NOW)] == [customer.pk]


def test_the_schedule_sends_each_survey_once_with_signed_links(
    tenant, django_capture_on_commit_callbacks
):
    customer = customer_with_first_ticket(tenant, 40, email="grace@navy.test")
    with django_capture_on_commit_callbacks(execute=True):
        assert nps_schedule_run(tenant=tenant, now=NOW) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert nps_schedule_run(tenant=tenant, now=NOW + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["grace@navy.test"]
    assert "Acme would like your opinion" in message.subject
    links = re.findall(r"https?://\S+/survey/[^/\s]+/\?score=\d+", message.body)
    assert len(links) == 11
    html = message.alternatives[0][0]
    assert "How likely are you to recommend us" in html
    with tenant_context(tenant):
        request = SurveyRequest.objects.for_tenant(tenant).get()
    assert request.customer_id == customer.pk and request.kind == SurveyKind.NPS
    token = links[0].split("/survey/")[1].split("/")[0]
    assert survey_token_read(token) == (tenant.pk, str(request.public_id))


def test_surveys_go_out_in_the_tenants_daytime_on_weekdays(tenant):
    assert survey_sending_hour(tenant=tenant, now=NOW)
    assert not survey_sending_hour(tenant=tenant, now=NOW.replace(hour=7))
    assert not survey_sending_hour(tenant=tenant, now=NOW + timedelta(days=4))  # Saturday
    tenant.time_zone = "America/New_York"  # 10:00 in Berlin is 05:00 in New York
    assert not survey_sending_hour(tenant=tenant, now=NOW)


def test_tokens_are_signed_bound_to_a_tenant_and_expire(tenant, monkeypatch):
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 0)
    token = survey_token_for(survey_request=request)
    assert survey_token_read(token) == (tenant.pk, str(request.public_id))
    assert survey_token_read(token[:-2] + "xx") is None
    assert survey_token_read("not-a-token") is None
    assert survey_token_read(signing.dumps({"t": "1", "r": "x"}, salt=TOKEN_SALT)) is None
    later = timezone.now().timestamp() + 61 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert survey_token_read(token) is None


def test_one_reminder_for_an_unanswered_survey(tenant, django_capture_on_commit_callbacks):
    customer = CustomerFactory(tenant=tenant, email="ada@example.test")
    unanswered = SurveyRequestFactory(
        tenant=tenant, customer=customer, sent_at=NOW - timedelta(hours=49)
    )
    SurveyRequestFactory(
        tenant=tenant, customer=customer, sent_at=NOW - timedelta(hours=49), answered_at=NOW
    )
    SurveyRequestFactory(tenant=tenant, customer=customer, sent_at=NOW - timedelta(hours=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_reminders_send(tenant=tenant, now=NOW) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_reminders_send(tenant=tenant, now=NOW + timedelta(days=3)) == 1  # the 5 h one
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_reminders_send(tenant=tenant, now=NOW + timedelta(days=4)) == 0
    assert [m.subject.startswith("Reminder:") for m in mail.outbox] == [True, True]
    with tenant_context(tenant):
        unanswered.refresh_from_db()
    assert unanswered.reminded_at == NOW


def test_no_reminder_when_the_tenant_turned_it_off(tenant):
    survey_settings_update(tenant=tenant, actor=None, reminder_after_hours=None)
    SurveyRequestFactory(tenant=tenant, sent_at=NOW - timedelta(days=3))
    assert survey_reminders_send(tenant=tenant, now=NOW) == 0


# --- answers --------------------------------------------------------------------------------


def test_answering_twice_keeps_one_answer_per_survey(tenant):
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 1)
    first = nps_response_submit(tenant=tenant, survey_request=request, score=6)
    second = nps_response_submit(
        tenant=tenant, survey_request=request, score=9, comment="Changed my mind"
    )
    assert second.created_at == first.created_at  # the answer keeps its time
    with tenant_context(tenant):
        response = SurveyResponse.objects.for_tenant(tenant).get()
        request.refresh_from_db()
    assert (response.score, response.comment, response.kind) == (9, "Changed my mind", "nps")
    assert request.answered_at is not None


@pytest.mark.parametrize("score", [-1, 11, "ten", None, 3.5])
def test_an_nps_score_is_0_to_10(tenant, score):
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 1)
    if score == 3.5:
        assert nps_response_submit(tenant=tenant, survey_request=request, score=score).score == 3
        return
    with pytest.raises(ValidationError):
        nps_response_submit(tenant=tenant, survey_request=request, score=score)


@dataclass
class FakeAnalysis:
    model_version: str = "fake-1"
    language: str = "en"
    sentiment_label: str = "negative"
    sentiment_score: float = -0.7
    signals: dict = field(default_factory=lambda: {"frustration": {"score": 0.8}})
    keywords: list = field(default_factory=lambda: ["billing"])


class FakeAnalyser:
    def analyse(self, text, **kwargs):
        return FakeAnalysis()


def test_the_reason_goes_through_the_message_analysis(tenant):
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 1)
    response = nps_response_submit(
        tenant=tenant, survey_request=request, score=2, comment="Billing is a mess"
    )
    assert survey_response_analyse(tenant=tenant, response_id=response.pk, analyser=FakeAnalyser())
    with tenant_context(tenant):
        response.refresh_from_db()
    assert response.extra_answers["_analysis"]["sentiment_label"] == "negative"
    assert response.extra_answers["_analysis"]["keywords"] == ["billing"]
    # a new score with the same reason keeps the analysis; a new reason is analysed again
    same = nps_response_submit(
        tenant=tenant, survey_request=request, score=3, comment="Billing is a mess"
    )
    assert "_analysis" in same.extra_answers
    changed = nps_response_submit(tenant=tenant, survey_request=request, score=3, comment="Ok")
    assert "_analysis" not in changed.extra_answers


# --- the customer's survey page -----------------------------------------------------------------


def test_the_survey_page_preselects_the_emailed_score_and_saves_the_answer(client, tenant):
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 0)
    url = f"/survey/{survey_token_for(survey_request=request)}/"
    page = client.get(url + "?score=9")
    assert page.status_code == 200
    html = page.content.decode()
    assert "How likely are you to recommend us" in html
    assert re.search(r'value="9"[^>]*checked', html)
    with tenant_context(tenant):  # a GET (a mail scanner following the link) saves nothing
        assert not SurveyResponse.objects.for_tenant(tenant).exists()
    saved = client.post(url, {"score": "9", "comment": "Fast and friendly"})
    assert saved.status_code == 200
    assert "Thank you!" in saved.content.decode()
    again = client.post(url, {"score": "10", "comment": "Even better"})
    assert "Update my answer" in again.content.decode()
    with tenant_context(tenant):
        response = SurveyResponse.objects.for_tenant(tenant).get()
    assert (response.score, response.comment, response.channel) == (10, "Even better", "email")


def test_the_survey_page_asks_the_extra_questions(client, tenant):
    survey_settings_update(
        tenant=tenant,
        actor=None,
        extra_questions=[
            {"text": "How easy was it?", "kind": "rating"},
            {"text": "Anything else?", "kind": "text"},
        ],
    )
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 0)
    url = f"/survey/{survey_token_for(survey_request=request)}/"
    assert "How easy was it?" in client.get(url).content.decode()
    client.post(url, {"score": "7", "extra_q1": "4", "extra_q2": "More dark mode"})
    with tenant_context(tenant):
        response = SurveyResponse.objects.for_tenant(tenant).get()
    assert response.extra_answers == {"q1": 4, "q2": "More dark mode"}
    bad = client.post(url, {"score": "7", "extra_q1": "9"})
    assert bad.status_code == 400


def test_bad_survey_input_is_a_400_and_bad_links_a_404(client, tenant, other_tenant):
    request = nps_request(tenant, CustomerFactory(tenant=tenant), 0)
    url = f"/survey/{survey_token_for(survey_request=request)}/"
    assert client.post(url, {"score": "12"}).status_code == 400
    assert client.post(url, {}).status_code == 400
    assert client.get("/survey/forged-token/").status_code == 404
    # A validly signed token that names tenant A with tenant B's survey: not found in A.
    foreign = SurveyRequestFactory(tenant=other_tenant, sent_at=NOW)
    crossed = signing.dumps({"t": tenant.pk, "r": str(foreign.public_id)}, salt=TOKEN_SALT)
    response = client.get(f"/survey/{crossed}/")
    assert response.status_code == 404
    assert client.post(f"/survey/{crossed}/", {"score": "5"}).status_code == 404
    with tenant_context(other_tenant):
        assert not SurveyResponse.objects.for_tenant(other_tenant).exists()


def test_feedback_from_the_help_page(client, tenant, other_tenant):
    help_centre = client.get(reverse("tickets:help", kwargs={"tenant_slug": "acme"}))
    assert 'href="/survey/feedback/acme/"' in help_centre.content.decode()
    page = client.get("/survey/feedback/acme/")
    assert page.status_code == 200 and "Tell us what you think" in page.content.decode()
    response = client.post(
        "/survey/feedback/acme/", {"body": "Love the new help centre", "email": "Zoe@Example.test"}
    )
    assert response.status_code == 200
    assert "Thank you for your feedback" in response.content.decode()
    with tenant_context(tenant):
        feedback = SurveyResponse.objects.for_tenant(tenant).select_related("customer").get()
    assert feedback.kind == SurveyKind.FEEDBACK and feedback.score is None
    assert feedback.customer.email == "zoe@example.test"
    assert client.post("/survey/feedback/acme/", {"body": "  "}).status_code == 400
    client.post("/survey/feedback/acme/", {"body": "spam", "website": "http://spam"})
    with tenant_context(tenant):
        assert SurveyResponse.objects.for_tenant(tenant).count() == 1
    with tenant_context(other_tenant):
        assert not SurveyResponse.objects.for_tenant(other_tenant).exists()
    assert client.get("/survey/feedback/nobody/").status_code == 404


# --- settings ---------------------------------------------------------------------------------


def test_admins_edit_the_survey_settings(client, tenant, admin_user):
    client.force_login(admin_user)
    page = client.get("/t/acme/admin/surveys/")
    assert page.status_code == 200
    assert "Extra questions" in page.content.decode()
    response = client.post(
        "/t/acme/admin/surveys/",
        {
            "csat_question": "Did we help?",
            "csat_scale": "faces",
            "csat_auto_send": "",
            "nps_question": "Would you recommend us?",
            "nps_first_after_days": "14",
            "nps_interval_days": "60",
            "reminder_after_hours": "",
            "active_days": "60",
            "extra_1_text": "How easy was it?",
            "extra_1_kind": "rating",
            "extra_3_text": "What should we do better?",
            "extra_3_kind": "text",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        saved = SurveySettings.objects.for_tenant(tenant).get()
    assert (saved.csat_scale, saved.csat_auto_send, saved.reminder_after_hours) == (
        "faces",
        False,
        None,
    )
    assert saved.extra_questions == [
        {"id": "q1", "text": "How easy was it?", "kind": "rating"},
        {"id": "q2", "text": "What should we do better?", "kind": "text"},
    ]
    bad = client.post("/t/acme/admin/surveys/", {"csat_question": "", "csat_scale": "thumbs"})
    assert bad.status_code == 400


def test_only_admins_see_the_survey_settings(client, tenant, member_factory):
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    assert client.get("/t/acme/admin/surveys/").status_code == 403


def test_settings_rules(tenant):
    with pytest.raises(ValidationError):
        survey_settings_update(
            tenant=tenant, actor=None, extra_questions=[{"text": f"Q{i}"} for i in range(4)]
        )
    with pytest.raises(ValidationError):
        survey_settings_update(tenant=tenant, actor=None, csat_scale="sliders")
    with pytest.raises(ValidationError):
        survey_settings_update(tenant=tenant, actor=None, active_days=0)
    with pytest.raises(ValidationError):
        survey_settings_update(tenant=tenant, actor=None, salary=1)


def test_sending_one_survey_by_hand_needs_an_email(tenant):
    with pytest.raises(ValidationError):
        nps_request_send(tenant=tenant, customer=CustomerFactory(tenant=tenant, email=""))
