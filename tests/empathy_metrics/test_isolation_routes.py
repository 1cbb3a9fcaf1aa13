"""The metrics routes under the cross-tenant probe and the role matrix (the same harness as
tests/isolation and tests/helpdesk/test_pages_permissions.py, restricted to this app's routes so
that it runs on its own)."""

from __future__ import annotations

import pytest
from django.urls import resolve

from helpdesk.tenancy.policy import Role, role_has_perm
from tests.factories.tickets import CustomerFactory, TicketFactory
from tests.isolation.probe import discover_tenant_routes, fill, probe, snapshot_of_tenant

SENTINEL = "SENTINEL-OF-GLOBEX"
OURS = ("/dashboards/", "/me/metrics/", "/admin/surveys/", "/metrics/")


def metrics_routes():
    return [r for r in discover_tenant_routes() if any(part in r.pattern for part in OURS)]


def test_the_probe_discovers_every_metrics_route():
    patterns = {r.pattern for r in metrics_routes()}
    assert "/t/<slug:tenant_slug>/dashboards/" in patterns
    assert "/t/<slug:tenant_slug>/dashboards/export.csv" in patterns
    assert "/api/v1/t/<slug:tenant_slug>/metrics/" in patterns
    assert len(patterns) == 10
    # none takes an object id in its path: nothing new for the probe's foreign_world
    assert all(r.params == ("tenant_slug",) for r in metrics_routes())


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.OBSERVER, Role.AGENT])
def test_no_metrics_route_serves_or_changes_another_tenants_data(
    client, tenant, other_tenant, other_admin, member_factory, role
):
    customer = CustomerFactory(tenant=other_tenant, name=SENTINEL)
    TicketFactory(tenant=other_tenant, customer=customer, subject=SENTINEL)
    client.force_login(member_factory(tenant, role, f"{role}-probe@acme.test"))
    before = snapshot_of_tenant(other_tenant)
    leaks = probe(
        client,
        own_slug=tenant.slug,
        foreign_slug=other_tenant.slug,
        foreign_ids={},
        sentinel=SENTINEL,
        routes=metrics_routes(),
    )
    assert leaks == []
    assert snapshot_of_tenant(other_tenant) == before


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix_for_the_metrics_pages(client, tenant, member_factory, role):
    client.force_login(member_factory(tenant, role, f"{role}-matrix@acme.test"))
    for route in metrics_routes():
        if route.pattern.startswith("/api/"):
            continue
        url = fill(route, {"tenant_slug": "acme"})
        perm = resolve(url).func.required_perm
        response = client.get(url)
        if role_has_perm(role, perm):
            assert response.status_code in {200, 302, 405}, (url, response.status_code)
        else:
            assert response.status_code == 403, (url, response.status_code)


def test_anonymous_visitors_are_sent_to_login(client, tenant):
    for route in metrics_routes():
        url = fill(route, {"tenant_slug": "acme"})
        response = client.get(url)
        if route.pattern.startswith("/api/"):
            assert response.status_code in (401, 403), url
        elif response.status_code != 405:
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/?next=")
