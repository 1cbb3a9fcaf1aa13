"""The audit log records security-relevant actions per tenant, for that tenant's admins only."""

from __future__ import annotations

from helpdesk.tenancy.audit import audit_list
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create, api_key_revoke, membership_change_role


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
