"""The CSAT form on the status page: ``POST /feedback/csat/<token>/`` (the status link's token
binds tenant and ticket), as a form post or from the page's script (a fragment back)."""

from __future__ import annotations

import pytest

from empathy_metrics.models import SurveyResponse
from helpdesk.tenancy.context import tenant_context
from tests.tickets.test_status_services import link_of, make_ticket
from tickets import services
from tickets.services.status import status_link_rotate


@pytest.fixture
def solved(tenant, agent):
    ticket = make_ticket(tenant)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    return ticket


def url(ticket) -> str:
    return f"/feedback/csat/{link_of(ticket).token}/"


def count(ticket) -> int:
    with tenant_context(ticket.tenant):
        return SurveyResponse.objects.filter(ticket=ticket).count()


def test_the_customer_rates_once_from_the_page(client, solved):
    response = client.post(url(solved), {"score": "5", "comment": "Great"})
    assert response.status_code == 302 and response["Location"].endswith("#feedback")
    assert count(solved) == 1
    page = client.get(response["Location"].split("#")[0])
    assert b'data-csat-state="thanks"' in page.content
    client.post(url(solved), {"score": "1"})
    with tenant_context(solved.tenant):
        assert SurveyResponse.objects.get(ticket=solved).score == 5


def test_the_script_gets_the_fragment_back_with_errors_as_400(client, solved):
    bad = client.post(url(solved), {"score": "9"}, HTTP_X_FRAGMENT="1")
    assert bad.status_code == 400
    assert b"Choose a rating from 1 to 5." in bad.content and b"<form" in bad.content
    good = client.post(url(solved), {"score": "4"}, HTTP_X_FRAGMENT="1")
    assert good.status_code == 200 and b"4 out of 5" in good.content
    assert b"<html" not in good.content


def test_unresolved_tickets_invalid_links_and_gets_are_refused(client, tenant, agent):
    ticket = make_ticket(tenant)
    response = client.post(url(ticket), {"score": "5"}, HTTP_X_FRAGMENT="1")
    assert response.status_code == 400 and count(ticket) == 0
    assert client.get(url(ticket)).status_code == 405
    assert client.post("/feedback/csat/nope/", {"score": "5"}).status_code == 404
    old = url(ticket)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    status_link_rotate(tenant=tenant, actor=agent, ticket=ticket)
    assert client.post(old, {"score": "5"}).status_code == 404
    assert count(ticket) == 0


def test_a_one_click_rating_then_the_comment_once(client, solved):
    early = client.post(url(solved), {"details": "1", "comment": "Hello"}, HTTP_X_FRAGMENT="1")
    assert early.status_code == 400 and b"Choose a rating first." in early.content
    rated = client.post(url(solved), {"score": "3"}, HTTP_X_FRAGMENT="1")
    assert b"3 out of 5" in rated.content and b"Add my comment" in rated.content
    added = client.post(
        url(solved), {"details": "1", "comment": " Slow but fine "}, HTTP_X_FRAGMENT="1"
    )
    assert added.status_code == 200 and b"Add my comment" not in added.content
    client.post(url(solved), {"details": "1", "comment": "Overwritten?"}, HTTP_X_FRAGMENT="1")
    with tenant_context(solved.tenant):
        answer = SurveyResponse.objects.get(ticket=solved)
    assert (answer.score, answer.comment) == (3, "Slow but fine")
