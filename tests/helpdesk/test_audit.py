"""The audit log records security-relevant actions per tenant, for that tenant's admins only."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token

from empathy_metrics.exports import TABLES
from helpdesk.accounts.tokens import bearer_token_revoke, bearer_token_rotate
from helpdesk.tenancy.audit import audit_list
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create, api_key_revoke, membership_change_role
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.services.email_in import inbound_secret_rotate
from tickets.services.status import status_link_rotate
from tickets.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)


def actions(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(audit_list(tenant=tenant).values_list("action", flat=True))


def test_sign_in_and_failed_sign_in_are_logged_in_each_tenant_of_the_person(
    client, agent, tenant, other_tenant
):
    Membership.objects.create(tenant=other_tenant, user=agent, role=Role.AGENT)
    assert not client.login(username="agent@acme.test", password="wrong")
    assert client.login(username="agent@acme.test", password="pass-1234")
    assert actions(tenant)[:2] == ["login", "login_failed"]
    assert actions(other_tenant)[:2] == ["login", "login_failed"]


def test_role_changes_and_keys_are_logged(tenant, admin_user, agent):
    membership = Membership.objects.get(tenant=tenant, user=agent)
    membership_change_role(
        tenant=tenant, actor=admin_user, membership=membership, role=Role.SPECIALIST
    )
    key, _ = api_key_create(tenant=tenant, actor=admin_user, name="CRM", scopes=["read"])
    api_key_revoke(tenant=tenant, actor=admin_user, key=key)
    assert actions(tenant)[:3] == ["api_key_revoked", "api_key_created", "member_role_changed"]
    with tenant_context(tenant):
        change = audit_list(tenant=tenant).get(action="member_role_changed")
    assert (change.data, change.target, change.actor_label) == (
        {"from": "agent", "to": "specialist"},
        "agent@acme.test",
        "admin@acme.test",
    )


def test_audit_page_is_for_admins_and_shows_only_this_tenants_entries(
    client, admin_user, agent, tenant, other_admin, other_tenant
):
    api_key_create(
        tenant=other_tenant, actor=other_admin, name="GLOBEX-SECRET-KEY", scopes=["read"]
    )
    api_key_create(tenant=tenant, actor=admin_user, name="Acme CRM", scopes=["read"])
    client.force_login(admin_user)
    page = client.get("/t/acme/admin/audit/").content.decode()
    assert "Acme CRM" in page and "GLOBEX-SECRET-KEY" not in page
    client.force_login(agent)
    assert client.get("/t/acme/admin/audit/").status_code == 403


# --- Exports and rotations ---------------------------------------------------------------


def entries(tenant, action):
    with tenant_context(tenant):
        return list(audit_list(tenant=tenant).filter(action=action))


@pytest.mark.parametrize(
    "query, table",
    [("", "cards"), ("table=tickets", "tickets"), ("table=drill&metric=tickets", "drill")]
    + [(f"table={t}", t) for t in TABLES],
)
def test_every_dashboard_csv_export_is_logged(client, admin_user, tenant, query, table):
    client.force_login(admin_user)
    response = client.get(f"/t/acme/dashboards/export.csv?period=30d&{query}")
    assert response.status_code == 200, response.content[:300]
    (entry,) = entries(tenant, "export")
    assert entry.actor == admin_user and entry.data["table"] == table
    assert entry.target == f"dashboard {table}"


def test_a_refused_export_is_not_logged(client, admin_user, tenant):
    client.force_login(admin_user)
    assert client.get("/t/acme/dashboards/export.csv?period=nonsense").status_code == 400
    assert entries(tenant, "export") == []


@pytest.mark.parametrize("table", ["comments", "cards"])
def test_the_agents_own_export_is_logged(client, agent, tenant, table):
    client.force_login(agent)
    response = client.get(f"/t/acme/me/metrics/export.csv?table={table}")
    assert response.status_code == 200
    (entry,) = entries(tenant, "export")
    assert entry.actor == agent and entry.data["table"] == f"agent-{table}"


def test_status_link_rotation_is_logged(tenant, agent):
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject="S", body="B")
    status_link_rotate(tenant=tenant, actor=agent, ticket=ticket)
    (entry,) = entries(tenant, "status_link_rotated")
    assert (entry.actor, entry.target) == (agent, ticket.reference)


def test_inbound_email_secret_rotation_is_logged_without_the_secret(tenant, admin_user):
    secret = inbound_secret_rotate(tenant=tenant, actor=admin_user)
    (entry,) = entries(tenant, "inbound_secret_rotated")
    assert entry.actor == admin_user
    assert secret not in json.dumps(entry.data) + entry.target


def test_webhook_endpoint_create_update_delete_are_logged_without_the_secret(
    tenant, other_tenant, admin_user
):
    endpoint = webhook_endpoint_create(
        tenant=tenant,
        actor=admin_user,
        url="https://hooks.acme.example/in",
        events=["ticket.created"],
    )
    webhook_endpoint_update(tenant=tenant, actor=admin_user, endpoint=endpoint, is_active=False)
    webhook_endpoint_delete(tenant=tenant, actor=admin_user, endpoint=endpoint)
    changes = [e.data["change"] for e in entries(tenant, "webhook_changed")]
    assert changes == ["deleted", "updated", "created"]
    for entry in entries(tenant, "webhook_changed"):
        assert entry.actor == admin_user and entry.data["endpoint"] == str(endpoint.public_id)
        assert endpoint.secret not in json.dumps(entry.data)
    assert entries(other_tenant, "webhook_changed") == []


def test_bearer_token_rotation_replaces_the_token_and_is_logged_in_each_tenant(
    tenant, other_tenant, agent
):
    Membership.objects.create(tenant=other_tenant, user=agent, role=Role.AGENT)
    first = bearer_token_rotate(user=agent)
    second = bearer_token_rotate(user=agent)
    assert first != second
    assert list(Token.objects.filter(user=agent).values_list("key", flat=True)) == [second]
    for each in (tenant, other_tenant):
        logged = entries(each, "bearer_token_rotated")
        assert [e.data["replaced"] for e in logged] == [True, False]
        assert all(
            first not in json.dumps(e.data) and second not in json.dumps(e.data) for e in logged
        )
    assert bearer_token_revoke(user=agent) is True
    assert not Token.objects.filter(user=agent).exists()
    assert len(entries(tenant, "bearer_token_rotated")) == 3


def test_the_old_bearer_token_stops_working_after_rotation(agent, tenant):
    from rest_framework.test import APIClient

    old = bearer_token_rotate(user=agent)
    new = bearer_token_rotate(user=agent)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {old}")
    assert api.get("/api/v1/t/acme/tickets/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {new}")
    assert api.get("/api/v1/t/acme/tickets/").status_code == 200
