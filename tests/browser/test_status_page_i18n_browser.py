"""The status page in German in real Chromium (a browser whose language is German): the page
opens in German and stays German while it follows the agent live. The socket's shared text is in
the site's language (English); the page takes it as a signal and fetches its own words."""

from __future__ import annotations

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.browser.test_status_page_resilience_browser import (  # noqa: F401 - world is a fixture
    POLL,
    STATUS_SOCKET,
    TIMEOUT,
    agent_reply,
    agent_set_status,
    page_errors,
    timeline_cursors,
    world,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_german_page_follows_the_agent_live_in_german(world, asgi_server, chromium):  # noqa: F811
    frames: list[str] = []

    def watch(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: (frames.append(str(message)), ws.send(message)))

    polls: list[str] = []
    with chromium() as browser:
        context = browser.new_context(
            locale="de-DE",
            extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"},
            viewport={"width": 390, "height": 844},
        )
        page = context.new_page()
        errors = page_errors(page)
        page.route_web_socket(STATUS_SOCKET, watch)
        page.on(
            "request",
            lambda request: polls.append(request.url) if POLL.search(request.url) else None,
        )
        page.goto(asgi_server + world["path"])
        expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        expect(page.locator("[data-headline]")).to_have_text("Wir haben Ihre Anfrage erhalten.")
        expect(page.locator('.status-step[aria-current="step"]')).to_contain_text("Eingegangen")
        page.evaluate("window.__notReloaded = true")

        agent_reply(world, "Hallo Grace, ich kümmere mich darum.")
        timeline = page.locator("[data-timeline]")
        expect(timeline).to_contain_text("Hallo Grace, ich kümmere mich darum.", timeout=TIMEOUT)
        expect(page.locator("[data-headline]")).to_have_text("Unser Team sieht sich das an.")
        expect(timeline).to_contain_text("Wir arbeiten an Ihrer Anfrage.")
        agent_set_status(world, "pending")
        expect(page.locator("[data-headline]")).to_have_text(
            "Wir warten auf Ihre Antwort.", timeout=TIMEOUT
        )
        expect(page.locator('.status-step[aria-current="step"]')).to_contain_text("Wartet auf Sie")
        expect(page.locator("[data-live-label]")).to_have_text("Live")
        expect(page.locator(".status-page")).not_to_contain_text("We are")
        assert page.evaluate("window.__notReloaded") is True
        cursors = timeline_cursors(page)
        assert len(cursors) == len(set(cursors))
        assert errors == []
    # The socket did carry the changes (in English); the German words came over HTTP.
    assert any("We are waiting for your reply." in frame for frame in frames)
    assert polls


# Every date and time the script writes, as the page's language formats it in the page itself.
LOCAL_TIMES = """([language]) => {
    const withDate = {hour: "numeric", minute: "2-digit", day: "numeric", month: "short"};
    return Array.from(document.querySelectorAll("time[data-local-time]")).map((node) => {
        const date = new Date(node.getAttribute("datetime"));
        return {
            shown: node.textContent,
            expected: date.toLocaleString(language, withDate),
            english: date.toLocaleString("en-US", withDate),
        };
    });
}"""
HOUR_MINUTE = """([iso, language]) => new Date(iso).toLocaleString(
    language, {hour: "numeric", minute: "2-digit"}
)"""


def test_a_german_page_writes_every_date_and_time_in_german(
    world,  # noqa: F811
    asgi_server,
    chromium,
    shots_dir,
):
    """A browser that asks for German gets a German page, and every date and time its script
    writes is German too (timeline, live entries, the reply time in the visitor's zone): "26.
    Nov., 15:37", not "Nov 26, 3:37 PM" (the script formats in the page's language)."""
    from datetime import timedelta

    from django.utils import timezone

    from helpdesk.tenancy.context import tenant_context
    from tickets.models import Ticket

    due = timezone.now() + timedelta(hours=5)
    with tenant_context(world["tenant"]):
        Ticket.objects.for_tenant(world["tenant"]).filter(pk=world["ticket"].pk).update(
            first_response_due_at=due
        )
    with chromium() as browser:
        context = browser.new_context(
            locale="de-DE",
            timezone_id="America/New_York",  # not the helpdesk's zone: the local reply time shows
            extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"},
        )
        page = context.new_page()
        errors = page_errors(page)
        page.goto(asgi_server + world["path"])
        expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        expect(page.locator("[data-headline]")).to_have_text("Wir haben Ihre Anfrage erhalten.")
        assert page.evaluate("document.documentElement.lang") == "de"
        # The reply is due in 5 hours: the time in the visitor's zone, before anyone answers.
        eta = page.locator("[data-local-eta]")
        expect(eta).to_be_visible()
        expected, english = (
            page.evaluate(HOUR_MINUTE, [due.isoformat(), language]) for language in ("de", "en-US")
        )
        expect(eta).to_contain_text(expected)
        expect(eta).not_to_contain_text(english)

        agent_reply(world, "Hallo Grace, ich sehe mir die Abbuchung an.")
        timeline = page.locator("[data-timeline]")
        expect(timeline).to_contain_text("ich sehe mir die Abbuchung an", timeout=TIMEOUT)
        times = page.evaluate(LOCAL_TIMES, ["de"])
        assert len(times) >= 2  # the first message and the live reply
        for item in times:
            assert item["shown"] == item["expected"], item
            assert item["shown"] != item["english"], item
            assert "AM" not in item["shown"] and "PM" not in item["shown"], item

        page.screenshot(path=str(shots_dir / "status-page-german.png"), full_page=True)
        assert errors == []
