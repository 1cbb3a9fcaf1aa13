"""Agents see and correct the analysis: the correction page action, the includes (mood badge,
message marker), the queue's mood and signal filters, and the management commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.http import QueryDict
from django.template.loader import render_to_string
from django.test import RequestFactory

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory, MessageFactory, analysed_ticket
from tickets import services
from tickets.models import AnalysisCorrection, Message, MessageAnalysis, Ticket
from tickets.queue import QueueFilters, queue_page
from tickets.services.analysis import messages_analyse


def correct_url(message, slug="acme"):
    return f"/t/{slug}/messages/{message.public_id}/correct/"


def test_an_agent_corrects_a_message_in_one_click(client, tenant, agent):
    ticket, message = analysed_ticket(tenant, "The app keeps crashing, this is ridiculous")
    client.force_login(agent)
    response = client.post(correct_url(message), {"field": "sentiment", "value": "neutral"})
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/tickets/{ticket.number}/"
    with tenant_context(tenant):
        correction = AnalysisCorrection.objects.for_tenant(tenant).get()
    assert (correction.field, correction.predicted, correction.corrected) == (
        "sentiment",
        "negative",
        "neutral",
    )
    as_json = client.post(
        correct_url(message),
        {"field": "frustration", "value": "absent"},
        HTTP_ACCEPT="application/json",
    )
    assert as_json.json() == {"field": "frustration", "corrected": "absent", "predicted": "present"}


@pytest.mark.parametrize(
    "data", [{"field": "sentiment", "value": "furious"}, {"field": "mood"}, {}]
)
def test_bad_corrections_get_a_message_not_a_500(client, tenant, agent, data):
    _ticket, message = analysed_ticket(tenant, "It does not work")
    client.force_login(agent)
    response = client.post(correct_url(message), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["error"]
    page = client.post(correct_url(message), data, follow=True)
    assert page.status_code == 200 and b"Correction not saved" in page.content


def test_observers_cannot_correct_and_foreign_messages_are_not_found(
    client, tenant, other_tenant, member_factory
):
    _ticket, message = analysed_ticket(tenant, "It does not work")
    observer = member_factory(tenant, Role.OBSERVER, "olive@acme.test")
    client.force_login(observer)
    assert (
        client.post(correct_url(message), {"field": "sentiment", "value": "neutral"}).status_code
        == 403
    )
    agent = member_factory(tenant, Role.AGENT, "dana@acme.test")
    client.force_login(agent)
    foreign = MessageFactory(tenant=other_tenant, body_text="cancel my subscription")
    assert (
        client.post(correct_url(foreign), {"field": "sentiment", "value": "neutral"}).status_code
        == 404
    )
    assert client.get(correct_url(message)).status_code == 405
    with tenant_context(tenant):
        assert not AnalysisCorrection.objects.for_tenant(tenant).exists()


def test_the_includes_show_the_mood_the_reason_and_the_correction(tenant, agent):
    ticket, message = analysed_ticket(
        tenant, "Urgent: the checkout is down and this is ridiculous!"
    )
    services.analysis_correct(
        tenant=tenant, actor=agent, message=message, field="sentiment", corrected="neutral"
    )
    request = RequestFactory().get("/")
    request.tenant = tenant
    request.user = agent
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)
        badge = render_to_string("tickets/includes/mood_badge.html", {"ticket": ticket})
        marker = render_to_string(
            "tickets/includes/message_analysis.html",
            {"m": Message.objects.for_tenant(tenant).get(pk=message.pk), "can_work": True},
            request=request,
        )
    assert "mood-badge--neutral" in badge and "urgency" in badge
    assert "Customer mood: neutral" in badge
    assert "analysis-marker--negative is-overridden" in marker
    assert "→ neutral · corrected" in marker
    assert "urgency: urgent" in marker  # the reason, in the title
    assert f"/t/acme/messages/{message.public_id}/correct/" in marker
    with tenant_context(tenant):
        pending = MessageFactory(tenant=tenant, body_text="x", analysis_state="pending")
        quiet = render_to_string(
            "tickets/includes/message_analysis.html",
            {"m": pending, "can_work": False},
            request=request,
        )
    assert "analysing" in quiet and "<form" not in quiet
    assert (
        render_to_string(
            "tickets/includes/mood_badge.html", {"ticket": Ticket(tenant=tenant)}
        ).strip()
        == ""
    )


def test_corrections_are_one_click_buttons_not_hidden_in_a_closed_disclosure(tenant, agent):
    _ticket, message = analysed_ticket(tenant, "Urgent: the checkout is down!")
    request = RequestFactory().get("/")
    request.tenant = tenant
    request.user = agent
    with tenant_context(tenant):
        marker = render_to_string(
            "tickets/includes/message_analysis.html",
            {"m": Message.objects.for_tenant(tenant).get(pk=message.pk), "can_work": True},
            request=request,
        )
    assert "<details" not in marker and "<summary" not in marker
    assert 'role="group"' in marker and "Correct the analysis of this message" in marker
    # Every choice is a submit button of its own form: one click, reachable with the keyboard.
    assert marker.count("<form") == 6  # sentiment and the five signals
    for value in ("negative", "neutral", "positive"):
        assert f'name="value" value="{value}"' in marker
    assert 'aria-label="urgency: it is not there"' in marker and "✕ urgency" in marker
    assert 'aria-label="churn risk: it is there"' in marker and "+ churn risk" in marker
    assert "is-undo" not in marker
    services.analysis_correct(
        tenant=tenant, actor=agent, message=message, field="urgency", corrected="absent"
    )
    with tenant_context(tenant):
        marker = render_to_string(
            "tickets/includes/message_analysis.html",
            {"m": Message.objects.for_tenant(tenant).get(pk=message.pk), "can_work": True},
            request=request,
        )
    # Once corrected, the signal's button undoes the correction (one click back).
    assert 'aria-label="urgency: undo the correction"' in marker
    assert 'name="value" value="present" title="Undo the correction' in marker
    assert 'tabindex="-1"' not in marker and " hidden" not in marker


def page(tenant, user, query):
    with tenant_context(tenant):
        return queue_page(
            tenant=tenant, user=user, filters=QueueFilters.from_params(QueryDict(query))
        )


def test_the_queue_filters_by_mood_and_signal(tenant, agent):
    angry, _ = analysed_ticket(tenant, "This is ridiculous, the app keeps crashing!!")
    urgent, _ = analysed_ticket(tenant, "Our site is down, please help asap")
    happy, _ = analysed_ticket(tenant, "Thank you so much, everything works now!")
    numbers = lambda result: sorted(t.number for t in result.tickets)  # noqa: E731
    assert numbers(page(tenant, agent, "mood=negative")) == sorted([angry.number, urgent.number])
    assert numbers(page(tenant, agent, "mood=positive")) == [happy.number]
    assert numbers(page(tenant, agent, "signal=urgency")) == [urgent.number]
    assert numbers(page(tenant, agent, "signal=gratitude&mood=positive")) == [happy.number]
    assert len(page(tenant, agent, "mood=furious&signal=drop table").tickets) == 3
    filters = QueueFilters.from_params(QueryDict("mood=negative&signal=churn_risk"))
    assert (filters.as_dict()["mood"], filters.as_dict()["signal"]) == ("negative", "churn_risk")
    assert QueueFilters.from_params({"mood": "neutral", "signal": "x"}).signal == ""


def test_the_queue_page_accepts_the_filters(client, tenant, agent):
    analysed_ticket(tenant, "This is ridiculous!")
    client.force_login(agent)
    assert client.get("/t/acme/queue/?mood=negative&signal=frustration").status_code == 200
    assert client.get("/t/acme/queue/?mood=%00&signal=<script>").status_code == 200


def test_reanalyse_evaluate_and_export_commands(tenant, agent):
    _ticket, message = analysed_ticket(
        tenant,
        "The export at https://acme.example/x is broken, this is ridiculous. Mail jo@example.com",
    )
    analysed_ticket(tenant, "Thanks, all good now!")
    services.analysis_correct(
        tenant=tenant, actor=agent, message=message, field="sentiment", corrected="neutral"
    )
    out = StringIO()
    call_command("analysis_reanalyse", tenant="acme", no_progress=True, stdout=out)
    assert "acme: 2 messages analysed, 0 changed." in out.getvalue()
    with tenant_context(tenant):
        MessageAnalysis.objects.for_tenant(tenant).update(model_version="older")
    out = StringIO()
    call_command("analysis_reanalyse", all=True, outdated=True, no_progress=True, stdout=out)
    assert "acme: 2 messages analysed, 2 changed." in out.getvalue()

    out = StringIO()
    call_command("analysis_evaluate", tenant="acme", json=True, stdout=out)
    report = json.loads(out.getvalue())
    assert report["messages"] == 2
    assert report["sentiment"]["corrections"] == 1
    assert report["sentiment"]["accuracy"] == 0.5
    assert report["sentiment"]["negative"]["precision"] == 0.0
    text = StringIO()
    call_command("analysis_evaluate", tenant="acme", stdout=text)
    assert "precision" in text.getvalue() and "frustration" in text.getvalue()

    out = StringIO()
    call_command("analysis_export_corrections", tenant="acme", stdout=out, stderr=StringIO())
    (row,) = [json.loads(line) for line in out.getvalue().splitlines()]
    # As the analyser read it: no link, no address.
    assert row["text"] == "The export at is broken, this is ridiculous. Mail"
    assert (row["field"], row["predicted"], row["label"]) == ("sentiment", "negative", "neutral")
    for command in ("analysis_evaluate", "analysis_export_corrections"):
        with pytest.raises(CommandError):
            call_command(command, tenant="nope")
    with pytest.raises(CommandError):
        call_command("analysis_reanalyse", tenant="nope")


def test_reanalyse_enqueue_shows_the_progress_of_the_queued_batches(tenant, capsys):
    analysed_ticket(tenant, "The export is broken, this is ridiculous")
    analysed_ticket(tenant, "Thanks, all good now!")
    analysed_ticket(tenant, "Where do I find my invoices?")
    out = StringIO()
    call_command("analysis_reanalyse", tenant="acme", enqueue=True, batch_size=2, stdout=out)
    bars = capsys.readouterr().err  # tqdm writes to stderr
    assert "acme queued" in bars and "3/3" in bars
    assert "analysed" in bars
    assert "acme: 3 messages queued in 2 batches." in out.getvalue()
    assert "Analysed by the workers: 3 messages, 0 changed, 0 batch(es) with errors." in (
        out.getvalue()
    )
    # --no-progress: no bars, and the command returns once everything is queued.
    out = StringIO()
    call_command("analysis_reanalyse", tenant="acme", enqueue=True, no_progress=True, stdout=out)
    assert capsys.readouterr().err == ""
    assert "Analysed by the workers" not in out.getvalue()


def test_the_customer_page_shows_the_customers_sentiment_trend(client, tenant, agent):
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(
        tenant=tenant, customer=customer, subject="S", body="Thanks, the new plan looks great!"
    )
    services.message_create(
        tenant=tenant,
        ticket=ticket,
        body="Now the export is broken and nobody answers. Ridiculous.",
        author_customer=customer,
    )
    with tenant_context(tenant):
        ids = list(Message.objects.for_tenant(tenant).values_list("pk", flat=True))
    messages_analyse(tenant=tenant, message_ids=ids)
    quiet = CustomerFactory(tenant=tenant)
    client.force_login(agent)
    html = client.get(f"/t/acme/customers/{customer.public_id}/").content.decode()
    assert 'id="customer-sentiment"' in html and "worsening" in html
    html = client.get(f"/t/acme/customers/{quiet.public_id}/").content.decode()
    assert "No analysed messages from this customer" in html
