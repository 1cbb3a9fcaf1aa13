"""Journeys in a real browser, over a real ASGI server.

A manager signs in, opens the Purchase funnel: the insight names Payment, the chart and the stage
table show the counts, and the voice-of-the-customer panel switches stages by click, by the chart
and by keyboard without reloading. An admin builds a journey in the editor (adding, reordering and
removing stage rows, inserting event names from the chips). A page of "the tenant's site" loads
the tracking snippet from the server and its events arrive through the API (CORS).

Screenshots go to /tmp/shots-ws/ (HELPDESK_SHOTS_DIR): journeys-*.png.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from journeys import services
from journeys.models import Journey, JourneyEvent, JourneyStage
from tests.factories.journeys import journey_make
from tests.factories.tenancy import TenantFactory, UserFactory
from tickets import services as ticket_services
from tickets.models import Message, MessageAnalysis

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


@pytest.fixture
def world():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    for email, role in (("max@acme.test", Role.MANAGER), ("ada@acme.test", Role.ADMIN)):
        user = UserFactory(email=email, full_name=email.split("@")[0].title(), password=PASSWORD)
        Membership.objects.create(tenant=tenant, user=user, role=role)
    purchase = journey_make(tenant, "Purchase", description="From the cart to the order.")
    journey_make(tenant, "Onboarding", [("Sign-up", ["Signed up"]), ("Done", ["Project created"])])
    now = timezone.now()
    events = []

    def run(name, start, confirmed):
        t = start
        for event in ("Cart viewed", "Checkout started", "Payment started"):
            events.append(
                {
                    "id": f"{name}-{event}",
                    "name": event,
                    "customer_id": name,
                    "timestamp": t.isoformat(),
                }
            )
            t += timedelta(hours=1)
        if confirmed:
            events.append(
                {
                    "id": f"{name}-ok",
                    "name": "Order confirmed",
                    "customer_id": name,
                    "timestamp": t.isoformat(),
                }
            )

    for i in range(30):  # before: 10% stop at Payment; now: 50%
        run(f"old{i}", now - timedelta(days=50, hours=i), i >= 3)
        run(f"new{i}", now - timedelta(days=20, hours=i), i % 2 == 0)
    services.events_ingest(tenant=tenant, events=events)
    with tenant_context(tenant):
        from tickets.models import Customer

        people = {c.external_id: c for c in Customer.objects.for_tenant(tenant)}
        for c in people.values():
            c.name = f"Customer {c.external_id}"
            c.save(update_fields=["name"])
    for i in range(12):
        customer = people[f"new{i}"]
        at = now - timedelta(days=20, hours=i) + timedelta(hours=2, minutes=30)
        ticket = ticket_services.ticket_create(
            tenant=tenant,
            customer=customer,
            subject=f"Unexpected fee at payment ({i})",
            body="Why is there a fee? It was not shown before.",
            at=at,
        )
        with tenant_context(tenant):
            message = Message.objects.for_tenant(tenant).filter(ticket=ticket).first()
            # Replaces what the analyser (run on commit) found, to know the figures.
            MessageAnalysis.objects.update_or_create(
                tenant=tenant,
                message=message,
                defaults={
                    "ticket": ticket,
                    "customer": customer,
                    "model_version": "test",
                    "sentiment_label": "negative" if i < 9 else "neutral",
                    "sentiment_score": -0.6,
                    "signals": {"frustration": {"score": 0.8, "phrases": ["why"]}},
                    "keywords": ["hidden fee", "unclear"] if i % 2 else ["hidden fee"],
                    "message_created_at": at,
                    "analysed_at": at,
                },
            )
    _key, raw_key = api_key_create(tenant=tenant, actor=None, name="site", scopes=["ingest:events"])
    return {"tenant": tenant, "purchase": purchase, "key": raw_key}


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    return errors


def sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


@pytest.fixture
def shop_server():
    """ "The tenant's site": a plain HTTP server on another port, so the snippet's calls to the
    helpdesk are cross-origin (CORS), between two loopback origins (no private-network block)."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield pages, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def open_shop(context, shop, base: str, key: str) -> Page:
    pages, origin = shop
    pages["/"] = (
        # An inline icon: otherwise Chromium may ask the shop for /favicon.ico, and that 404
        # lands in the console errors the test asserts on (it did in CI, now and then).
        '<!doctype html><title>Shop</title><link rel="icon" href="data:,">'
        f'<script src="{base}/static/js/track.js" data-endpoint="{base}/api/v1/t/acme/events/" '
        f'data-key="{key}"></script>'
    )
    page = context.new_page()
    page.goto(origin + "/")
    page.wait_for_function("window.helpdesk && window.helpdesk._loaded")
    return page


