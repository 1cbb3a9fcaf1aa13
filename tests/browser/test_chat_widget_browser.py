"""The live chat widget in real Chromium, embedded with one script tag on a page of another
site (another origin), talking over a real ASGI server to an agent on the agents' chat page.

The widget reaches the helpdesk through a small TCP relay that the test can cut, like a network
loss: messages written while offline wait in the widget's outbox, the agent's answers written
meanwhile are replayed after the reconnect, and nothing is lost or shown twice.

Screenshots go to /tmp/shots-ws/ (HELPDESK_SHOTS_DIR).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tickets.models import Channel, ChatSession, IntakeSettings, Message, Ticket
from tickets.services.helpcenter import article_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


class Relay:
    """A TCP relay to the helpdesk that can be cut (all connections dropped, new ones refused)
    and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.running = True
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:
            self._drop(sock)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.running = False
        self.cut()
        self.listener.close()


@pytest.fixture
def relay(asgi_server):
    relay = Relay(int(asgi_server.rsplit(":", 1)[1]))
    yield relay
    relay.close()


@pytest.fixture
def shop_site(relay):
    """Another website (another origin) that embeds the widget with one script tag."""
    helpdesk = f"http://127.0.0.1:{relay.port}"
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Acme Shop</title>"
        f'<script src="{helpdesk}/static/js/chat_widget.js" data-tenant="acme" '
        f'data-host="{helpdesk}" data-title="Chat with Acme" defer></script>'
        "</head><body><h1>Acme Shop</h1><p>Great parcels since 1999.</p></body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/shop.html"
    server.shutdown()
    server.server_close()


