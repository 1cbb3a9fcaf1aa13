"""Outbound webhooks over the API: endpoints, delivery log, replay; permissions and isolation."""

from __future__ import annotations

import re
import socket

import pytest
from celery.signals import task_prerun
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import WebhookDelivery, WebhookEndpoint

BASE = "/api/v1/t/acme"


def endpoint_for(tenant, events=("ticket.created", "message.created"), **kw):
    return services.webhook_endpoint_create(
        tenant=tenant,
        actor=None,
        url=kw.pop("url", "https://hooks.example.com/in"),
        events=list(events),
        **kw,
    )


def tickets_created(tenant, count=1):
    for i in range(count):
        customer = CustomerFactory(tenant=tenant)
        services.ticket_create(tenant=tenant, customer=customer, subject=f"T{i}", body="Hello")


def deliveries_of(tenant, endpoint=None) -> list[WebhookDelivery]:
    with tenant_context(tenant):
        queryset = WebhookDelivery.objects.order_by("id")
        if endpoint is not None:
            queryset = queryset.filter(endpoint=endpoint)
        return list(queryset)


def test_admin_registers_an_endpoint_and_gets_its_secret_once(api_client_for, admin_user):
    client = api_client_for(admin_user)
    response = client.post(
        f"{BASE}/webhooks/",
        {
            "url": "https://crm.example.com/hooks",
            "events": ["message.created", "ticket.created"],
            "description": "CRM",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{64}", body.pop("secret"))
    assert body.pop("id") and body.pop("created_at")
    assert body == {
        "url": "https://crm.example.com/hooks",
        "events": ["ticket.created", "message.created"],
        "is_active": True,
        "description": "CRM",
    }

    listed = client.get(f"{BASE}/webhooks/")
    assert listed.status_code == 200
    (item,) = listed.json()["results"]
    assert "secret" not in item
    assert item["url"] == "https://crm.example.com/hooks"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "ftp://x.example.com/", "events": ["ticket.created"]}, "url"),
        ({"url": "not a url", "events": ["ticket.created"]}, "url"),
        ({"url": "https://x.example.com/", "events": ["ticket.deleted"]}, "events"),
        ({"url": "https://x.example.com/", "events": []}, "events"),
        ({"url": "https://x.example.com/"}, "events"),
    ],
)
def test_invalid_endpoints_are_refused_with_field_errors(
    api_client_for, admin_user, tenant, data, field
):
    response = api_client_for(admin_user).post(f"{BASE}/webhooks/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    with tenant_context(tenant):
        assert not WebhookEndpoint.objects.exists()


def test_endpoint_detail_can_be_read_changed_and_deleted(api_client_for, admin_user, tenant):
    endpoint = endpoint_for(tenant)
    tickets_created(tenant)
    client = api_client_for(admin_user)
    url = f"{BASE}/webhooks/{endpoint.public_id}/"
    assert client.get(url).json()["id"] == str(endpoint.public_id)

    changed = client.patch(url, {"is_active": False, "events": ["ticket.updated"]}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["is_active"], changed.json()["events"]) == (False, ["ticket.updated"])
    assert client.patch(url, {"url": "gopher://x"}, format="json").status_code == 400

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert deliveries_of(tenant) == []


def test_the_delivery_log_lists_one_endpoints_deliveries(api_client_for, admin_user, tenant):
    endpoint = endpoint_for(tenant)
    other = endpoint_for(tenant, events=["ticket.created"])
    tickets_created(tenant)
    response = api_client_for(admin_user).get(f"{BASE}/webhooks/{endpoint.public_id}/deliveries/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["event"] for r in results] == ["message.created", "ticket.created"]
    mine = {str(d.public_id) for d in deliveries_of(tenant, endpoint)}
    assert {r["id"] for r in results} == mine
    assert all(r["endpoint"] == str(endpoint.public_id) for r in results)
    first = results[-1]
    assert first["state"] == "pending" and first["attempts"] == 0
    assert first["payload"]["id"] == first["id"]
    assert first["payload"]["data"]["ticket"]["subject"] == "T0"
    assert {str(d.public_id) for d in deliveries_of(tenant, other)}.isdisjoint(mine)


def closed_local_url() -> str:
    """A local port nobody listens on: an in-process attempt fails at once, offline."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


def test_replay_creates_and_queues_a_new_delivery(
    api_client_for, admin_user, tenant, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(tenant, events=["ticket.created"], url=closed_local_url())
    tickets_created(tenant)
    (original,) = deliveries_of(tenant)
    ran = []

    def capture(sender=None, args=None, **kwargs):
        ran.append((sender.name, tuple(args or ())))

    task_prerun.connect(capture)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client_for(admin_user).post(
                f"{BASE}/webhook-deliveries/{original.public_id}/replay/"
            )
    finally:
        task_prerun.disconnect(capture)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != str(original.public_id)
    assert (body["event"], body["state"], body["endpoint"]) == (
        "ticket.created",
        "pending",
        str(endpoint.public_id),
    )
    assert body["payload"]["id"] == body["id"]
    assert body["payload"]["data"] == original.payload["data"]
    _original, replay = deliveries_of(tenant)
    assert str(replay.public_id) == body["id"]
    assert ran == [("tickets.webhook_deliver", (tenant.pk, replay.pk))]
    assert replay.attempts == 1  # the enqueued task ran (in-process) after the commit


def test_replay_to_a_disabled_endpoint_is_a_400(api_client_for, admin_user, tenant):
    endpoint = endpoint_for(tenant, events=["ticket.created"])
    tickets_created(tenant)
    (original,) = deliveries_of(tenant)
    services.webhook_endpoint_update(tenant=tenant, actor=None, endpoint=endpoint, is_active=False)
    response = api_client_for(admin_user).post(
        f"{BASE}/webhook-deliveries/{original.public_id}/replay/"
    )
    assert response.status_code == 400
    assert "disabled" in response.json()["message"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.OBSERVER, Role.SPECIALIST])
def test_only_admins_manage_webhooks(api_client_for, member_factory, tenant, role):
    endpoint = endpoint_for(tenant)
    tickets_created(tenant)
    delivery = deliveries_of(tenant)[0]
    client = api_client_for(member_factory(tenant, role, f"{role}@acme.test"))
    calls = [
        ("get", f"{BASE}/webhooks/"),
        ("post", f"{BASE}/webhooks/"),
        ("get", f"{BASE}/webhooks/{endpoint.public_id}/"),
        ("patch", f"{BASE}/webhooks/{endpoint.public_id}/"),
        ("delete", f"{BASE}/webhooks/{endpoint.public_id}/"),
        ("get", f"{BASE}/webhooks/{endpoint.public_id}/deliveries/"),
        ("post", f"{BASE}/webhook-deliveries/{delivery.public_id}/replay/"),
    ]
    for method, url in calls:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)
    assert len(deliveries_of(tenant)) == 2
    with tenant_context(tenant):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active


def test_api_keys_cannot_manage_webhooks(tenant, admin_user):
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name="k", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get(f"{BASE}/webhooks/").status_code == 403


def test_another_tenants_endpoints_and_deliveries_are_404(
    api_client_for, admin_user, tenant, other_tenant
):
    foreign = endpoint_for(other_tenant)
    tickets_created(other_tenant)
    foreign_delivery = deliveries_of(other_tenant)[0]
    client = api_client_for(admin_user)
    for method, url in [
        ("get", f"{BASE}/webhooks/{foreign.public_id}/"),
        ("patch", f"{BASE}/webhooks/{foreign.public_id}/"),
        ("delete", f"{BASE}/webhooks/{foreign.public_id}/"),
        ("get", f"{BASE}/webhooks/{foreign.public_id}/deliveries/"),
        ("post", f"{BASE}/webhook-deliveries/{foreign_delivery.public_id}/replay/"),
        ("post", f"{BASE}/webhook-deliveries/{foreign.public_id}/replay/"),
    ]:
        response = getattr(client, method)(url, {"is_active": False}, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json() == {"message": "Not found."}
    assert client.get(f"{BASE}/webhooks/").json()["results"] == []
    assert client.get("/api/v1/t/globex/webhooks/").status_code == 404
    assert len(deliveries_of(other_tenant)) == 2
    with tenant_context(other_tenant):
        assert WebhookEndpoint.objects.get(pk=foreign.pk).is_active


def test_list_endpoints_use_a_constant_number_of_queries(api_client_for, admin_user, tenant):
    client = api_client_for(admin_user)
    first = endpoint_for(tenant)
    tickets_created(tenant)
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"{BASE}/webhooks/").status_code == 200
    with CaptureQueriesContext(connection) as small_log:
        assert client.get(f"{BASE}/webhooks/{first.public_id}/deliveries/").status_code == 200
    for _ in range(4):
        endpoint_for(tenant)
    tickets_created(tenant, count=5)
    with CaptureQueriesContext(connection) as large:
        response = client.get(f"{BASE}/webhooks/")
    assert len(response.json()["results"]) == 5
    with CaptureQueriesContext(connection) as large_log:
        response = client.get(f"{BASE}/webhooks/{first.public_id}/deliveries/")
    assert len(response.json()["results"]) == 12
    assert len(large) == len(small)
    assert len(large_log) == len(small_log)
