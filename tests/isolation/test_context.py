"""Context discipline: tenant-owned data is reachable only inside a scope, and only its own."""

from __future__ import annotations

import logging

import pytest

from helpdesk.tenancy.context import TenantContextError, system_context, tenant_context
from tests.factories.tickets import CustomerFactory, TicketFactory
from tickets.models import Customer, Ticket


def test_query_without_context_raises(tenant):
    CustomerFactory(tenant=tenant)
    with pytest.raises(TenantContextError, match="no tenant scope"):
        list(Customer.objects.all())
    with pytest.raises(TenantContextError):
        Customer.objects.count()
    with pytest.raises(TenantContextError):
        Customer.objects.for_tenant(tenant).first()


def test_related_manager_without_context_raises(tenant):
    ticket = TicketFactory(tenant=tenant)
    with pytest.raises(TenantContextError):
        list(ticket.messages.all())


def test_scope_shows_only_its_own_tenant_rows(tenant, other_tenant):
    mine = CustomerFactory(tenant=tenant, name="Mine")
    CustomerFactory(tenant=other_tenant, name="Theirs")
    with tenant_context(tenant):
        assert list(Customer.objects.all()) == [mine]
        assert list(Customer.objects.filter(name="Theirs")) == []
        assert Customer.objects.for_tenant(tenant).count() == 1


def test_for_tenant_of_another_tenant_inside_a_scope_raises(tenant, other_tenant):
    with tenant_context(tenant), pytest.raises(TenantContextError):
        Customer.objects.for_tenant(other_tenant)


def test_switching_tenant_inside_a_scope_raises(tenant, other_tenant):
    with tenant_context(tenant), pytest.raises(TenantContextError):
        with tenant_context(other_tenant):
            pass


def test_none_is_never_a_tenant(db):
    with pytest.raises(TypeError), tenant_context(None):
        pass


def test_saving_outside_a_scope_or_into_another_tenant_raises(tenant, other_tenant):
    with pytest.raises(TenantContextError):
        Customer(tenant=tenant, name="x").save()
    with tenant_context(tenant), pytest.raises(TenantContextError):
        Customer(tenant=other_tenant, name="x").save()


def test_creating_through_the_manager_outside_a_scope_or_into_another_tenant_raises(
    tenant, other_tenant
):
    with pytest.raises(TenantContextError, match="no tenant scope"):
        Customer.objects.create(tenant=tenant, name="x")
    with tenant_context(tenant), pytest.raises(TenantContextError):
        Customer.objects.create(tenant=other_tenant, name="x")
    with tenant_context(tenant):
        mine = Customer.objects.create(tenant=tenant, name="Mine")
        assert list(Customer.objects.all()) == [mine]
    with system_context(reason="test"):
        assert Customer.objects.create(tenant=other_tenant, name="Theirs").tenant_id == (
            other_tenant.pk
        )


def test_system_context_needs_a_reason_is_logged_and_sees_every_tenant(
    tenant, other_tenant, caplog
):
    CustomerFactory(tenant=tenant)
    CustomerFactory(tenant=other_tenant)
    with pytest.raises(ValueError), system_context(reason=" "):
        pass
    with caplog.at_level(logging.INFO, logger="helpdesk.tenancy.system"):
        with system_context(reason="nightly fan-out"):
            assert Customer.objects.count() == 2
            with tenant_context(tenant):  # fan-out enters one tenant at a time
                assert Customer.objects.count() == 1
    assert "nightly fan-out" in caplog.text


def test_scope_ends_with_the_block(tenant):
    TicketFactory(tenant=tenant)
    with tenant_context(tenant):
        assert Ticket.objects.count() == 1
    with pytest.raises(TenantContextError):
        Ticket.objects.count()


def test_for_tenant_filters_whenever_the_queryset_did_not_come_straight_from_the_manager(
    tenant, other_tenant
):
    CustomerFactory(tenant=tenant, name="Ours")
    CustomerFactory(tenant=other_tenant, name="Theirs")
    with system_context(reason="test: a queryset built before any tenant scope"):
        everyone = Customer.objects.all()
        assert everyone.count() == 2
    with tenant_context(tenant):
        # Built in the system scope (no tenant filter), narrowed in the tenant's: filtered.
        assert [c.name for c in everyone.for_tenant(tenant)] == ["Ours"]
        # Straight from the manager (already filtered by the scope), then filtered again.
        assert [c.name for c in Customer.objects.for_tenant(tenant).filter(name__gt="")] == ["Ours"]


def test_a_nested_block_without_savepoint_still_undoes_everything_when_it_raises(tenant):
    class Refused(Exception):
        pass

    with pytest.raises(Refused), tenant_context(tenant):
        CustomerFactory(tenant=tenant, name="Outer")
        with tenant_context(tenant, savepoint=False):
            CustomerFactory(tenant=tenant, name="Inner")
            raise Refused
    with tenant_context(tenant):
        assert not Customer.objects.filter(name__in=["Outer", "Inner"]).exists()
