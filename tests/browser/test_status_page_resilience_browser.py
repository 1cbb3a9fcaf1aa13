"""The customer's status page in real Chromium when the connection is not perfect, and its browser
notifications.

- WebSockets blocked (a proxy kills them): the page says it updates every few seconds and still
  follows the agent's changes, by polling, without a reload.
- The socket drops while the agent works, and the HTTP catch-up is blocked too: the page
  reconnects (with backoff) and the socket's replay brings exactly what it missed, once each.
- Browser notifications: permission is asked only when the customer clicks; with permission, a
  notification appears for an agent's reply only while the tab is in the background.

The agent's changes are made by the services in a helper thread (Playwright's event loop runs in
the test's thread while the browser is open). WebSockets are intercepted with Playwright's
``route_web_socket``; the server side is the real one.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import OperationalError, connections
from playwright.sync_api import Page, WebSocketRoute, expect

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import CustomerFactory
from tickets import selectors_status, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30_000
STATUS_SOCKET = re.compile(r"/ws/status/")
POLL = re.compile(r"/status/[^/]+/events/")


@pytest.fixture
def world():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME", brand_color="#0f766e")
    dana = UserFactory(email="dana@acme.test", full_name="Dana Scully")
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
    return {"tenant": tenant, "ticket": ticket, "dana": dana, "path": f"/status/{link.token}/"}


def in_thread(work) -> None:
    """Run database work in a thread of its own (and close its connection).

    On SQLite the server and this thread share one in-memory database, whose table locks fail
    at once instead of waiting while the page polls: the (atomic) work is then tried again.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            for attempt in range(50):
                try:
                    work()
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 49:
                        raise
                    time.sleep(0.1)
        except BaseException as exc:  # re-raised in the test
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the database work did not finish"
    if failure:
        raise failure[0]


def agent_reply(world, body: str, internal: bool = False) -> None:
    in_thread(
        lambda: services.message_create(
            tenant=world["tenant"],
            ticket=world["ticket"],
            body=body,
            author_user=world["dana"],
            is_internal=internal,
        )
    )


def agent_set_status(world, status: str) -> None:
    in_thread(
        lambda: services.ticket_set_status(
            tenant=world["tenant"], actor=world["dana"], ticket=world["ticket"], status=status
        )
    )


def page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def timeline_cursors(page: Page) -> list[str]:
    return page.locator("[data-timeline] [data-cursor]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-cursor'))"
    )


def test_with_websockets_blocked_the_page_polls_and_still_follows_the_agent(
    world, asgi_server, chromium
):
    attempts: list[str] = []

    def blocked(ws: WebSocketRoute) -> None:
        attempts.append(ws.url)
        ws.close()  # never reaches the server, like a proxy that drops WebSockets

    with chromium() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        errors = page_errors(page)
        page.route_web_socket(STATUS_SOCKET, blocked)
        page.goto(asgi_server + world["path"])
        expect(page.locator("[data-live-label]")).to_have_text(
            "Updating every few seconds", timeout=TIMEOUT
        )
        page.evaluate("window.__notReloaded = true")

        agent_reply(world, "NOTE-SECRET: check the payment provider", internal=True)
        agent_reply(world, "Hi Grace, I am on it.")
        timeline = page.locator("[data-timeline]")
        expect(timeline).to_contain_text("Hi Grace, I am on it.", timeout=TIMEOUT)
        expect(page.locator("[data-headline]")).to_have_text("Our team is looking into it.")
        agent_set_status(world, "pending")
        expect(page.locator("[data-headline]")).to_have_text(
            "We are waiting for your reply.", timeout=TIMEOUT
        )
        expect(page.locator(".status-page")).not_to_contain_text("NOTE-SECRET")
        expect(page.locator("[data-live-label]")).to_have_text("Updating every few seconds")
        assert page.evaluate("window.__notReloaded") is True
        cursors = timeline_cursors(page)
        assert len(cursors) == len(set(cursors))
        assert attempts, "the page never tried its socket"
        assert errors == []


