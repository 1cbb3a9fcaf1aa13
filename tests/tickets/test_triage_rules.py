"""Triage rules authored by the tenant's admins: the service (validation, audit log, order), the
analysis settings page and the API; a custom rule fires once per message; roles and isolation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from helpdesk.tenancy.audit import audit_list
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import analysed_ticket
from tickets import services
from tickets.models import Notification, Ticket, TicketEvent, TriageRule
from tickets.services.analysis import messages_analyse, triage_rules_install_defaults
from tickets.services.triage_rules import (
    triage_rule_create,
    triage_rule_delete,
    triage_rule_move,
    triage_rule_update,
    triage_rules_reorder,
)

PAGE = "/t/acme/admin/analysis/"
API = "/api/v1/t/acme/triage-rules/"
CHURN = "I will cancel my subscription and I am switching to a competitor."


def rules_of(tenant) -> list[TriageRule]:
    with tenant_context(tenant):
        return list(TriageRule.objects.for_tenant(tenant).order_by("position", "id"))


def audit_of(tenant) -> list:
    """The tenant's audit entries about triage rules (sign-ins are logged too)."""
    with tenant_context(tenant):
        entries = list(audit_list(tenant=tenant).order_by("id"))
    return [e for e in entries if e.data.get("setting") == "triage_rule"]


def make_rule(tenant, name="Churn: escalate", **kw):
    return triage_rule_create(
        tenant=tenant,
        actor=None,
        name=name,
        conditions=kw.pop("conditions", {"signals": ["churn_risk"]}),
        actions=kw.pop("actions", {"set_priority": "urgent", "add_tags": ["Retention Team"]}),
        **kw,
    )


# --- Service --------------------------------------------------------------------------------


def test_create_edit_reorder_delete_through_the_service_each_in_the_audit_log(tenant, admin_user):
    triage_rules_install_defaults(tenant=tenant)
    rule = triage_rule_create(
        tenant=tenant,
        actor=admin_user,
        name="  Angry   and urgent ",
        conditions={
            "sentiment": "negative",
            "signals": ["urgency", "frustration", "urgency"],
            "min_score": "0.7",
        },
        actions={"set_priority": "urgent", "add_tags": [" Escalate Now ", "escalate-now"]},
    )
    assert rule.name == "Angry and urgent"
    assert rule.conditions == {
        "sentiment": "negative",
        "signals": ["frustration", "urgency"],  # canonical order, once each
        "min_score": 0.7,
    }
    assert rule.actions == {"set_priority": "urgent", "add_tags": ["escalate-now"]}
    assert [r.name for r in rules_of(tenant)][-1] == "Angry and urgent"  # placed last

    rule = triage_rule_update(
        tenant=tenant,
        actor=admin_user,
        rule=rule,
        actions={"notify": "managers"},
        is_active=False,
    )
    assert rule.actions == {"notify": "managers"} and not rule.is_active
    same = triage_rule_update(tenant=tenant, actor=admin_user, rule=rule, is_active=False)
    assert same.pk == rule.pk

    order = [r.pk for r in rules_of(tenant)]
    triage_rule_move(tenant=tenant, actor=admin_user, rule=rule, direction="up")
    moved = [r.pk for r in rules_of(tenant)]
    assert moved == [*order[:-2], order[-1], order[-2]]
    assert [r.position for r in rules_of(tenant)] == [10, 20, 30, 40]
    triage_rules_reorder(tenant=tenant, actor=admin_user, rule_ids=list(reversed(moved)))
    assert [r.pk for r in rules_of(tenant)] == list(reversed(moved))
    with pytest.raises(ValidationError, match="every one"):
        triage_rules_reorder(tenant=tenant, actor=admin_user, rule_ids=moved[:2])

    triage_rule_delete(tenant=tenant, actor=admin_user, rule=rule)
    assert rule.pk not in [r.pk for r in rules_of(tenant)]

    entries = audit_of(tenant)
    changes = [e.data["change"] for e in entries]
    # created, updated (the no-op update is not logged), moved, reordered, deleted
    assert changes == ["created", "updated", "reordered", "reordered", "deleted"]
    assert {e.action for e in entries} == {"settings_changed"}
    assert all(e.actor_id == admin_user.pk for e in entries)
    updated = entries[1]
    assert updated.target == "Triage rule “Angry and urgent”"
    assert (
        updated.data["before"]["is_active"] is True and updated.data["after"]["is_active"] is False
    )


