"""The tenant's analysis settings: keyphrase words (product words, stop words) and triage rules
(defaults for every new tenant, on/off), through the services and the admin page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import tenant_create
from tests.factories.tickets import analysed_ticket
from tickets.analysis.keywords import extract_keywords
from tickets.models import AnalysisSettings, MessageAnalysis, TriageRule
from tickets.services.analysis import (
    DEFAULT_TRIAGE_RULES,
    analysis_settings_update,
    triage_rule_set_active,
    triage_rules_install_defaults,
)

PAGE = "/t/acme/admin/analysis/"


def analyse(tenant, body):
    """A new ticket with its first message analysed, and that analysis."""
    ticket, message = analysed_ticket(tenant, body)
    with tenant_context(tenant):
        return ticket, MessageAnalysis.objects.for_tenant(tenant).get(message=message)


def rules_of(tenant):
    with tenant_context(tenant):
        return {r.name: r for r in TriageRule.objects.for_tenant(tenant)}


# --- Services -------------------------------------------------------------------------------


def test_a_new_tenant_starts_with_the_default_triage_rules(db):
    admin = User.objects.create_user(email="founder@initech.test", password="x" * 12)
    tenant = tenant_create(name="Initech", slug="initech", admin=admin)
    assert set(rules_of(tenant)) == {spec["name"] for spec in DEFAULT_TRIAGE_RULES}
    assert triage_rules_install_defaults(tenant=tenant) == 0  # once only
    ticket, _analysis = analyse(tenant, "I'm confused, where do I find the export button?")
    with tenant_context(tenant):
        assert set(ticket.tags.values_list("name", flat=True)) == {"needs-clarity"}


def test_product_words_are_cleaned_and_left_out_of_keyphrases(tenant, other_tenant, agent):
    settings = analysis_settings_update(
        tenant=tenant,
        actor=agent,
        product_words=["  Acme   Cloud ", "acme cloud", "Acme Sync"],
        stop_words=["hello team"],
    )
    assert settings.product_words == ["Acme Cloud", "Acme Sync"]  # trimmed, de-duplicated
    _ticket, analysis = analyse(tenant, "The Acme Cloud checkout page shows a hidden fee.")
    assert "hidden fee" in analysis.keywords and "checkout page" in analysis.keywords
    assert not any("acme" in k or "cloud" in k for k in analysis.keywords)
    # the other tenant's messages are read without Acme's words (settings are per tenant)
    text = "The Acme Cloud checkout page shows a hidden fee."
    _ticket, foreign = analyse(other_tenant, text)
    assert foreign.keywords == extract_keywords(text) != analysis.keywords
    # saving again replaces the lists, and empties them
    analysis_settings_update(tenant=tenant, actor=agent, product_words=[], stop_words=[])
    with tenant_context(tenant):
        row = AnalysisSettings.objects.for_tenant(tenant).get()
    assert (row.product_words, row.stop_words) == ([], [])


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["x" * 61], "longer than 60"),
        (["<script>"], "letters, digits"),
        ([f"word{i}" for i in range(201)], "At most 200"),
    ],
)
def test_bad_words_are_refused_with_a_message(tenant, agent, words, message):
    with pytest.raises(ValidationError) as error:
        analysis_settings_update(tenant=tenant, actor=agent, product_words=words, stop_words=[])
    assert message in str(error.value)
    with tenant_context(tenant):
        assert not AnalysisSettings.objects.for_tenant(tenant).exists()  # nothing half saved


def test_a_rule_turned_off_does_not_fire_and_rules_stay_in_their_tenant(
    tenant, other_tenant, agent
):
    triage_rules_install_defaults(tenant=tenant)
    triage_rules_install_defaults(tenant=other_tenant)
    confusion = rules_of(tenant)["Confused customer: needs clarity"]
    triage_rule_set_active(tenant=tenant, actor=agent, rule=confusion, is_active=False)
    assert rules_of(other_tenant)["Confused customer: needs clarity"].is_active
    ticket, _analysis = analyse(tenant, "I'm confused, where do I change my password?")
    with tenant_context(tenant):
        assert not ticket.tags.exists()
    foreign_rule = rules_of(other_tenant)["Confused customer: needs clarity"]
    with pytest.raises(ValidationError):
        triage_rule_set_active(tenant=tenant, actor=agent, rule=foreign_rule, is_active=False)
    assert rules_of(other_tenant)["Confused customer: needs clarity"].is_active


# --- The admin page -------------------------------------------------------------------------


def test_an_admin_sets_product_words_and_turns_a_rule_off(client, tenant, admin_user):
    triage_rules_install_defaults(tenant=tenant)
    client.force_login(admin_user)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert b"Triage rules" in page.content and b"Churn risk: tell the managers" in page.content
    saved = client.post(
        PAGE, {"product_words": "Acme Cloud, Acme Sync\nAcme Pay", "stop_words": ""}
    )
    assert saved.status_code == 302
    with tenant_context(tenant):
        row = AnalysisSettings.objects.for_tenant(tenant).get()
    assert row.product_words == ["Acme Cloud", "Acme Sync", "Acme Pay"]
    assert b"Acme Pay" in client.get(PAGE).content  # shown again for editing
    churn = rules_of(tenant)["Churn risk: tell the managers"]
    toggled = client.post(f"{PAGE}rules/toggle/", {"rule": churn.pk, "active": "0"}, follow=True)
    assert toggled.status_code == 200 and b"is off" in toggled.content
    assert not rules_of(tenant)["Churn risk: tell the managers"].is_active


def test_bad_input_on_the_page_is_a_form_error_not_a_500(client, tenant, admin_user):
    client.force_login(admin_user)
    response = client.post(PAGE, {"product_words": "fine\n<b>bold</b>", "stop_words": ""})
    assert response.status_code == 400
    assert b"letters, digits" in response.content
    assert b"&lt;b&gt;bold&lt;/b&gt;" in response.content  # kept in the form, escaped
    with tenant_context(tenant):
        assert not AnalysisSettings.objects.for_tenant(tenant).exists()
    bad_toggle = client.post(f"{PAGE}rules/toggle/", {"rule": "abc"}, follow=True)
    assert bad_toggle.status_code == 200 and b"Choose a rule" in bad_toggle.content


def test_agents_cannot_change_settings_and_foreign_rules_are_not_found(
    client, tenant, other_tenant, agent, admin_user
):
    triage_rules_install_defaults(tenant=other_tenant)
    client.force_login(agent)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"product_words": "x", "stop_words": ""}).status_code == 403
    client.force_login(admin_user)
    foreign = rules_of(other_tenant)["Churn risk: tell the managers"]
    response = client.post(f"{PAGE}rules/toggle/", {"rule": foreign.pk, "active": "0"})
    assert response.status_code == 404
    assert rules_of(other_tenant)["Churn risk: tell the managers"].is_active
    assert b"Churn risk" not in client.get(PAGE).content  # only the tenant's own rules are listed
    assert client.get("/t/globex/admin/analysis/").status_code == 404  # not a member there


def test_the_default_rules_button_adds_what_is_missing(client, tenant, admin_user):
    client.force_login(admin_user)
    assert b"Add the default rules" in client.get(PAGE).content
    response = client.post(f"{PAGE}rules/defaults/", follow=True)
    assert response.status_code == 200 and b"3 default rule(s) added" in response.content
    assert len(rules_of(tenant)) == 3
    assert b"Add the default rules" not in client.get(PAGE).content


def test_the_page_is_in_the_admin_navigation_for_admins_only(client, tenant, admin_user, agent):
    client.force_login(admin_user)
    assert PAGE.encode() in client.get("/t/acme/queue/").content
    client.force_login(agent)
    assert PAGE.encode() not in client.get("/t/acme/queue/").content


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OBSERVER])
def test_managers_and_observers_cannot_open_the_settings(client, tenant, member_factory, role):
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    assert client.get(PAGE).status_code == 403