def test_after_a_dropped_socket_the_page_reconnects_and_replays_what_it_missed(
    world, asgi_server, chromium
):
    sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []
    state = {"blocked": False, "refused": 0}
    attempts: list[float] = []  # when each refused reconnect came (monotonic seconds)

    def route(ws: WebSocketRoute) -> None:
        if state["blocked"]:
            state["refused"] += 1
            attempts.append(time.monotonic())
            ws.close()
            return
        sockets.append((ws, ws.connect_to_server()))

    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors = page_errors(page)
        page.route_web_socket(STATUS_SOCKET, route)
        page.goto(asgi_server + world["path"])
        live = page.locator("[data-live-label]")
        expect(live).to_have_text("Live", timeout=TIMEOUT)
        page.evaluate("window.__notReloaded = true")
        before = timeline_cursors(page)

        # The connection drops; while it is down the agent works. The HTTP catch-up is blocked
        # as well, so what the page missed can only come from the socket's replay by cursor.
        page.route(POLL, lambda poll: poll.abort())
        state["blocked"] = True
        page_side, server_side = sockets[-1]
        dropped = time.monotonic()
        page_side.close()
        server_side.close()
        expect(live).not_to_have_text("Live", timeout=TIMEOUT)
        agent_reply(world, "First answer: I see the double charge.")
        agent_reply(world, "NOTE-SECRET", internal=True)
        agent_set_status(world, "pending")
        # Three reconnects fail; the waits before them grow (backoff 0.5-1 s, 1-2 s, 2-4 s,
        # each with jitter).
        for _ in range(300):
            if state["refused"] >= 3:
                break
            page.wait_for_timeout(100)
        assert state["refused"] >= 3
        waits = [b - a for a, b in zip([dropped, *attempts], attempts[:3], strict=False)]
        assert 0.3 < waits[0] < 1.5, waits
        assert waits[1] > waits[0] - 0.05 and waits[2] > waits[1] - 0.05, waits
        assert waits[2] > 1.5 * waits[0], waits
        assert page.locator("[data-timeline]").inner_text().count("First answer") == 0
        state["blocked"] = False

        expect(live).to_have_text("Live", timeout=TIMEOUT)
        timeline = page.locator("[data-timeline]")
        expect(timeline).to_contain_text("First answer: I see the double charge.")
        expect(timeline).to_contain_text("We are waiting for your reply.")
        expect(page.locator("[data-headline]")).to_have_text("We are waiting for your reply.")
        assert len(sockets) >= 2
        after = timeline_cursors(page)
        new = after[len(before) :]
        assert after[: len(before)] == before
        assert len(new) == 3  # the reply, "working on it", "waiting for your reply"
        assert len(after) == len(set(after))
        assert [int(c) for c in after] == sorted(int(c) for c in after)
        expect(page.locator(".status-page")).not_to_contain_text("NOTE-SECRET")

        # And it streams on.
        agent_set_status(world, "open")
        expect(page.locator("[data-headline]")).to_have_text(
            "Our team is looking into it.", timeout=TIMEOUT
        )
        assert page.evaluate("window.__notReloaded") is True
        assert errors == []


# Spies on the Notifications API (the browser's, not ours): how often permission was asked, and
# which notifications were shown; and a switch for "the tab is in the background".
NOTIFICATION_SPY = """
(() => {
  window.__asked = 0;
  window.__notes = [];
  window.__background = false;
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true,
    get() { return window.__background; },
  });
  const Real = window.Notification;
  if (!Real) return;
  class Spy extends Real {
    constructor(title, options) {
      window.__notes.push({ title: title, body: (options || {}).body });
      super(title, options);
    }
  }
  const ask = Real.requestPermission.bind(Real);
  Spy.requestPermission = function (callback) {
    window.__asked += 1;
    return ask(callback);
  };
  window.Notification = Spy;
})();
"""


def test_notifications_are_asked_for_on_click_and_shown_only_in_the_background(
    world, asgi_server, chromium
):
    url = asgi_server + world["path"]
    with chromium() as browser:
        # A first visit: nothing is asked until the customer clicks.
        first = browser.new_context()
        first.add_init_script(NOTIFICATION_SPY)
        page = first.new_page()
        page.goto(url)
        expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        button = page.get_by_role("button", name="Notify me in this browser")
        expect(button).to_be_visible()
        page.wait_for_timeout(300)
        assert page.evaluate("window.__asked") == 0
        button.click()
        page.wait_for_function("window.__asked === 1", timeout=TIMEOUT)
        first.close()

        # Permission given: a reply shows a notification only while the tab is hidden.
        granted = browser.new_context()
        granted.grant_permissions(["notifications"], origin=asgi_server)
        granted.add_init_script(NOTIFICATION_SPY)
        page = granted.new_page()
        page.goto(url)
        expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)
        expect(page.locator("[data-notify-state]")).to_have_text("Browser notifications are on.")
        expect(page.get_by_role("button", name="Notify me in this browser")).to_be_hidden()

        agent_reply(world, "Seen while you look")
        expect(page.locator("[data-timeline]")).to_contain_text(
            "Seen while you look", timeout=TIMEOUT
        )
        assert page.evaluate("window.__notes") == []

        page.evaluate("window.__background = true")
        agent_reply(world, "Sent while you are away")
        expect(page.locator("[data-timeline]")).to_contain_text(
            "Sent while you are away", timeout=TIMEOUT
        )
        page.wait_for_function("window.__notes.length > 0", timeout=TIMEOUT)
        notes = page.evaluate("window.__notes")
        assert notes[0] == {"title": "New reply from Dana", "body": "Sent while you are away"}
        assert all("NOTE" not in (note["body"] or "") for note in notes)
        assert page.evaluate("window.__asked") == 0  # already granted: never asked again
