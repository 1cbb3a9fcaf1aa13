"""The customer's live status page in a real browser, over a real ASGI server with WebSockets.

The customer has their status page open on a phone-sized screen. In another browser context an
agent signs in, takes the ticket, writes an internal note and a reply, and solves the ticket. The
customer's page follows every public change without reloading (progress, what happens next,
the timeline, the announcement for screen readers), never shows the internal note, sends a reply
of its own that the agent sees live, and finally asks for CSAT once.

Screenshots go to /tmp/shots-ws/ (HELPDESK_SHOTS_DIR) for a human look.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from empathy_metrics.models import SurveyResponse
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import CustomerFactory
from tickets import selectors_status, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


@pytest.fixture
def world():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME", brand_color="#0f766e")
    dana = UserFactory(email="dana@acme.test", full_name="Dana Scully", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=dana, role=Role.AGENT)
    grace = CustomerFactory(tenant=tenant, name="Grace Hopper", email="grace@navy.test")
    ticket = services.ticket_create(
        tenant=tenant,
        customer=grace,
        subject="Charged twice for my subscription",
        body="Hello, my card was charged twice this month.",
        channel="web",
    )
    link = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk)
    return {"tenant": tenant, "ticket": ticket, "token": link.token}


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    return errors


def fits_the_phone(page) -> None:
    """Nothing sticks out sideways at the phone's width (no horizontal scrolling)."""
    width = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert width["inner"] == 390
    assert width["scroll"] <= width["inner"], width


def test_the_customers_page_follows_an_agent_live_without_reload(
    world, asgi_server, chromium, shots_dir
):
    base = asgi_server
    ticket = world["ticket"]
    status_path = f"/status/{world['token']}/"

    with chromium() as browser:
        customer_context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True
        )
        agent_context = browser.new_context(viewport={"width": 1280, "height": 1000})
        customer, agent = customer_context.new_page(), agent_context.new_page()
        customer_errors, agent_errors = watch_errors(customer), watch_errors(agent)

        # The customer opens the link from their email: the page goes live.
        customer.goto(base + status_path)
        expect(customer.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        summary = customer.locator("[data-summary]")
        expect(summary.locator("[data-headline]")).to_have_text("We have received your request.")
        expect(customer.locator('.status-step[aria-current="step"]')).to_have_text(
            re.compile("Received")
        )
        # The tenant's colour (a data-brand rule of app.js's constructed stylesheet: the CSP
        # allows no style attributes).
        expect(customer.locator(".status-page")).to_have_css("--brand", "#0f766e")
        expect(customer.get_by_role("button", name="Notify me in this browser")).to_be_visible()
        customer.evaluate("window.__notReloaded = true")
        fits_the_phone(customer)
        customer.screenshot(path=str(shots_dir / "status-01-received.png"), full_page=True)

        # The agent signs in, opens the ticket and takes it.
        ticket_path = f"/t/acme/tickets/{ticket.number}/"
        agent.goto(f"{base}/accounts/login/?next={ticket_path}")
        agent.get_by_label("Work email").fill("dana@acme.test")
        agent.get_by_label("Password").fill(PASSWORD)
        agent.get_by_role("button", name="Sign in").click()
        agent.wait_for_url(re.compile(re.escape(ticket_path)))
        expect(agent.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        agent.get_by_role("button", name="Take it").click()
        expect(agent.locator(".flash-stack")).to_contain_text("You took this ticket.")

        expect(summary.locator("[data-headline]")).to_have_text(
            "Dana has your request.", timeout=TIMEOUT
        )
        expect(customer.locator('.status-step[aria-current="step"]')).to_have_text(
            re.compile("Assigned to Dana")
        )
        expect(customer.locator("[data-timeline]")).to_contain_text(
            "Dana is now handling your request."
        )

        # An internal note, then a reply to the customer.
        agent.locator("input[name=internal][value=true]").check(force=True)
        agent.locator("#reply-body").fill("NOTE-SECRET: check the payment provider first")
        agent.locator("[data-reply-submit]").click()
        expect(agent.locator(".flash-stack")).to_contain_text("Note added.")
        agent.locator("input[name=internal][value=false]").check(force=True)
        agent.locator("#reply-body").fill("Hi Grace, I found the double charge and I am on it.")
        agent.locator("[data-reply-submit]").click()
        expect(agent.locator(".flash-stack")).to_contain_text("Reply sent.")

        timeline = customer.locator("[data-timeline]")
        expect(timeline).to_contain_text("I found the double charge", timeout=TIMEOUT)
        expect(summary.locator("[data-headline]")).to_have_text("Dana is looking into it.")
        expect(customer.locator("[data-announce]")).to_contain_text("Dana")
        expect(customer.locator(".status-page")).not_to_contain_text("NOTE-SECRET")
        fits_the_phone(customer)
        customer.screenshot(path=str(shots_dir / "status-02-in-progress.png"), full_page=True)

        # The customer answers from the page; the agent sees it arrive live.
        customer.get_by_label("Your message").fill("Thank you! It was the March invoice.")
        customer.get_by_role("button", name="Send").click()
        expect(customer.locator("[data-reply-status]")).to_have_text("Your message was sent.")
        expect(timeline.locator(".status-entry--mine").last).to_contain_text(
            "It was the March invoice", timeout=TIMEOUT
        )
        expect(timeline.locator(".status-entry--mine")).to_have_count(2)  # the first one + this
        expect(agent.locator("#ticket-thread")).to_contain_text(
            "It was the March invoice", timeout=TIMEOUT
        )

        # Solved: the page says so and asks for CSAT, still without a reload.
        agent.get_by_role("button", name="Solve").click()
        expect(agent.locator(".flash-stack")).to_contain_text("Status set to solved.")
        expect(summary.locator("[data-headline]")).to_have_text(
            "Your request is resolved.", timeout=TIMEOUT
        )
        csat = customer.locator("[data-csat]")
        expect(csat).to_have_attribute("data-csat-state", "ask", timeout=TIMEOUT)
        expect(csat).to_contain_text("How satisfied are you with the help you received?")
        fits_the_phone(customer)
        customer.screenshot(path=str(shots_dir / "status-03-resolved-csat.png"), full_page=True)
        # one click on a score is the answer; the comment can follow
        csat.locator("label.csat-option").nth(4).click()
        expect(customer.locator("[data-csat]")).to_contain_text(
            "You rated this 5 out of 5.", timeout=TIMEOUT
        )
        customer.get_by_label(re.compile("Anything you would like to add")).fill("Fast and kind.")
        customer.get_by_role("button", name="Add my comment").click()
        expect(customer.get_by_role("button", name="Add my comment")).to_have_count(
            0, timeout=TIMEOUT
        )
        assert customer.evaluate("window.__notReloaded") is True
        fits_the_phone(customer)
        customer.screenshot(path=str(shots_dir / "status-04-thanks.png"), full_page=True)

        # Every entry is shown once.
        cursors = timeline.locator("[data-cursor]").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('data-cursor'))"
        )
        assert len(cursors) == len(set(cursors))
        assert customer_errors == [] and agent_errors == []

    tenant = world["tenant"]
    with tenant_context(tenant):
        answer = SurveyResponse.objects.for_tenant(tenant).get()
    assert (answer.score, answer.comment) == (5, "Fast and kind.")