@pytest.mark.parametrize(
    ("conditions", "actions", "field", "message"),
    [
        ({}, {"add_tags": ["x"]}, "conditions", "needs a condition"),
        ({"sentiment": "negative"}, {}, "actions", "needs an action"),
        ({"sentiment": "angry"}, {"add_tags": ["x"]}, "sentiment", "Choose one of"),
        ({"signals": ["sadness"]}, {"add_tags": ["x"]}, "signals", "Unknown signal sadness"),
        ({"signals": "urgency"}, {"add_tags": ["x"]}, "signals", "a list"),
        ({"signals": ["urgency"], "min_score": 0.2}, {"add_tags": ["x"]}, "min_score", "0.5 to 1"),
        ({"signals": ["urgency"], "min_score": "x"}, {"add_tags": ["x"]}, "min_score", "0.5 to 1"),
        ({"sentiment": "negative", "min_score": 0.7}, {"add_tags": ["x"]}, "min_score", "signal"),
        ({"mood": "bad"}, {"add_tags": ["x"]}, "conditions", "Unknown condition mood"),
        ({"sentiment": "negative"}, {"set_priority": "low"}, "set_priority", "normal, high"),
        ({"sentiment": "negative"}, {"add_tags": ["x" * 60]}, "add_tags", "Tags are 1-"),
        (
            {"sentiment": "negative"},
            {"add_tags": [f"t{i}" for i in range(11)]},
            "add_tags",
            "At most 10",
        ),
        ({"sentiment": "negative"}, {"notify": "everyone"}, "notify", "Notify one of"),
        (
            {"signals": ["urgency"], "min_score": 10**400},
            {"notify": "admins"},
            "min_score",
            "0.5 to 1",
        ),
        ({"sentiment": "negative"}, {"add_tags": ["a\x00b"]}, "add_tags", "printable"),
        ({"sentiment": "negative"}, {"assign": "billing"}, "actions", "Unknown action assign"),
    ],
)
def test_a_rule_without_a_condition_or_an_action_or_with_bad_values_is_refused(
    tenant, admin_user, conditions, actions, field, message
):
    with pytest.raises(ValidationError) as error:
        triage_rule_create(
            tenant=tenant, actor=admin_user, name="R", conditions=conditions, actions=actions
        )
    assert field in error.value.message_dict
    assert message in " ".join(error.value.message_dict[field])
    assert rules_of(tenant) == [] and audit_of(tenant) == []


def test_names_are_unique_per_tenant_and_rules_stay_in_their_tenant(
    tenant, other_tenant, admin_user
):
    rule = make_rule(tenant)
    with pytest.raises(ValidationError, match="Another rule has this name"):
        make_rule(tenant, name="churn: ESCALATE")
    other = make_rule(tenant, name="Second")
    with pytest.raises(ValidationError, match="Another rule has this name"):
        triage_rule_update(tenant=tenant, actor=admin_user, rule=other, name=rule.name)
    foreign = make_rule(other_tenant)  # the same name in another tenant is fine
    for change in (
        lambda: triage_rule_update(tenant=tenant, actor=admin_user, rule=foreign, name="Mine"),
        lambda: triage_rule_delete(tenant=tenant, actor=admin_user, rule=foreign),
        lambda: triage_rule_move(tenant=tenant, actor=admin_user, rule=foreign, direction="up"),
    ):
        with pytest.raises(ValidationError):
            change()
    assert [r.name for r in rules_of(other_tenant)] == ["Churn: escalate"]
    with pytest.raises(ValidationError):
        triage_rules_reorder(tenant=tenant, actor=admin_user, rule_ids=[foreign.pk, rule.pk])


# --- A custom rule in the pipeline ----------------------------------------------------------


