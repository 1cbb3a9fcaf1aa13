"""Security in a real browser: the Content-Security-Policy breaks no page, and the XSS corpus
(tests/fixtures/xss/payloads.txt) never runs, wherever customer-supplied text is shown.

The XSS pages are checked twice: as served (with the CSP), and with the CSP switched off in the
browser (Playwright's ``bypass_csp``) so that escaping and sanitising alone are proven too. A
payload "runs" if it opens a dialog, sets ``window.__xss``, or leaves an element in the page
that could run code (an event-handler attribute, an inline script, a ``javascript:`` URL, a
frame, object or embed).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import Customer
from tickets.services.helpcenter import article_create
from tickets.services.status import status_link_ensure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-horse-7"
TIMEOUT = 15_000
PAYLOADS = [
    line
    for line in (Path(__file__).parents[1] / "fixtures" / "xss" / "payloads.txt")
    .read_text()
    .splitlines()
    if line.strip() and not line.startswith("#")
]

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

DANGEROUS_DOM = """
() => {
  const found = [];
  const urlAttrs = ["href", "src", "action", "formaction", "data", "xlink:href"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith("on")) found.push(`<${el.localName} ${attr.name}>`);
      if (urlAttrs.includes(attr.name) && /^\\s*(javascript|vbscript|data:text\\/html)/i.test(attr.value)) {
        found.push(`<${el.localName} ${attr.name}=${attr.value.slice(0, 30)}>`);
      }
      if (attr.name.startsWith("hx-on")) found.push(`<${el.localName} ${attr.name}>`);
    }
    if (["iframe", "frame", "object", "embed", "base"].includes(el.localName)) {
      found.push(`<${el.localName}>`);
    }
    if (el.localName === "script" && !el.src && el.type !== "application/json") {
      found.push(`inline <script>${el.textContent.slice(0, 30)}`);
    }
    if (el.localName === "meta" && el.httpEquiv && el.httpEquiv.toLowerCase() === "refresh") {
      found.push("<meta refresh>");
    }
  }
  return found;
}
"""


def sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


def watch(page: Page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"dialogs": [], "console": [], "errors": []}

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda msg: seen["console"].append(msg.text) if msg.type in {"error", "warning"} else None,
    )
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.add_init_script(WATCH_CSP)
    return seen


@pytest.fixture
def world():
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME", brand_color="#0f766e")
    admin = UserFactory(email="admin@acme.test", full_name="Ada Admin", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    grace = CustomerFactory(tenant=tenant, name="Grace Hopper", email="grace@navy.test")
    ticket = services.ticket_create(
        tenant=tenant,
        customer=grace,
        subject="Charged twice for my subscription",
        body="Hello, my card was charged twice this month.",
        channel="web",
    )
    article = article_create(
        tenant=tenant,
        actor=admin,
        title="Refunds",
        body="How refunds work.\n\n**Two** steps.",
        publish=True,
    )
    status = status_link_ensure(tenant=tenant, ticket=ticket)
    return {
        "ticket": ticket.number,
        "status": f"/status/{status.token}/",
        "article": f"/t/acme/help/articles/{article.slug}/",
    }


def test_the_main_pages_run_under_the_csp_without_a_single_violation(
    world, asgi_server, chromium, shots_dir
):
    pages = [
        "/t/acme/queue/",
        f"/t/acme/tickets/{world['ticket']}/",
        "/t/acme/dashboards/",
        "/t/acme/admin/settings/",
        "/accounts/two-factor/",
        "/api/docs/",
    ]
    public = ["/", "/accounts/login/", "/t/acme/help/", world["article"], world["status"]]
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        seen = watch(page)
        for path in public:
            page.goto(f"{asgi_server}{path}", wait_until="networkidle")
            violations = page.evaluate("window.__csp")
            assert violations == [], (path, violations)
        sign_in(page, asgi_server, "admin@acme.test", "/t/acme/queue/")
        for path in pages:
            response = page.goto(f"{asgi_server}{path}", wait_until="networkidle")
            assert response is not None and response.status == 200, path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            if path == "/api/docs/":  # Swagger UI renders the operations from the schema
                page.locator(".opblock").first.wait_for(timeout=TIMEOUT)
            violations = page.evaluate("window.__csp")
            assert violations == [], (path, violations)
            if path == "/t/acme/queue/":
                # The tenant's colour arrives through data-brand (no style attribute).
                brand = page.evaluate(
                    "getComputedStyle(document.documentElement).getPropertyValue('--brand')"
                )
                assert brand.strip() == "#0f766e"
        page.screenshot(path=str(shots_dir / "security-csp-last-page.png"))
        console_before = list(seen["console"])
        # The watch sees what the policy blocks: an inline style attribute added now.
        page.evaluate(
            """document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>')"""
        )
        page.wait_for_function("window.__csp.length > 0", timeout=TIMEOUT)
        context.close()
    csp_console = [m for m in console_before if "Content Security Policy" in m]
    assert csp_console == []
    assert seen["errors"] == []


