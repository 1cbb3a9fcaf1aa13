"""Tenant export and deletion: everything of one tenant, nothing of another."""

from __future__ import annotations

import json

from django.core.management import call_command

from helpdesk.tenancy.context import system_context
from helpdesk.tenancy.lifecycle import tenant_export, tenant_owned_models
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import CustomerFactory
from tickets import services


def populate(tenant, admin):
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject="Hello", body="World")
    services.message_create(tenant=tenant, ticket=ticket, body="Reply", author_user=admin)
    api_key_create(tenant=tenant, actor=admin, name="k", scopes=["read"])


def row_counts(tenant) -> dict[str, int]:
    with system_context(reason="test counts"):
        return {
            m._meta.label: m._base_manager.filter(tenant_id=tenant.pk).count()
            for m in tenant_owned_models()
        }


def test_export_writes_every_model_without_secrets(tmp_path, tenant, admin_user):
    populate(tenant, admin_user)
    counts = tenant_export(tenant=tenant, directory=tmp_path, actor=admin_user)
    assert counts["tickets.Ticket"] == 1 and counts["tickets.Message"] == 2
    tickets = json.loads((tmp_path / "tickets.Ticket.json").read_text())
    assert tickets[0]["subject"] == "Hello"
    keys = json.loads((tmp_path / "tenancy.ApiKey.json").read_text())
    assert "secret_hash" not in keys[0]
    assert {p.name for p in tmp_path.iterdir()} >= {f"{label}.json" for label in counts}


def test_delete_removes_everything_of_the_tenant_and_nothing_else(
    tenant, other_tenant, admin_user, other_admin
):
    populate(tenant, admin_user)
    populate(other_tenant, other_admin)
    before_other = row_counts(other_tenant)
    call_command("tenant_delete", "acme", "--yes-delete-everything")
    assert not Tenant.objects.filter(slug="acme").exists()
    assert not Membership.objects.filter(tenant_id=tenant.pk).exists()
    assert all(count == 0 for count in row_counts(tenant).values())
    assert row_counts(other_tenant) == before_other
    assert Membership.objects.filter(tenant=other_tenant).exists()
