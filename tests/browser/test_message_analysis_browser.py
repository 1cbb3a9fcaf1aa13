"""An agent has a ticket open in Chromium (real ASGI server): a customer's new message shows
"analysing…", then its analysis appears without a reload once a worker has stored it (even when
the ticket's mood does not change); a correction is one click, reachable with the keyboard."""

from __future__ import annotations

import re
import threading

from django.db import connection
from playwright.sync_api import expect

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import AnalysisCorrection, Message
from tickets.services.analysis import analysis_deferred
from tickets.tasks.analysis import message_analyse_task

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


def in_thread(work) -> object:
    """Database work while Playwright's event loop owns this thread (Django refuses it here)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # pragma: no cover - re-raised below
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_analysis_appears_live_and_a_correction_is_one_click(asgi_server, chromium, shots_dir):
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    ada = UserFactory(email="ada@acme.test", full_name="Ada Agent", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=ada, role=Role.AGENT)
    customer = CustomerFactory(tenant=tenant, name="Grace Hopper")
    with analysis_deferred():
        ticket = services.ticket_create(
            tenant=tenant, customer=customer, subject="Crash", body="The app keeps crashing!"
        )
    with tenant_context(tenant):
        first = Message.objects.for_tenant(tenant).get()
    message_analyse_task(tenant.pk, first.pk)

    def second_message():
        with analysis_deferred():
            return services.message_create(
                tenant=tenant, ticket=ticket, body="It keeps crashing!", author_customer=customer
            )

    path = f"/t/acme/tickets/{ticket.number}/"
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.goto(f"{asgi_server}/accounts/login/?next={path}")
        page.get_by_label("Work email").fill("ada@acme.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(re.escape(path)))
        expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)

        second = in_thread(second_message)
        page.reload()
        expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        marker = page.locator(f'[data-analysis-for="{second.public_id}"]')
        expect(marker).to_contain_text("analysing")
        page.evaluate("window.__same_page = true")
        in_thread(lambda: message_analyse_task(tenant.pk, second.pk))
        expect(marker).not_to_contain_text("analysing", timeout=TIMEOUT)
        expect(marker.locator(".analysis-marker--negative")).to_be_visible()
        assert page.evaluate("window.__same_page") is True  # swapped in, not reloaded

        # One click, from the keyboard: focus the "neutral" button of the first message.
        first_marker = page.locator(f'[data-analysis-for="{first.public_id}"]')
        button = first_marker.get_by_role("button", name="neutral")
        expect(button).to_be_visible()
        button.focus()
        page.screenshot(path=str(shots_dir / "message-analysis-correct.png"))
        page.keyboard.press("Enter")
        expect(first_marker).to_contain_text("→ neutral · corrected", timeout=TIMEOUT)
        assert errors == []

    with tenant_context(tenant):
        correction = AnalysisCorrection.objects.for_tenant(tenant).get()
    assert (correction.message_id, correction.field, correction.corrected) == (
        first.pk,
        "sentiment",
        "neutral",
    )