def test_the_funnel_page_editor_and_snippet_in_chromium(
    world, asgi_server, chromium, shots_dir, shop_server
):
    purchase_id = str(world["purchase"].public_id)
    with chromium() as browser:
        errors = funnel_and_editor(
            browser, asgi_server, purchase_id, world["key"], shots_dir, shop_server
        )
    assert errors == []

    tenant = world["tenant"]
    with tenant_context(tenant):
        built = Journey.objects.for_tenant(tenant).get(name="Trial")
        stages = list(
            JourneyStage.objects.for_tenant(tenant)
            .filter(journey=built)
            .order_by("position")
            .values_list("name", "event_names")
        )
        snippet_events = list(
            JourneyEvent.objects.for_tenant(tenant)
            .filter(customer__external_id="site-42")
            .values_list("name", "properties")
        )
    assert stages == [
        ("Trial started", ["Signed up"]),
        ("Invited a teammate", ["Teammate invited"]),
        ("Paid", ["Order confirmed"]),
    ]
    assert sorted(snippet_events) == [
        ("Checkout started", {"plan": "pro"}),
        ("Pricing viewed", {}),
    ]


def funnel_and_editor(browser, base, purchase_id, key, shots_dir, shop) -> list[str]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors = watch_errors(page)

    # The manager finds the journey from the navigation.
    sign_in(page, base, "max@acme.test", "/t/acme/queue/")
    page.get_by_role("link", name="Journeys").click()
    page.wait_for_url(re.compile(r"/t/acme/journeys/$"))
    expect(page.locator(".journey-card")).to_have_count(2)
    page.screenshot(path=str(shots_dir / "journeys-01-list.png"), full_page=True)
    page.get_by_role("link", name=re.compile("Purchase")).click()
    page.wait_for_url(re.compile(re.escape(purchase_id)))

    # The insight, the chart and the table.
    insight = page.locator("[data-insight=drop_off]")
    expect(insight).to_contain_text("Drop-off at Payment rose from 10% to 50%")
    expect(insight).to_contain_text("“hidden fee” (12)")
    expect(page.locator(".funnel-chart .funnel-row")).to_have_count(4)
    rows = page.locator(".journey-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2)).to_contain_text("30")  # reached Payment
    expect(rows.nth(2)).to_contain_text("50%")  # drop-off
    # The insight's stage is open in the voice panel.
    panel = page.locator("#voice-panel-2")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Tickets raised here")
    expect(panel).to_contain_text("hidden fee")
    expect(panel.locator(".jv-tickets li")).to_have_count(5)
    page.screenshot(path=str(shots_dir / "journeys-02-funnel.png"), full_page=True)

    # Tabs switch without a reload; the address follows.
    page.evaluate("window.__same = true")
    page.get_by_role("tab", name=re.compile("^Cart")).click()
    expect(page.locator("#voice-panel-0")).to_be_visible()
    expect(panel).to_be_hidden()
    expect(page.locator("#voice-panel-0")).to_contain_text("Nobody at Cart wrote")
    expect(page).to_have_url(re.compile(r"stage=0#voice$"))
    # Keyboard: arrows move between tabs.
    page.get_by_role("tab", name=re.compile("^Cart")).focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#voice-panel-1")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile("^Checkout"))).to_be_focused()
    # A bar of the chart opens its stage too, and marks the table row.
    page.locator('[data-stage-select="2"]').click()
    expect(panel).to_be_visible()
    expect(page.locator('tr[data-stage-row="2"]')).to_have_class(re.compile("is-selected"))
    assert page.evaluate("window.__same") is True
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(shots_dir / "journeys-03-voice.png"))

    # A breakdown by company, through the filter form.
    page.locator("#range-by").select_option("company")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="By company")).to_be_visible()

    # The admin builds a journey in the editor.
    page.context.clear_cookies()
    sign_in(page, base, "ada@acme.test", "/t/acme/journeys/new/")
    page.get_by_label("Name", exact=True).fill("Trial")
    names = page.locator("[data-stage-form] input[name$='-name']")
    events = page.locator("[data-stage-form] input[data-event-input]")
    expect(names).to_have_count(4)
    names.nth(0).fill("Paid")
    events.nth(0).fill("Order confirmed")
    names.nth(1).fill("Trial started")
    events.nth(1).fill("Signed up")
    names.nth(2).fill("Invited a teammate")
    events.nth(2).fill("Teammate invited")
    names.nth(3).fill("Mistake")
    # Reorder: "Paid" goes last; the spare row goes away.
    page.locator("[data-stage-form]").nth(0).locator("[data-stage-down]").click()
    page.locator("[data-stage-form]").nth(1).locator("[data-stage-down]").click()
    page.locator("[data-stage-form]").nth(3).locator("[data-stage-remove]").click()
    page.get_by_role("button", name="Add a stage").click()
    expect(page.locator("[data-stage-form]")).to_have_count(4)
    page.locator("[data-stage-form]").nth(3).locator("[data-stage-remove]").click()
    expect(page.locator("[data-stage-form]")).to_have_count(3)
    expect(page.locator('input[name="stages-TOTAL_FORMS"]')).to_have_value("3")
    expect(names.nth(2)).to_have_value("Paid")
    page.screenshot(path=str(shots_dir / "journeys-04-editor.png"), full_page=True)
    page.get_by_role("button", name="Create journey").click()
    expect(page.locator(".flash-stack")).to_contain_text("Journey “Trial” created.")
    expect(page.locator(".journey-table tbody tr")).to_have_count(3)

    # The tenant's own site loads the snippet from us and tracks.
    site = open_shop(context, shop, base, key)
    site_errors = watch_errors(site)
    site.evaluate(
        """() => {
            track("Pricing viewed");  // before identify: waits
            helpdesk.identify({ id: "site-42", email: "site42@example.com" });
            track("Checkout started", { plan: "pro" });
            helpdesk.flush();
        }"""
    )
    site.wait_for_function(
        "!localStorage.getItem('helpdesk.track.queue')", timeout=TIMEOUT, polling=100
    )
    context.close()
    return errors + site_errors


def test_the_snippet_survives_a_failed_send(world, asgi_server, chromium, shop_server):
    """The endpoint is down at first: events stay queued (in localStorage), then go through."""
    with chromium() as browser:
        context = browser.new_context()
        fails = {"left": 1}

        def flaky(route):
            if fails["left"]:
                fails["left"] -= 1
                route.fulfill(status=503, body="down")
            else:
                route.continue_()

        context.route("**/api/v1/t/acme/events/", flaky)
        page = open_shop(context, shop_server, asgi_server, world["key"])
        page.evaluate(
            "() => { helpdesk.identify({ id: 'retry-1' }); track('Cart viewed'); helpdesk.flush(); }"
        )
        deadline = time.monotonic() + 15
        while (
            page.evaluate("localStorage.getItem('helpdesk.track.queue')")
            and time.monotonic() < deadline
        ):
            page.wait_for_timeout(200)
        assert fails["left"] == 0
        assert page.evaluate("localStorage.getItem('helpdesk.track.queue')") is None
        context.close()
    tenant = world["tenant"]
    with tenant_context(tenant):
        assert (
            JourneyEvent.objects.for_tenant(tenant).filter(customer__external_id="retry-1").count()
            == 1
        )
