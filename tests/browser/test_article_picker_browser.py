"""The help-centre article picker of the ticket page's reply box in real Chromium: an agent
searches this helpdesk's published articles and inserts one's public link at the cursor. Drafts
and other tenants' articles are never offered."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import TicketFactory
from tickets.services.helpcenter import article_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


@pytest.fixture
def acme():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    dana = UserFactory(email="dana@acme.test", full_name="Dana Scully", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=dana, role=Role.AGENT)
    for title, publish in (("Track your parcel", True), ("Parcel insurance DRAFT", False)):
        article_create(
            tenant=tenant,
            actor=dana,
            title=title,
            body="Use the tracking link in your shipping email.",
            publish=publish,
        )
    globex = TenantFactory(name="Globex", slug="globex", reference_prefix="GLX")
    boss = UserFactory(email="boss@globex.test")
    Membership.objects.create(tenant=globex, user=boss, role=Role.ADMIN)
    article_create(
        tenant=globex, actor=boss, title="Parcel rules GLOBEX", body="Globex only.", publish=True
    )
    return tenant


@pytest.fixture
def ticket(acme):
    return TicketFactory(tenant=acme, subject="Where is my parcel?")


def test_an_agent_inserts_an_articles_link_at_the_cursor(acme, ticket, asgi_server, chromium):
    page_path = f"/t/acme/tickets/{ticket.number}/"
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{asgi_server}/accounts/login/?next={page_path}")
        page.get_by_label("Work email").fill("dana@acme.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(re.escape(page_path) + "$"))

        box = page.locator("#reply-body")
        box.fill("Hello Ada, see  for the details.")
        box.evaluate("node => node.setSelectionRange(15, 15)")  # between the two spaces
        picker = page.locator("[data-article-links]")
        picker.get_by_text("Insert article link").click()
        picker.get_by_placeholder("Search articles…").fill("parcel")
        options = picker.get_by_role("option")
        # "parcel" is in three titles: a draft and Globex's article are never offered.
        expect(options).to_have_count(1, timeout=TIMEOUT)
        expect(options).to_contain_text("Track your parcel")
        options.click()
        expect(box).to_have_value(
            re.compile(
                r"^Hello Ada, see Track your parcel: http\S+/t/acme/help/articles/"
                r"track-your-parcel/ for the details\.$"
            )
        )
        expect(box).to_be_focused()
        assert errors == []