def test_a_custom_rule_fires_once_per_message_even_after_an_edit_and_a_reanalysis(
    tenant, admin_user, member_factory
):
    manager = member_factory(tenant, Role.MANAGER, "boss@acme.test")
    rule = triage_rule_create(
        tenant=tenant,
        actor=admin_user,
        name="Churn: escalate",
        conditions={"signals": ["churn_risk"]},
        actions={"set_priority": "urgent", "add_tags": ["Retention Team"], "notify": "managers"},
    )
    ticket, message = analysed_ticket(tenant, CHURN)
    with tenant_context(tenant):
        assert ticket.priority == "urgent"
        assert set(ticket.tags.values_list("name", flat=True)) == {"retention-team"}
        fired = TicketEvent.objects.for_tenant(tenant).filter(ticket=ticket, kind="triage.applied")
        assert [(e.from_value, e.data["rule"]) for e in fired] == [(str(rule.pk), rule.name)]
        assert (
            Notification.objects.for_tenant(tenant).filter(user=manager, kind="triage").count() == 1
        )

    # editing the rule keeps its id: re-analysing the same message does not act again
    triage_rule_update(
        tenant=tenant, actor=admin_user, rule=rule, actions={"add_tags": ["second-pass"]}
    )
    messages_analyse(tenant=tenant, message_ids=[message.pk], force=True)
    messages_analyse(tenant=tenant, message_ids=[message.pk], force=True)
    with tenant_context(tenant):
        assert TicketEvent.objects.for_tenant(tenant).filter(kind="triage.applied").count() == 1
        assert not ticket.tags.filter(name="second-pass").exists()
        assert Notification.objects.for_tenant(tenant).filter(kind="triage").count() == 1

    # a second message on the ticket is a new message: the (edited) rule acts on it once
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).select_related("customer").get(pk=ticket.pk)
        second = services.message_create(
            tenant=tenant, ticket=ticket, body=CHURN, author_customer=ticket.customer
        )
    messages_analyse(tenant=tenant, message_ids=[second.pk])
    with tenant_context(tenant):
        assert TicketEvent.objects.for_tenant(tenant).filter(kind="triage.applied").count() == 2
        assert ticket.tags.filter(name="second-pass").exists()


def test_conditions_with_a_minimum_score_and_an_off_rule(tenant, admin_user):
    make_rule(
        tenant,
        name="Very strong churn",
        conditions={"signals": ["churn_risk"], "min_score": 1.0},
        actions={"add_tags": ["very-strong"]},
    )
    make_rule(tenant, name="Off", actions={"add_tags": ["off"]}, is_active=False)
    make_rule(
        tenant,
        name="Positive",
        conditions={"sentiment": "positive"},
        actions={"add_tags": ["happy"]},
    )
    ticket, _message = analysed_ticket(tenant, "Where do I change my password?")
    with tenant_context(tenant):
        assert not ticket.tags.exists()
        assert not TicketEvent.objects.for_tenant(tenant).filter(kind="triage.applied").exists()


# --- The page -------------------------------------------------------------------------------


