"""An admin writes a triage rule on the analysis settings page in Chromium, by keyboard: a refused
rule (no action) shows its error, then the rule is added, edited, moved up and deleted."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import TenantFactory, UserFactory
from tickets.models import TriageRule
from tickets.services.analysis import triage_rules_install_defaults

PASSWORD = "Correct-horse-7"
TIMEOUT = 10_000


def test_an_admin_writes_edits_moves_and_deletes_a_rule(asgi_server, chromium, shots_dir):
    tenant = TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")
    admin = UserFactory(email="ada@acme.test", full_name="Ada Admin", password=PASSWORD)
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    triage_rules_install_defaults(tenant=tenant)
    base = asgi_server
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{base}/accounts/login/?next=/t/acme/admin/analysis/")
        page.get_by_label("Work email").fill("ada@acme.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/t/acme/admin/analysis/$"))
        expect(page.get_by_role("heading", name="Add a rule")).to_be_visible()

        # a rule with a condition but no action: refused, with the reason, input kept
        page.get_by_label("Name", exact=True).fill("Angry and urgent")
        page.get_by_label("Sentiment").select_option("negative")
        page.get_by_label("frustration").check()
        page.get_by_label("Name", exact=True).press("Enter")  # Enter submits the form
        expect(page.get_by_text("A rule needs an action")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_label("Name", exact=True)).to_have_value("Angry and urgent")
        page.screenshot(path=str(shots_dir / "triage-rule-error.png"), full_page=True)

        page.get_by_label("Raise the priority to").select_option("urgent")
        page.get_by_label("Add tags").fill("Escalate Now")
        page.get_by_label("Add tags").press("Enter")
        expect(page.get_by_text("Rule “Angry and urgent” added.")).to_be_visible(timeout=TIMEOUT)
        rule = page.locator(".triage-rule", has_text="Angry and urgent")
        expect(rule).to_contain_text(
            "negative sentiment and frustration: raise the priority to urgent; "
            "add the tag “escalate-now”"
        )
        page.screenshot(path=str(shots_dir / "triage-rules.png"), full_page=True)

        # edit by keyboard: focus the Edit link and press Enter; the name field gets the focus
        rule.get_by_role("link", name="Edit").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/rules/\d+/"))
        expect(page.get_by_role("heading", name="Edit the rule “Angry and urgent”")).to_be_visible()
        expect(page.get_by_label("Name", exact=True)).to_be_focused()
        expect(page.get_by_label("Add tags")).to_have_value("escalate-now")
        page.screenshot(path=str(shots_dir / "triage-rule-edit.png"), full_page=True)
        page.get_by_label("Minimum signal score").fill("0.8")
        page.get_by_label("Notify").select_option("managers")
        page.get_by_role("button", name="Save the rule").click()
        expect(page.get_by_text("Rule “Angry and urgent” saved.")).to_be_visible(timeout=TIMEOUT)
        expect(rule).to_contain_text("signal score at least 0.8")
        expect(rule).to_contain_text("notify the managers")

        rule.get_by_role("button", name="Move Angry and urgent up").click()
        expect(page.locator(".triage-rule").nth(2)).to_contain_text("Angry and urgent")

        page.locator(".triage-rule", has_text="Angry and urgent").get_by_role(
            "button", name="Delete"
        ).click()
        expect(page.get_by_text("Rule “Angry and urgent” deleted.")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".triage-rule")).to_have_count(3)
        assert [e for e in errors if "status of 400" not in e] == []
    with tenant_context(tenant):
        assert TriageRule.objects.for_tenant(tenant).count() == 3
