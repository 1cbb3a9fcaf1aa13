"""The agent workspace in a real browser, over a real ASGI server with live WebSockets.

Two agents work the same ticket. Agent 1 signs in through the login form, opens the queue, opens
the ticket, takes it, sends a reply from a macro and escalates it with a reason. Agent 2 has the
same ticket open in another browser context and sees each change appear without reloading, sees
"… is typing a reply…" while agent 1 types, and keeps their own draft through the refreshes.

Screenshots of each page go to /tmp/shots-ws/ (HELPDESK_SHOTS_DIR) for a human look.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import CustomerFactory, GroupFactory
from tickets import services
from tickets.models import CustomFieldDefinition, Message, SlaPolicy, Ticket
from tickets.services.macros import macro_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


@pytest.fixture
def workspace():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    ada = UserFactory(email="ada@acme.test", full_name="Ada Lovelace", password=PASSWORD)
    dana = UserFactory(email="dana@acme.test", full_name="Dana Scully", password=PASSWORD)
    for user in (ada, dana):
        Membership.objects.create(tenant=tenant, user=user, role=Role.AGENT)
    GroupFactory(tenant=tenant, name="Front line", tier=1)
    specialists = GroupFactory(tenant=tenant, name="Specialists", tier=2)
    with tenant_context(tenant):
        SlaPolicy.objects.create(
            tenant=tenant,
            name="Standard",
            first_response_minutes=60,
            next_response_minutes=240,
            resolution_minutes=24 * 60,
        )
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="order", label="Order number", kind="number", position=1
        )
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="plan", label="Plan", kind="choice", choices=["Free", "Pro"]
        )
    macro_save(
        tenant=tenant,
        actor=ada,
        name="Refund on its way",
        body="Hi {{customer.first_name}}, your refund is on its way. It shows up within 3 days.",
        set_status="pending",
        add_tags=["refund"],
    )
    grace = CustomerFactory(
        tenant=tenant, name="Grace Hopper", email="grace@navy.test", company="US Navy"
    )
    others = [
        ("Invoice shows the wrong VAT number", "high", "email"),
        ("Cannot reset my password", "normal", "chat"),
        ("Export to CSV times out", "urgent", "web"),
        ("Feature request: dark mode", "low", "email"),
    ]
    for subject, priority, channel in others:
        customer = CustomerFactory(tenant=tenant)
        services.ticket_create(
            tenant=tenant,
            customer=customer,
            subject=subject,
            body="Details inside.",
            priority=priority,
            channel=channel,
        )
    ticket = services.ticket_create(
        tenant=tenant,
        customer=grace,
        subject="Charged twice for my subscription",
        body="Hello, my card was charged twice this month. Can you refund one of them?",
        channel="email",
    )
    with tenant_context(tenant):
        first, second = Ticket.objects.for_tenant(tenant).order_by("number")[:2]
        Ticket.objects.for_tenant(tenant).filter(pk=first.pk).update(sla_stage=100)
        Ticket.objects.for_tenant(tenant).filter(pk=second.pk).update(sla_stage=75)
    return {
        "tenant": tenant,
        "ticket": ticket,
        "customer_id": grace.public_id,
        "specialists": specialists,
        "ada": ada,
    }


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


def live(page: Page) -> None:
    expect(page.locator("[data-live-label]")).to_have_text("Live", timeout=TIMEOUT)


def test_two_agents_work_the_same_ticket_live(workspace, asgi_server, chromium, shots_dir):
    ticket = workspace["ticket"]
    with chromium() as browser:
        errors = two_agents(
            browser, asgi_server, ticket.number, workspace["customer_id"], shots_dir
        )
    assert errors == []

    tenant = workspace["tenant"]
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)
        reply = Message.objects.for_tenant(tenant).filter(ticket=ticket).latest("id")
        assert (ticket.tier, ticket.group_id, ticket.status) == (
            2,
            workspace["specialists"].pk,
            "pending",
        )
        assert reply.author_user_id == workspace["ada"].pk and not reply.is_internal
        assert list(ticket.tags.values_list("name", flat=True)) == ["refund"]


def two_agents(browser, base: str, number: int, customer_id, shots_dir) -> list[str]:
    """The scenario, in the browser only (no database access here). Returns page errors."""
    ticket_path = f"/t/acme/tickets/{number}/"

    ada_context = browser.new_context(viewport={"width": 1440, "height": 1000})
    dana_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    ada, dana = ada_context.new_page(), dana_context.new_page()
    ada_errors, dana_errors = watch_errors(ada), watch_errors(dana)

    # Agent 1 signs in through the form and lands on the queue.
    sign_in(ada, base, "ada@acme.test", "/t/acme/queue/")
    expect(ada.locator("#queue-rows")).to_contain_text("Charged twice for my subscription")
    expect(ada.locator(".sla-flag--breached").first).to_be_visible()
    live(ada)
    ada.screenshot(path=str(shots_dir / "01-queue.png"), full_page=True)

    # Agent 2 opens the ticket and raises its priority: the queue offers a refresh, and only
    # reloads its rows when asked.
    sign_in(dana, base, "dana@acme.test", ticket_path)
    live(dana)
    dana.locator("#act-priority").select_option("high")
    dana.locator("#act-priority").locator("xpath=..").get_by_role("button", name="Set").click()
    expect(dana.locator(".flash-stack")).to_contain_text("Priority changed.")
    refresh = ada.get_by_role("button", name="New activity — refresh")
    expect(refresh).to_be_visible(timeout=TIMEOUT)
    row = ada.locator(f'#queue-tbody tr[data-number="{number}"]')
    expect(row).to_contain_text("Normal")
    refresh.click()
    expect(row).to_contain_text("High", timeout=TIMEOUT)
    expect(refresh).to_be_hidden()

    # Agent 2 starts a draft of her own; it must survive everything agent 1 does.
    live(dana)
    dana.locator("#reply-body").fill("Draft by Dana: checking the payment provider")
    dana.evaluate("window.__notReloaded = true")

    # Filters update the rows through htmx and the address bar follows.
    ada.locator("#queue-q").fill("charged twice")
    expect(ada.locator("#queue-tbody tr")).to_have_count(1, timeout=TIMEOUT)
    expect(ada).to_have_url(re.compile(r"\?view=open&q=charged(%20|\+)twice&sort=-updated$"))
    ada.locator("#queue-tbody tr").first.locator("input[name=tickets]").check()
    expect(ada.locator("[data-bulk]")).to_be_visible()
    expect(ada.locator("[data-bulk-count]")).to_have_text("1 ticket selected")
    ada.locator("#queue-q").blur()  # leaving the search box keeps the selection
    ada.wait_for_timeout(600)
    expect(ada.locator("#queue-tbody input[name=tickets]").first).to_be_checked()
    expect(ada.locator("[data-bulk-count]")).to_have_text("1 ticket selected")
    ada.screenshot(path=str(shots_dir / "02-queue-filtered-bulk.png"))

    # Open the ticket from the queue with the keyboard: j highlights the first row, Enter opens.
    ada.keyboard.press("j")
    expect(row).to_have_class(re.compile(r"\bis-current\b"))
    ada.keyboard.press("Enter")
    ada.wait_for_url(re.compile(re.escape(ticket_path)))
    live(ada)
    expect(dana.locator("[data-presence-text]")).to_contain_text(
        "Ada is also viewing", timeout=TIMEOUT
    )
    expect(ada.locator("[data-presence-text]")).to_contain_text(
        "Dana is also viewing", timeout=TIMEOUT
    )

    # Take it: agent 2 sees the new assignee without reloading.
    ada.get_by_role("button", name="Take it").click()
    expect(ada.locator(".flash-stack")).to_contain_text("You took this ticket.")
    live(ada)
    expect(dana.locator("#ticket-meta")).to_contain_text("Ada Lovelace", timeout=TIMEOUT)
    expect(dana.locator("[data-live-notice]")).to_contain_text(
        re.compile(r"Ada( Lovelace)? took the ticket")
    )

    # Agent 1 types: agent 2 sees it.
    body = ada.locator("#reply-body")
    body.click()
    body.press_sequentially("Hi Grace, ", delay=40)
    expect(dana.locator("[data-presence-text]")).to_contain_text(
        "Ada is typing a reply", timeout=TIMEOUT
    )
    dana.screenshot(path=str(shots_dir / "03-ticket-other-agent-typing.png"))

    # The macro replaces the draft (after a confirmation) and says what else it will do.
    ada.once("dialog", lambda dialog: dialog.accept())
    ada.locator("[data-macro-select]").select_option(label="Refund on its way")
    expect(body).to_have_value(re.compile(r"^Hi Grace, your refund is on its way"))
    effects = ada.locator("[data-macro-effects]")
    expect(effects).to_be_visible()
    expect(effects).to_contain_text("sets the status to pending")
    expect(effects).to_contain_text("refund")
    ada.screenshot(path=str(shots_dir / "04-ticket-reply-macro.png"), full_page=True)
    ada.get_by_role("button", name="Send reply").click()
    expect(ada.locator(".flash-stack")).to_contain_text("Reply sent.")
    live(ada)
    expect(ada.locator("#ticket-meta")).to_contain_text("Pending")

    # Agent 2: the reply appears live, her own draft is untouched, no reload happened.
    expect(dana.locator("#ticket-thread")).to_contain_text(
        "your refund is on its way", timeout=TIMEOUT
    )
    expect(dana.locator("#ticket-meta")).to_contain_text("Pending")
    expect(dana.locator("#ticket-aside .tag-list")).to_contain_text("refund")
    expect(dana.locator("#reply-body")).to_have_value(
        "Draft by Dana: checking the payment provider"
    )
    assert dana.evaluate("window.__notReloaded") is True

    # Escalate with a reason.
    ada.locator('details[data-disclosure="escalate"] > summary').click()
    ada.locator("#escalate-group").select_option(label="Specialists · tier 2")
    ada.locator("#escalate-reason").fill("Needs a refund in the payment provider console")
    ada.get_by_role("button", name="Escalate", exact=True).click()
    expect(ada.locator(".flash-stack")).to_contain_text("Escalated to Specialists.")
    expect(dana.locator("#ticket-meta")).to_contain_text("Tier 2", timeout=TIMEOUT)
    expect(dana.locator("#ticket-aside")).to_contain_text(
        "Needs a refund in the payment provider console"
    )
    assert dana.evaluate("window.__notReloaded") is True
    expect(dana.locator("#reply-body")).to_have_value(
        "Draft by Dana: checking the payment provider"
    )
    dana.screenshot(path=str(shots_dir / "05-ticket-live-update.png"), full_page=True)
    ada.screenshot(path=str(shots_dir / "06-ticket-after-escalation.png"), full_page=True)

    # Keyboard help: "?" opens an accessible dialog, Esc closes it; "n" switches to a note.
    live(ada)
    ada.locator("body").click(position={"x": 5, "y": 5})
    ada.keyboard.press("?")
    dialog = ada.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    ada.wait_for_timeout(300)  # let the opening animation finish before the picture
    ada.screenshot(path=str(shots_dir / "07-shortcuts-help.png"))
    ada.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    ada.keyboard.press("n")
    expect(ada.locator("[data-reply]")).to_have_class(re.compile(r"\bis-note\b"))
    ada.keyboard.press("r")
    expect(body).to_be_focused()
    body.press_sequentially("n")  # typing in the box never triggers shortcuts
    expect(ada.locator("[data-reply]")).to_have_class(re.compile(r"\bis-note\b"))
    ada.screenshot(path=str(shots_dir / "08-ticket-internal-note.png"))

    # The customer page.
    ada.get_by_role("link", name="Customer profile").click()
    expect(ada.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    ada.screenshot(path=str(shots_dir / "09-customer.png"), full_page=True)

    # Phone width.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    mobile = phone.new_page()
    mobile_errors = watch_errors(mobile)
    sign_in(mobile, base, "dana@acme.test", "/t/acme/queue/")
    mobile.locator('#queue-tbody input[name="tickets"]').first.check()
    expect(mobile.locator("[data-bulk]")).to_be_visible()
    mobile.screenshot(path=str(shots_dir / "10-phone-queue.png"), full_page=True)
    mobile.screenshot(
        path=str(shots_dir / "10a-phone-queue-top.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 390, "height": 1000},
    )
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    mobile.goto(f"{base}{ticket_path}")
    live(mobile)
    mobile.screenshot(path=str(shots_dir / "11-phone-ticket.png"), full_page=True)
    mobile.screenshot(
        path=str(shots_dir / "11a-phone-ticket-top.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 390, "height": 1100},
    )
    aside = mobile.evaluate(
        "(() => { const r = document.getElementById('ticket-aside').getBoundingClientRect();"
        " return {y: r.top + window.scrollY, height: r.height}; })()"
    )
    mobile.screenshot(
        path=str(shots_dir / "11b-phone-ticket-aside.png"),
        full_page=True,
        clip={"x": 0, "y": aside["y"], "width": 390, "height": min(aside["height"], 1400)},
    )
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    mobile.goto(f"{base}/t/acme/customers/{customer_id}/")
    mobile.screenshot(path=str(shots_dir / "12-phone-customer.png"), full_page=True)
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390

    # Dark mode (the colour tokens switch with prefers-color-scheme).
    dark = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    night = dark.new_page()
    sign_in(night, base, "dana@acme.test", ticket_path)
    live(night)
    night.locator('input[data-mode="note"]').check(force=True)
    night.screenshot(path=str(shots_dir / "13-dark-ticket-note.png"))
    night.goto(f"{base}/t/acme/queue/")
    night.screenshot(path=str(shots_dir / "14-dark-queue.png"))

    for context in (ada_context, dana_context, phone, dark):
        context.close()
    return ada_errors + dana_errors + mobile_errors


@pytest.fixture
def long_queue():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    lee = UserFactory(email="lee@acme.test", full_name="Lee Adama", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=lee, role=Role.MANAGER)
    customer = CustomerFactory(tenant=tenant)
    for n in range(55):
        services.ticket_create(tenant=tenant, customer=customer, subject=f"Order {n:02d}", body="x")
    return tenant


def test_queue_load_more_bulk_and_saved_view(long_queue, asgi_server, chromium, shots_dir):
    with chromium() as browser:
        errors = queue_tools(browser, asgi_server, shots_dir)
    assert errors == []
    with tenant_context(long_queue):
        statuses = Ticket.objects.for_tenant(long_queue).values_list("number", "status")
        pending = sorted(number for number, status in statuses if status == "pending")
    assert pending == [1, 2]


def queue_tools(browser, base: str, shots_dir) -> list[str]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, base, "lee@acme.test", "/t/acme/queue/?sort=-number")
    rows = page.locator("#queue-tbody > tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Order 54")

    # "Load more" appends the next page in place (keyset cursor, no page numbers).
    page.get_by_role("link", name="Load more").click()
    expect(rows).to_have_count(55, timeout=TIMEOUT)
    expect(rows.last).to_contain_text("Order 00")
    expect(page.locator("#queue-more")).to_contain_text("End of the list.")
    assert "cursor=" not in page.url

    # Bulk: tick two rows, set their status.
    for number in (1, 2):
        page.locator(f'#queue-tbody input[name="tickets"][value="{number}"]').check()
    bulk = page.locator("[data-bulk]")
    expect(bulk.locator("[data-bulk-count]")).to_have_text("2 tickets selected")
    bulk.locator("[data-bulk-action]").select_option("status")
    bulk.locator("#bulk-status").select_option("pending")
    bulk.get_by_role("button", name="Apply").click()
    expect(page.locator(".flash-stack")).to_contain_text("Updated 2 tickets.")
    assert "sort=-number" in page.url

    # Save the current view (managers may share it) and open it from the list.
    page.get_by_text("Save this view").click()
    page.get_by_label("Name").fill("Newest numbers")
    page.get_by_text("Share with the team").click()
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".flash-stack")).to_contain_text("Saved the view “Newest numbers”.")
    saved = page.get_by_role("navigation", name="Saved views").get_by_role(
        "link", name="Newest numbers"
    )
    expect(saved).to_have_attribute("aria-current", "page")
    expect(rows.first).to_contain_text("Order 54")
    page.screenshot(path=str(shots_dir / "15-queue-saved-view.png"))
    context.close()
    return errors