def rule_post(**overrides) -> dict:
    data = {
        "name": "Urgent outage",
        "sentiment": "negative",
        "signals": ["urgency"],
        "min_score": "",
        "set_priority": "urgent",
        "add_tags": "Outage, on call",
        "notify": "",
        "is_active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_adds_edits_moves_and_deletes_a_rule_on_the_page(client, tenant, admin_user):
    triage_rules_install_defaults(tenant=tenant)
    client.force_login(admin_user)
    page = client.get(PAGE)
    assert page.status_code == 200 and b"Add a rule" in page.content
    created = client.post(f"{PAGE}rules/new/", rule_post())
    rule = rules_of(tenant)[-1]
    assert created.status_code == 302 and created["Location"].endswith(f"#rule-{rule.pk}")
    assert rule.name == "Urgent outage"
    assert rule.conditions == {"sentiment": "negative", "signals": ["urgency"]}
    assert rule.actions == {"set_priority": "urgent", "add_tags": ["outage", "on-call"]}
    listed = client.get(PAGE).content.decode()
    assert "negative sentiment and urgency: raise the priority to urgent" in listed

    edit = client.get(f"{PAGE}rules/{rule.pk}/")
    assert edit.status_code == 200
    body = edit.content.decode()
    assert "Edit the rule “Urgent outage”" in body and 'value="outage, on-call"' in body
    saved = client.post(
        f"{PAGE}rules/{rule.pk}/",
        rule_post(
            name="Urgent outage!",
            signals=["urgency", "frustration"],
            min_score="0.8",
            notify="admins",
            is_active=None,
        ),
        follow=True,
    )
    assert saved.status_code == 200 and "Rule “Urgent outage!” saved." in saved.content.decode()
    rule = rules_of(tenant)[-1]
    assert rule.conditions == {
        "sentiment": "negative",
        "signals": ["frustration", "urgency"],
        "min_score": 0.8,
    }
    assert rule.actions["notify"] == "admins" and not rule.is_active
    assert "signal score at least 0.8" in saved.content.decode()

    moved = client.post(f"{PAGE}rules/{rule.pk}/move/", {"direction": "up"})
    assert moved.status_code == 302
    assert [r.pk for r in rules_of(tenant)][-2] == rule.pk
    assert client.post(f"{PAGE}rules/{rule.pk}/move/", {"direction": "sideways"}).status_code == 302

    deleted = client.post(f"{PAGE}rules/{rule.pk}/delete/", follow=True)
    assert deleted.status_code == 200 and "deleted" in deleted.content.decode()
    assert len(rules_of(tenant)) == 3
    # the toggle is logged too now
    churn = rules_of(tenant)[1]
    client.post(f"{PAGE}rules/toggle/", {"rule": churn.pk, "active": "0"})
    changes = [e.data.get("change") for e in audit_of(tenant)]
    assert changes == ["created", "updated", "reordered", "deleted", "updated"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sentiment": "", "signals": []}, "A rule needs a condition"),
        ({"set_priority": "", "add_tags": "", "notify": ""}, "A rule needs an action"),
        ({"sentiment": "", "signals": [], "min_score": "0.7"}, "A minimum score needs"),
        ({"min_score": "2"}, "from 0.5 to 1"),
        ({"add_tags": "x" * 60}, "Tags are 1-"),
        ({"name": ""}, "This field is required"),
        ({"signals": ["sadness"]}, "Select a valid choice"),
    ],
)
def test_bad_rules_on_the_page_are_form_errors(client, tenant, admin_user, overrides, message):
    client.force_login(admin_user)
    response = client.post(f"{PAGE}rules/new/", rule_post(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'value="Urgent outage"' in response.content.decode() or "name" in overrides  # kept
    assert rules_of(tenant) == []


def test_a_duplicate_name_on_the_edit_page_is_a_form_error(client, tenant, admin_user):
    make_rule(tenant, name="First")
    second = make_rule(tenant, name="Second")
    client.force_login(admin_user)
    response = client.post(f"{PAGE}rules/{second.pk}/", rule_post(name="first"))
    assert response.status_code == 400
    assert "Another rule has this name." in response.content.decode()
    assert rules_of(tenant)[1].name == "Second"


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.OBSERVER])
def test_other_roles_cannot_author_rules_on_the_page(client, tenant, member_factory, role):
    rule = make_rule(tenant)
    client.force_login(member_factory(tenant, role, f"{role}-rules@acme.test"))
    assert client.post(f"{PAGE}rules/new/", rule_post()).status_code == 403
    assert client.get(f"{PAGE}rules/{rule.pk}/").status_code == 403
    assert client.post(f"{PAGE}rules/{rule.pk}/", rule_post()).status_code == 403
    assert client.post(f"{PAGE}rules/{rule.pk}/move/", {"direction": "up"}).status_code == 403
    assert client.post(f"{PAGE}rules/{rule.pk}/delete/").status_code == 403
    assert [r.name for r in rules_of(tenant)] == ["Churn: escalate"]


def test_another_tenants_rule_is_not_found_on_the_page(client, tenant, other_tenant, admin_user):
    foreign = make_rule(other_tenant, name="Globex secret rule")
    client.force_login(admin_user)
    assert client.get(f"{PAGE}rules/{foreign.pk}/").status_code == 404
    assert client.post(f"{PAGE}rules/{foreign.pk}/", rule_post()).status_code == 404
    assert client.post(f"{PAGE}rules/{foreign.pk}/move/", {"direction": "up"}).status_code == 404
    assert client.post(f"{PAGE}rules/{foreign.pk}/delete/").status_code == 404
    assert b"Globex secret rule" not in client.get(PAGE).content
    assert [r.name for r in rules_of(other_tenant)] == ["Globex secret rule"]


# --- The API --------------------------------------------------------------------------------


