"""The emailed CSAT survey in real Chromium: one click on a score in the email is the whole
answer (the page sends it by itself), then the customer may add a comment."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from empathy_metrics.models import SurveyResponse
from empathy_metrics.services import csat_request_send
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.test_services_csat_email import csat_mails, score_links, solved_ticket
from tests.factories.tenancy import MembershipFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 10_000


def test_one_click_in_the_email_saves_the_rating_and_a_comment_can_follow(asgi_server, chromium):
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    agent = UserFactory(email="dana@acme.test", full_name="Dana Scully")
    MembershipFactory(tenant=tenant, user=agent, role=Role.AGENT)
    ticket = solved_ticket(tenant, agent, subject="Refund for the double charge")
    mail.outbox.clear()
    csat_request_send(tenant=tenant, ticket=ticket)
    (message,) = csat_mails()
    link = asgi_server + score_links(message)[5]

    with chromium() as browser:
        page = browser.new_page()
        page.goto(link)  # the customer's one click in the email
        expect(page.get_by_text("Your rating was saved: 5 out of 5")).to_be_visible(timeout=TIMEOUT)
        page.get_by_label("Anything you would like to add?").fill("Quick and friendly, thanks")
        page.get_by_role("button", name="Add my comment").click()
        expect(page.get_by_text("and your words were saved")).to_be_visible(timeout=TIMEOUT)

    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
    assert (answer.score, answer.comment, answer.ticket_id) == (
        5,
        "Quick and friendly, thanks",
        ticket.pk,
    )