def test_the_xss_checks_notice_a_payload_that_runs(chromium):
    """The harness itself: a page where a payload does run is caught by all three checks."""
    with chromium() as browser:
        page = browser.new_page()
        seen = watch(page)
        page.set_content(
            "<p>x</p><img src=x onerror=alert(1)><script>window.__xss=1</script>"
            '<a href="javascript:alert(2)">y</a>'
        )
        page.wait_for_timeout(300)
        dangerous, flag = page.evaluate(DANGEROUS_DOM), page.evaluate("window.__xss")
    assert seen["dialogs"] == ["alert: 1"]
    assert flag == 1
    assert "<img onerror>" in dangerous and any("javascript" in d for d in dangerous)


@pytest.fixture
def xss_world(world):
    from helpdesk.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug="acme")
    admin = Membership.objects.get(tenant=tenant, role=Role.ADMIN).user
    customers = []
    for index, payload in enumerate(PAYLOADS):
        customers.append(
            CustomerFactory(tenant=tenant, name=payload[:200], email=f"xss{index}@example.test")
        )
        services.ticket_create(
            tenant=tenant,
            customer=customers[-1],
            subject=payload,
            body=payload,
            body_html=payload,
            channel="email",
        )
    # One conversation with every payload as a customer message (text and HTML), on the agent's
    # ticket page and on the customer's status page.
    first = customers[0]
    conversation = services.ticket_create(
        tenant=tenant, customer=first, subject=PAYLOADS[0], body=PAYLOADS[0]
    )
    for payload in PAYLOADS:
        services.message_create(
            tenant=tenant,
            ticket=conversation,
            body=payload,
            body_html=payload,
            author_customer=first,
            channel="email",
        )
    article = article_create(
        tenant=tenant,
        actor=admin,
        title=PAYLOADS[0][:120],
        body="\n\n".join(PAYLOADS),
        publish=True,
    )
    with tenant_context(tenant):
        customer_id = Customer.objects.for_tenant(tenant).get(pk=first.pk).public_id
    status = status_link_ensure(tenant=tenant, ticket=conversation)
    return {
        "staff": [
            "/t/acme/queue/",
            f"/t/acme/tickets/{conversation.number}/",
            f"/t/acme/customers/{customer_id}/",
            "/t/acme/customers/",
        ],
        "public": [f"/status/{status.token}/", f"/t/acme/help/articles/{article.slug}/"],
    }


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_the_xss_corpus_never_runs(xss_world, asgi_server, chromium, shots_dir, bypass_csp):
    assert len(PAYLOADS) >= 40
    with chromium() as browser:
        context = browser.new_context(bypass_csp=bypass_csp)
        page = context.new_page()
        seen = watch(page)
        visited = {}
        for path in xss_world["public"]:
            page.goto(f"{asgi_server}{path}", wait_until="networkidle")
            visited[path] = page.evaluate(DANGEROUS_DOM), page.evaluate("window.__xss")
        sign_in(page, asgi_server, "admin@acme.test", "/t/acme/queue/")
        for path in xss_world["staff"]:
            page.goto(f"{asgi_server}{path}", wait_until="networkidle")
            page.mouse.move(200, 300)  # hover payloads
            page.keyboard.press("Tab")  # focus payloads
            visited[path] = page.evaluate(DANGEROUS_DOM), page.evaluate("window.__xss")
            if path.startswith("/t/acme/tickets/"):
                # The payloads are shown as text, not dropped: the agent sees what was sent.
                assert "<script>alert(1)</script>" in page.inner_text("main")
        page.screenshot(
            path=str(shots_dir / f"security-xss-{'bypass' if bypass_csp else 'csp'}.png"),
            full_page=True,
        )
        context.close()
    for path, (dangerous, flag) in visited.items():
        assert dangerous == [], (path, dangerous)
        assert flag is None, path
    assert seen["dialogs"] == []