def test_crud_and_reorder_through_the_api(api_client_for, tenant, admin_user):
    client = api_client_for(admin_user)
    triage_rules_install_defaults(tenant=tenant)
    created = client.post(
        API,
        {
            "name": "Urgent outage",
            "conditions": {"sentiment": "negative", "signals": ["urgency"], "min_score": 0.75},
            "actions": {"set_priority": "urgent", "add_tags": ["On Call"]},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["conditions"] == {
        "sentiment": "negative",
        "signals": ["urgency"],
        "min_score": 0.75,
    }
    assert body["actions"] == {"set_priority": "urgent", "add_tags": ["on-call"]}
    assert body["is_active"] is True and body["position"] == 40
    listed = client.get(API)
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()][-1] == "Urgent outage"

    url = f"{API}{body['id']}/"
    assert client.get(url).json()["name"] == "Urgent outage"
    patched = client.patch(
        url, {"is_active": False, "actions": {"notify": "admins"}}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["actions"] == {"notify": "admins"} and not patched.json()["is_active"]
    assert client.patch(url, {"position": 5}, format="json").json()["position"] == 5
    assert client.get(API).json()[0]["id"] == body["id"]

    ids = [r["id"] for r in client.get(API).json()]
    reordered = client.post(f"{API}order/", {"order": list(reversed(ids))}, format="json")
    assert reordered.status_code == 200
    assert [r["id"] for r in reordered.json()] == list(reversed(ids))
    assert [r["position"] for r in reordered.json()] == [10, 20, 30, 40]
    bad_order = client.post(f"{API}order/", {"order": ids[:1]}, format="json")
    assert bad_order.status_code == 400 and "every one" in bad_order.json()["message"]

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    changes = [e.data.get("change") for e in audit_of(tenant)]
    assert changes == ["created", "updated", "updated", "reordered", "deleted"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"name": "R", "conditions": {}, "actions": {"add_tags": ["x"]}},
            "conditions",
            "needs a condition",
        ),
        (
            {"name": "R", "conditions": {"signals": ["urgency"]}, "actions": {}},
            "actions",
            "needs an action",
        ),
        (
            {"name": "R", "conditions": {"signals": ["nope"]}, "actions": {"notify": "managers"}},
            "signals",
            "Unknown signal",
        ),
        (
            {"name": "R", "conditions": [], "actions": {"notify": "managers"}},
            "conditions",
            "an object",
        ),
        (
            {"name": "", "conditions": {"signals": ["urgency"]}, "actions": {"notify": "managers"}},
            "name",
            "blank",
        ),
        (
            {
                "name": "R",
                "conditions": {"signals": ["urgency"]},
                "actions": {"set_priority": "top"},
            },
            "set_priority",
            "normal, high",
        ),
    ],
)
def test_bad_rules_through_the_api_are_400_with_messages(
    api_client_for, tenant, admin_user, payload, field, message
):
    client = api_client_for(admin_user)
    response = client.post(API, payload, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors and message in " ".join(errors[field])
    assert response.json()["message"].startswith("Invalid input: ")
    assert rules_of(tenant) == []


def test_a_duplicate_name_through_the_api_is_a_400(api_client_for, tenant, admin_user):
    rule = make_rule(tenant)
    other = make_rule(tenant, name="Other")
    client = api_client_for(admin_user)
    response = client.patch(f"{API}{other.pk}/", {"name": rule.name}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == ["Another rule has this name."]


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.OBSERVER, Role.SPECIALIST])
def test_other_roles_and_api_keys_are_refused_by_the_api(
    api_client_for, client, tenant, admin_user, member_factory, role
):
    rule = make_rule(tenant)
    api = api_client_for(member_factory(tenant, role, f"{role}-api@acme.test"))
    assert api.get(API).status_code == 403
    assert api.post(API, {"name": "x"}, format="json").status_code == 403
    assert api.get(f"{API}{rule.pk}/").status_code == 403
    assert api.patch(f"{API}{rule.pk}/", {"is_active": False}, format="json").status_code == 403
    assert api.delete(f"{API}{rule.pk}/").status_code == 403
    assert api.post(f"{API}order/", {"order": [rule.pk]}, format="json").status_code == 403
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name="k", scopes=["read", "write"])
    assert client.get(API, HTTP_AUTHORIZATION=f"Api-Key {raw}").status_code == 403
    assert rules_of(tenant)[0].is_active


def test_another_tenants_rule_is_not_found_through_the_api(
    api_client_for, tenant, other_tenant, admin_user
):
    foreign = make_rule(other_tenant, name="Globex secret rule")
    own = make_rule(tenant)
    client = api_client_for(admin_user)
    url = f"{API}{foreign.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"is_active": False}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert "Globex" not in client.get(API).content.decode()
    bad = client.post(f"{API}order/", {"order": [own.pk, foreign.pk]}, format="json")
    assert bad.status_code == 400
    assert client.get("/api/v1/t/globex/triage-rules/").status_code == 404
    assert rules_of(other_tenant)[0].is_active
