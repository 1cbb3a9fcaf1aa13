"""CSAT by email: sent automatically after a resolution (or by hand by an agent when the tenant
chose so), one signed link per score, the score pre-selected by the link and saved with an
optional comment, one reminder, and the answer shown on the agents' ticket page."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse
from empathy_metrics.services import (
    CSAT_SEND_WITHIN,
    csat_request_send,
    csat_requests_send_due,
    csat_response_submit,
)
from empathy_metrics.services_nps import survey_reminders_send, survey_settings_update
from empathy_metrics.tasks import csat_send_fanout_task, csat_send_task
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.test_tasks_metrics import captured
from tests.factories.tickets import CustomerFactory
from tests.tickets.test_status_services import link_of, make_ticket
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.services.status import status_link_rotate

LATER = timedelta(minutes=15)  # the sweep waits a little after the resolution
ADDRESSES = itertools.count()


def solved_ticket(tenant, actor, *, email=None, subject="Charged twice"):
    """A ticket solved just now; its customer has ``email`` (a fresh address by default)."""
    email = f"ada{next(ADDRESSES)}@example.test" if email is None else email
    customer = CustomerFactory(tenant=tenant, email=email, name="Ada Lovelace")
    ticket = make_ticket(tenant, customer=customer, subject=subject)
    services.ticket_assign(tenant=tenant, actor=actor, ticket=ticket, assignee=actor)
    services.ticket_set_status(tenant=tenant, actor=actor, ticket=ticket, status="solved")
    with tenant_context(tenant):
        return Ticket.objects.for_tenant(tenant).select_related("customer").get(pk=ticket.pk)


def csat_mails():
    return [m for m in mail.outbox if "How did we do" in m.subject]


def score_links(message) -> dict[int, str]:
    """The score links of a CSAT email, as paths with their query (``/survey/<token>/?score=4``)."""
    found = re.findall(r"^(\d): (http\S+)$", message.body, flags=re.MULTILINE)
    return {int(score): "?".join(urlsplit(link)[2:4]) for score, link in found}


def requests_of(tenant, ticket):
    with tenant_context(tenant):
        return list(
            SurveyRequest.objects.for_tenant(tenant).filter(kind=SurveyKind.CSAT, ticket=ticket)
        )


# --- sending ---------------------------------------------------------------------------------


def test_the_sweep_emails_each_new_resolution_once_with_a_link_per_score(
    tenant, other_tenant, agent, other_agent, django_capture_on_commit_callbacks
):
    ticket = solved_ticket(tenant, agent, email="ada@example.test")
    foreign = solved_ticket(other_tenant, other_agent, email="grace@globex.test")
    no_email = solved_ticket(tenant, agent, email="")
    still_open = make_ticket(tenant, customer=CustomerFactory(tenant=tenant, email="x@y.test"))
    now = timezone.now() + LATER
    with django_capture_on_commit_callbacks(execute=True):
        assert csat_requests_send_due(tenant=tenant, now=now) == 1
    (message,) = csat_mails()
    assert message.to == ["ada@example.test"]
    assert f"ACME-{ticket.number}" in message.subject
    assert sorted(score_links(message)) == [1, 2, 3, 4, 5]
    html = message.alternatives[0][0]
    assert html.count("/survey/") == 5
    # once per resolution: a second run sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert csat_requests_send_due(tenant=tenant, now=now + LATER) == 0
    assert len(csat_mails()) == 1
    assert len(requests_of(tenant, ticket)) == 1
    assert requests_of(tenant, no_email) == [] and requests_of(tenant, still_open) == []
    assert requests_of(other_tenant, foreign) == []  # the other tenant's sweep is its own
    with tenant_context(tenant):
        sent = TicketEvent.objects.for_tenant(tenant).filter(ticket=ticket).latest("pk")
    assert sent.kind == "survey.csat_sent" and not sent.is_public


def test_the_survey_email_links_the_tickets_status_page_in_both_parts(
    tenant, agent, django_capture_on_commit_callbacks
):
    """Like every email about a ticket, the survey carries the status link: its current one."""
    ticket = solved_ticket(tenant, agent)
    status_link_rotate(tenant=tenant, actor=agent, ticket=ticket)  # the old link is dead
    with django_capture_on_commit_callbacks(execute=True):
        csat_request_send(tenant=tenant, ticket=ticket)
    (message,) = csat_mails()
    url = settings.HELPDESK_BASE_URL.rstrip("/") + f"/status/{link_of(ticket).token}/"
    html = message.alternatives[0][0]
    assert re.search(rf"^{re.escape(url)}$", message.body, flags=re.MULTILINE)
    assert f'href="{url}"' in html
    assert message.body.count("/status/") == 1 and html.count("/status/") == 1


def test_the_sweep_waits_after_the_resolution_and_skips_old_ones(tenant, agent):
    ticket = solved_ticket(tenant, agent)
    assert csat_requests_send_due(tenant=tenant, now=timezone.now()) == 0  # just solved
    assert csat_requests_send_due(tenant=tenant, now=ticket.solved_at + CSAT_SEND_WITHIN * 2) == 0
    assert csat_requests_send_due(tenant=tenant, now=timezone.now() + LATER) == 1


def test_a_reopened_and_solved_again_ticket_is_asked_again(tenant, agent):
    ticket = solved_ticket(tenant, agent)
    assert csat_requests_send_due(tenant=tenant, now=timezone.now() + LATER) == 1
    services.message_create(
        tenant=tenant, ticket=ticket, body="Still broken", author_customer=ticket.customer
    )
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    assert csat_requests_send_due(tenant=tenant, now=timezone.now() + LATER) == 1
    assert sorted(r.resolution for r in requests_of(tenant, ticket)) == [0, 1]


def test_nothing_goes_out_by_itself_when_the_tenant_sends_by_hand(tenant, agent):
    survey_settings_update(tenant=tenant, actor=None, csat_auto_send=False)
    solved_ticket(tenant, agent)
    assert csat_requests_send_due(tenant=tenant, now=timezone.now() + LATER) == 0
    assert csat_send_task(tenant.pk) == 0


def test_the_task_and_its_fan_out(tenant, other_tenant, agent, other_agent):
    solved_ticket(tenant, agent)
    with tenant_context(tenant):  # solved long enough ago for the sweep
        Ticket.objects.for_tenant(tenant).update(solved_at=timezone.now() - LATER)
    assert csat_send_task(tenant.pk) == 1
    count, seen = captured(csat_send_fanout_task)
    assert count == 2
    per_tenant = [args for name, args in seen if name == "empathy_metrics.csat_send"]
    assert sorted(per_tenant) == sorted([(tenant.pk,), (other_tenant.pk,)])


def test_sending_by_hand_is_refused_when_it_cannot_or_need_not_go(tenant, agent):
    ticket = solved_ticket(tenant, agent)
    csat_request_send(tenant=tenant, ticket=ticket, actor=agent)
    with pytest.raises(Exception, match="already sent"):
        csat_request_send(tenant=tenant, ticket=ticket, actor=agent)
    rated = solved_ticket(tenant, agent)
    csat_response_submit(tenant=tenant, ticket=rated, score=4)
    with pytest.raises(Exception, match="already rated"):
        csat_request_send(tenant=tenant, ticket=rated, actor=agent)
    with pytest.raises(Exception, match="no email"):
        csat_request_send(tenant=tenant, ticket=solved_ticket(tenant, agent, email=""))
    with pytest.raises(Exception, match="once the ticket is solved"):
        csat_request_send(tenant=tenant, ticket=make_ticket(tenant))


# --- the agent's button on the ticket page ----------------------------------------------------


def test_an_agent_sends_the_survey_from_the_ticket_page(
    client, tenant, agent, django_capture_on_commit_callbacks
):
    survey_settings_update(tenant=tenant, actor=None, csat_auto_send=False)
    ticket = solved_ticket(tenant, agent)
    client.force_login(agent)
    page = client.get(f"/t/acme/tickets/{ticket.number}/")
    assert page.status_code == 200
    assert b"Send the CSAT survey" in page.content
    assert b"This helpdesk sends it by hand." in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/t/acme/tickets/{ticket.number}/csat/")
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/tickets/{ticket.number}/"
    assert len(csat_mails()) == 1
    page = client.get(f"/t/acme/tickets/{ticket.number}/")
    assert b"data-csat-sent" in page.content and b"Send the CSAT survey" not in page.content
    # a second press is refused with a message, and sends nothing
    page = client.post(f"/t/acme/tickets/{ticket.number}/csat/", follow=True)
    assert b"already sent for this resolution" in page.content
    assert len(csat_mails()) == 1
    csat_response_submit(tenant=tenant, ticket=ticket, score=2, comment="Slow answers")
    page = client.get(f"/t/acme/tickets/{ticket.number}/")
    assert b'data-csat-answer="2"' in page.content and b"Slow answers" in page.content


def test_the_button_is_for_members_who_work_tickets_of_their_own_tenant(
    client, tenant, other_tenant, agent, other_agent, member_factory
):
    ours = solved_ticket(tenant, agent)
    theirs = solved_ticket(other_tenant, other_agent, email="grace@globex.test")
    client.force_login(member_factory(tenant, Role.OBSERVER, "olive@acme.test"))
    assert client.post(f"/t/acme/tickets/{ours.number}/csat/").status_code == 403
    page = client.get(f"/t/acme/tickets/{ours.number}/")
    assert b"Send the CSAT survey" not in page.content  # observers see the box, no button
    client.force_login(agent)
    missing = next(n for n in range(1, 100) if n not in (ours.number,))
    assert client.post(f"/t/acme/tickets/{missing}/csat/").status_code == 404
    assert client.post(f"/t/globex/tickets/{theirs.number}/csat/").status_code == 404
    assert client.get(f"/t/acme/tickets/{ours.number}/csat/").status_code == 405
    assert requests_of(other_tenant, theirs) == []


# --- the emailed link ------------------------------------------------------------------------


@pytest.fixture
def emailed(tenant, agent, django_capture_on_commit_callbacks):
    survey_settings_update(
        tenant=tenant,
        actor=None,
        csat_scale="faces",
        extra_questions=[{"text": "Was the answer easy to follow?", "kind": "rating"}],
    )
    ticket = solved_ticket(tenant, agent, subject="Invoice shows the wrong VAT number")
    with django_capture_on_commit_callbacks(execute=True):
        csat_request_send(tenant=tenant, ticket=ticket)
    (message,) = csat_mails()
    return ticket, score_links(message)


def test_one_click_opens_the_survey_with_the_score_chosen_and_saves_nothing_yet(
    client, tenant, emailed
):
    _ticket, links = emailed
    page = client.get(links[4])
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<input[^>]*value="4"[^>]*checked', html)
    assert "Invoice shows the wrong VAT number" in html and "\U0001f642" in html  # faces
    assert "Was the answer easy to follow?" in html
    with tenant_context(tenant):
        assert not SurveyResponse.objects.for_tenant(tenant).exists()


def test_the_answer_is_saved_with_its_comment_ticket_agent_and_customer(
    client, tenant, agent, emailed
):
    ticket, links = emailed
    path = links[4].split("?")[0]
    page = client.post(path, {"score": "4", "comment": " Clear and kind ", "extra_q1": "5"})
    assert page.status_code == 200 and b"Your rating was saved: 4 out of 5" in page.content
    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
        request = SurveyRequest.objects.for_tenant(tenant).get(kind=SurveyKind.CSAT)
    assert (answer.score, answer.comment, answer.channel) == (4, "Clear and kind", "email")
    assert (answer.ticket_id, answer.agent_id, answer.customer_id) == (
        ticket.pk,
        agent.pk,
        ticket.customer_id,
    )
    assert answer.extra_answers == {"q1": 5} and answer.request_id == request.pk
    assert request.answered_at is not None
    # the first answer stands: the page says so, another post changes nothing
    again = client.get(links[1])
    assert b"You already rated this request: 4 out of 5" in again.content
    client.post(path, {"score": "1"})
    with tenant_context(tenant):
        assert SurveyResponse.objects.for_tenant(tenant).get().score == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, b"This field is required"),
        ({"score": "6"}, b"Select a valid choice"),
        ({"score": "3", "comment": "x" * 2001}, b"at most 2000 characters"),
        ({"score": "3", "extra_q1": "9"}, b"Select a valid choice"),
    ],
)
def test_bad_answers_are_a_400_with_a_message(client, tenant, emailed, data, message):
    _ticket, links = emailed
    page = client.post(links[3].split("?")[0], data)
    assert page.status_code == 400 and message in page.content
    with tenant_context(tenant):
        assert not SurveyResponse.objects.for_tenant(tenant).exists()


def test_a_tampered_link_is_a_404_and_a_reopened_ticket_closes_the_survey(
    client, tenant, agent, emailed
):
    ticket, links = emailed
    path = links[5].split("?")[0]
    assert client.get(path[:-3] + "xx/").status_code == 404
    services.message_create(
        tenant=tenant, ticket=ticket, body="Not fixed", author_customer=ticket.customer
    )
    page = client.post(path, {"score": "5"})
    assert page.status_code == 410 and b"reopened" in page.content
    with tenant_context(tenant):
        assert not SurveyResponse.objects.for_tenant(tenant).exists()


# --- the one reminder ------------------------------------------------------------------------


def test_one_reminder_while_unanswered_and_none_once_reopened_or_answered(
    tenant, agent, django_capture_on_commit_callbacks
):
    waiting = solved_ticket(tenant, agent)
    answered = solved_ticket(tenant, agent)
    reopened = solved_ticket(tenant, agent)
    for ticket in (waiting, answered, reopened):
        csat_request_send(tenant=tenant, ticket=ticket)
    csat_response_submit(tenant=tenant, ticket=answered, score=5)
    services.message_create(
        tenant=tenant, ticket=reopened, body="Again", author_customer=reopened.customer
    )
    later = timezone.now() + timedelta(hours=49)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_reminders_send(tenant=tenant, now=later) == 1
    (reminder,) = mail.outbox
    assert reminder.subject.startswith("Reminder: How did we do on")
    assert f"ACME-{waiting.number}" in reminder.subject
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_reminders_send(tenant=tenant, now=later + timedelta(days=1)) == 0


def test_the_link_page_sends_the_score_by_script_and_a_scanner_records_nothing(
    client, tenant, emailed
):
    _ticket, links = emailed
    html = client.get(links[5]).content.decode()  # what a mail scanner does: a plain GET
    assert "data-autosubmit" in html and "js/csat_autosubmit.js" in html
    plain = client.get(links[5].split("?")[0]).content.decode()  # no score chosen: no script
    assert "data-autosubmit" not in plain and "csat_autosubmit.js" not in plain
    with tenant_context(tenant):
        assert not SurveyResponse.objects.for_tenant(tenant).exists()


def test_after_the_one_click_rating_the_comment_can_be_added_once(client, tenant, emailed):
    _ticket, links = emailed
    path = links[2].split("?")[0]
    saved = client.post(path, {"score": "2"}).content.decode()
    assert "Your rating was saved: 2 out of 5" in saved and "Add my comment" in saved
    added = client.post(path, {"details": "1", "comment": "Took three days", "extra_q1": "2"})
    assert added.status_code == 200 and b"and your words were saved" in added.content
    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
    assert (answer.score, answer.comment, answer.extra_answers) == (2, "Took three days", {"q1": 2})
    # once: the page no longer offers it, and another post changes nothing
    again = client.get(links[5]).content.decode()
    assert "Add my comment" not in again
    client.post(path, {"details": "1", "comment": "Changed my mind", "score": "5"})
    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
    assert (answer.score, answer.comment) == (2, "Took three days")


def test_an_extra_answer_alone_also_uses_up_the_one_chance_to_add_details(client, tenant, emailed):
    _ticket, links = emailed
    path = links[3].split("?")[0]
    client.post(path, {"score": "3"})
    refused = client.post(path, {"details": "1", "extra_q1": "9"})
    assert refused.status_code == 400
    html = refused.content.decode()
    # the message stands under the question it is about
    assert re.search(r"Was the answer easy to follow\?.*Select a valid choice", html, re.S)
    added = client.post(path, {"details": "1", "extra_q1": "4"})
    assert b"and your words were saved" in added.content
    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
    assert (answer.comment, answer.extra_answers) == ("", {"q1": 4})
    assert "Add my comment" not in client.get(links[3]).content.decode()
    client.post(path, {"details": "1", "comment": "One more thing"})
    with tenant_context(tenant):
        assert SurveyResponse.objects.for_tenant(tenant).get().comment == ""


def test_the_emailed_survey_wears_the_tenants_colour(client, tenant, emailed):
    tenant.brand_color = "#0f766e"
    tenant.save(update_fields=["brand_color"])
    _ticket, links = emailed
    html = client.get(links[4].split("?")[0]).content.decode()
    assert 'data-brand="#0f766e"' in html