@pytest.fixture
def acme():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    dana = UserFactory(email="dana@acme.test", full_name="Dana Scully", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=dana, role=Role.AGENT)
    article_create(
        tenant=tenant,
        actor=dana,
        title="Track your parcel",
        body="Use the tracking link in your shipping email.",
        publish=True,
    )
    return tenant


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def sign_in(page: Page, base: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Work email").fill("dana@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


def test_widget_chat_with_an_agent_survives_a_network_loss(
    acme, asgi_server, relay, shop_site, chromium, shots_dir
):
    with chromium() as browser:
        errors = chat_scenario(browser, asgi_server, relay, shop_site, shots_dir)
    assert errors == []

    with tenant_context(acme):
        session = ChatSession.objects.get()
        bodies = list(
            Message.objects.filter(ticket=session.ticket)
            .order_by("pk")
            .values_list("body_text", flat=True)
        )
        assert session.state == ChatSession.State.ACTIVE and session.agent.email == "dana@acme.test"
        assert session.ticket.channel == Channel.CHAT
    assert sorted(bodies) == sorted(
        [
            "Hi, my parcel has not arrived",
            "Let me look",
            "Are you still there?",
            "Found it: it arrives tomorrow.",
        ]
    )


def chat_scenario(browser, base: str, relay: Relay, shop_url: str, shots_dir) -> list[str]:
    customer_context = browser.new_context(viewport={"width": 1100, "height": 800})
    agent_context = browser.new_context(viewport={"width": 1440, "height": 950})
    shop, agent = customer_context.new_page(), agent_context.new_page()
    errors = watch_errors(shop) + watch_errors(agent)

    # The customer opens the widget on the shop's page and writes.
    shop.goto(shop_url)
    shop.locator("[data-chat-launcher]").click()
    expect(shop.locator("[data-chat-panel]")).to_be_visible()
    shop.locator("[data-chat-intro] input").first.fill("Ada")
    shop.locator("[data-chat-input]").fill("Hi, my parcel has not arrived")
    shop.locator("[data-chat-input]").press("Enter")
    expect(shop.locator("[data-chat-log] .msg.me")).to_have_count(1)
    expect(shop.locator("[data-chat-log] .msg.pending")).to_have_count(0, timeout=TIMEOUT)
    expect(shop.locator("[data-chat-status]")).to_have_text("Waiting for an agent…")
    shop.screenshot(path=str(shots_dir / "chat-01-widget-waiting.png"))

    # The agent sees the waiting chat and opens it.
    sign_in(agent, base, "/t/acme/chat/")
    expect(agent.locator("[data-chat-status-text]")).to_have_text("Live", timeout=TIMEOUT)
    item = agent.locator("[data-chat-open]").filter(has_text="Ada")
    expect(item).to_be_visible(timeout=TIMEOUT)
    expect(item).to_contain_text("Waiting")
    item.click()
    thread = agent.locator("[data-chat-thread]")
    expect(thread).to_contain_text("Hi, my parcel has not arrived", timeout=TIMEOUT)

    # Typing indicators both ways, then the answer.
    agent_input = agent.locator("[data-chat-input]")
    agent_input.press_sequentially("Let me look", delay=40)
    expect(shop.locator("[data-chat-typing]")).to_have_text("Dana is typing…", timeout=TIMEOUT)
    agent_input.press("Enter")
    expect(shop.locator("[data-chat-log]")).to_contain_text("Let me look", timeout=TIMEOUT)
    expect(shop.locator("[data-chat-status]")).to_have_text(
        "Dana is here to help.", timeout=TIMEOUT
    )
    expect(shop.locator("[data-chat-typing]")).to_have_text("")
    shop.locator("[data-chat-input]").press_sequentially("Thanks", delay=40)
    expect(agent.locator("[data-chat-typing]")).to_have_text("Ada is typing…", timeout=TIMEOUT)
    shop.locator("[data-chat-input]").fill("")

    # The agent inserts a help-centre article's link into the answer being written.
    agent.get_by_text("Insert article link").click()
    agent.get_by_placeholder("Search articles…").fill("parcel")
    agent.get_by_role("option", name="Track your parcel").click()
    expect(agent_input).to_have_value(
        re.compile(r"^Track your parcel: http\S+/t/acme/help/articles/track-your-parcel/$")
    )
    agent.screenshot(path=str(shots_dir / "chat-02-agent-console.png"))
    agent_input.fill("")

    # The network drops. The customer writes anyway; the agent answers meanwhile.
    relay.cut()
    expect(shop.locator("[data-chat-conn]")).to_be_visible(timeout=TIMEOUT)
    shop.locator("[data-chat-input]").fill("Are you still there?")
    shop.locator("[data-chat-input]").press("Enter")
    expect(shop.locator("[data-chat-log] .msg.pending")).to_have_count(1)
    agent_input.fill("Found it: it arrives tomorrow.")
    agent_input.press("Enter")
    expect(thread.locator(".chat-msg.is-pending")).to_have_count(0, timeout=TIMEOUT)
    shop.wait_for_timeout(700)
    expect(shop.locator("[data-chat-log]")).not_to_contain_text("Found it")
    shop.screenshot(path=str(shots_dir / "chat-03-widget-offline.png"))

    # Back online: the widget reconnects, replays what it missed and sends its outbox, once.
    relay.restore()
    expect(shop.locator("[data-chat-conn]")).to_be_hidden(timeout=15_000)
    expect(shop.locator("[data-chat-log]")).to_contain_text(
        "Found it: it arrives tomorrow.", timeout=TIMEOUT
    )
    expect(shop.locator("[data-chat-log] .msg.pending")).to_have_count(0, timeout=TIMEOUT)
    expect(thread).to_contain_text("Are you still there?", timeout=TIMEOUT)
    shop.wait_for_timeout(500)
    expect(shop.locator("[data-chat-log] .msg")).to_have_count(4)
    expect(thread.locator(".chat-msg")).to_have_count(4)
    shop.screenshot(path=str(shots_dir / "chat-04-widget-back-online.png"))

    # A reload resumes the same chat from the stored token, with the whole conversation, once.
    shop.reload()
    expect(shop.locator("[data-chat-panel]")).to_be_visible()
    expect(shop.locator("[data-chat-log] .msg")).to_have_count(4, timeout=TIMEOUT)
    expect(shop.locator("[data-chat-status]")).to_have_text("Dana is here to help.")

    customer_context.close()
    agent_context.close()
    return errors


@pytest.fixture
def impatient_acme(acme):
    with tenant_context(acme):
        IntakeSettings.objects.create(tenant=acme, chat_wait_seconds=2)
    return acme


def test_nobody_answers_so_the_widget_offers_email(
    impatient_acme, asgi_server, relay, shop_site, chromium, shots_dir
):
    with chromium() as browser:
        context = browser.new_context()
        shop = context.new_page()
        errors = watch_errors(shop)
        shop.goto(shop_site)
        shop.locator("[data-chat-launcher]").click()
        shop.locator("[data-chat-input]").fill("Is anyone there? I need an invoice copy.")
        shop.locator("[data-chat-input]").press("Enter")
        offer = shop.locator("[data-chat-offer]")
        expect(offer).to_be_visible(timeout=TIMEOUT)
        offer.locator("input").fill("not-an-email")
        offer.get_by_role("button", name="Send").click()
        expect(offer).to_contain_text("Enter your email address.")
        offer.locator("input").fill("ada@example.com")
        offer.get_by_role("button", name="Send").click()
        expect(shop.locator("[data-chat-notice]")).to_contain_text(
            "We will answer by email at ada@example.com", timeout=TIMEOUT
        )
        expect(shop.locator("[data-chat-composer]")).to_be_hidden()
        shop.screenshot(path=str(shots_dir / "chat-05-widget-email-offer.png"))
        context.close()
    assert errors == []
    with tenant_context(impatient_acme):
        session = ChatSession.objects.get()
        ticket = Ticket.objects.get()
        assert session.state == ChatSession.State.CONVERTED
        assert ticket.channel == Channel.EMAIL and ticket.customer.email == "ada@example.com"
