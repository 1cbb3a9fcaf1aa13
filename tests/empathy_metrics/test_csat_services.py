"""CSAT from the status page: once per resolution of a ticket, idempotent, only when resolved,
scores 1-5, linked to its survey request and agent, and told to the agents on the timeline."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from empathy_metrics.models import SurveyRequest, SurveyResponse
from empathy_metrics.selectors_csat import survey_settings_get
from empathy_metrics.services import csat_response_add_details, csat_response_submit
from empathy_metrics.services_nps import survey_settings_update
from helpdesk.tenancy.context import tenant_context
from tests.tickets.test_status_services import link_of, make_ticket, reload
from tickets import services
from tickets.models import TicketEvent


@pytest.fixture
def solved(tenant, agent):
    ticket = make_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    return ticket


def responses(ticket):
    with tenant_context(ticket.tenant):
        return list(SurveyResponse.objects.filter(ticket=ticket).order_by("resolution"))


def test_csat_is_recorded_once_per_resolution_and_a_second_answer_changes_nothing(
    tenant, agent, solved
):
    first = csat_response_submit(tenant=tenant, ticket=solved, score=4, comment=" Quick, thanks ")
    assert first.created and first.response.score == 4 and first.response.comment == "Quick, thanks"
    again = csat_response_submit(tenant=tenant, ticket=solved, score=1, comment="changed my mind")
    assert not again.created and again.response.pk == first.response.pk
    (stored,) = responses(solved)
    assert (stored.score, stored.resolution, stored.agent_id) == (4, 0, agent.pk)
    assert stored.customer_id == solved.customer_id and stored.channel == "status_page"
    with tenant_context(tenant):
        request = SurveyRequest.objects.get(ticket=solved, kind="csat", resolution=0)
        assert request.answered_at is not None and stored.request_id == request.pk
        event = TicketEvent.objects.filter(ticket=solved).latest("pk")
    assert event.kind == "survey.csat_received" and not event.is_public


def test_a_reopened_and_solved_again_ticket_is_asked_again(tenant, agent, solved):
    csat_response_submit(tenant=tenant, ticket=solved, score=2)
    services.message_create(
        tenant=tenant, ticket=solved, body="Still broken", author_customer=solved.customer
    )
    assert reload(solved).reopen_count == 1
    with pytest.raises(ValidationError):  # open again: nothing to rate
        csat_response_submit(tenant=tenant, ticket=solved, score=5)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=solved, status="solved")
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=solved, status="closed")
    assert csat_response_submit(tenant=tenant, ticket=solved, score=5).created
    assert [(r.resolution, r.score) for r in responses(solved)] == [(0, 2), (1, 5)]


@pytest.mark.parametrize("score", [0, 6, -1, "x", None, True, "3.5"])
def test_scores_outside_one_to_five_are_refused(tenant, solved, score):
    with pytest.raises(ValidationError):
        csat_response_submit(tenant=tenant, ticket=solved, score=score)
    assert responses(solved) == []


def test_long_comments_and_unresolved_tickets_are_refused(tenant):
    ticket = make_ticket(tenant)
    with pytest.raises(ValidationError, match="resolved"):
        csat_response_submit(tenant=tenant, ticket=ticket, score=5)
    with pytest.raises(ValidationError):
        csat_response_submit(tenant=tenant, ticket=ticket, score=5, comment="x" * 2001)


def test_another_tenants_ticket_is_refused(tenant, other_tenant, other_agent):
    theirs = make_ticket(other_tenant)
    services.ticket_set_status(
        tenant=other_tenant, actor=other_agent, ticket=theirs, status="solved"
    )
    with pytest.raises(ValidationError):
        csat_response_submit(tenant=tenant, ticket=theirs, score=5)
    assert responses(theirs) == []


def render_tag(ticket, token) -> str:
    template = Template("{% load empathy_tags %}{% csat_form ticket=ticket token=token %}")
    with tenant_context(ticket.tenant):
        return template.render(Context({"ticket": reload(ticket), "token": token}))


def test_the_template_tag_asks_thanks_or_stays_hidden(tenant, agent):
    ticket = make_ticket(tenant)
    token = link_of(ticket).token
    assert 'data-csat-state="hidden"' in render_tag(ticket, token)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    asking = render_tag(ticket, token)
    assert 'data-csat-state="ask"' in asking and f"/feedback/csat/{token}/" in asking
    assert "How satisfied are you with the help you received?" in asking
    assert asking.count('type="radio" name="score"') == 5
    csat_response_submit(tenant=tenant, ticket=ticket, score=5)
    thanks = render_tag(ticket, token)
    assert 'data-csat-state="thanks"' in thanks and "5 out of 5" in thanks
    shown, _, template = thanks.partition("<template data-csat-template>")
    # no second rating; only the optional comment after the one-click rating
    assert 'name="score"' not in shown and 'name="details" value="1"' in shown
    assert "data-csat-form" in template  # the rating waits in a <template> for the next round


def test_the_comment_form_is_gone_once_the_customer_has_added_extra_answers(tenant, agent):
    survey_settings_update(
        tenant=tenant, actor=None, extra_questions=[{"text": "What stood out?", "kind": "text"}]
    )
    with tenant_context(tenant):
        (question,) = survey_settings_get(tenant=tenant).extra_questions
    ticket = make_ticket(tenant)
    token = link_of(ticket).token
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    result = csat_response_submit(tenant=tenant, ticket=ticket, score=4)
    assert 'name="details" value="1"' in render_tag(ticket, token)
    answered = csat_response_add_details(
        tenant=tenant, response=result.response, extra_answers={question["id"]: "Quick, kind"}
    )
    assert answered.extra_answers[question["id"]] == "Quick, kind" and not answered.comment
    shown = render_tag(ticket, token).partition("<template data-csat-template>")[0]
    # the details were given once (extra answers, no comment): nothing more to add
    assert 'data-csat-state="thanks"' in shown and 'name="details"' not in shown
