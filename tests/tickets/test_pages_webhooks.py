"""Outbound webhooks, admin pages: endpoints, the secret shown once, the delivery log, replay."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import WebhookDelivery, WebhookEndpoint

PAGE = "/t/acme/admin/webhooks/"
LOG = "/t/acme/admin/webhooks/deliveries/"


def endpoint_for(tenant, url="https://hooks.example.com/in", events=("ticket.created",), **kw):
    return services.webhook_endpoint_create(
        tenant=tenant, actor=None, url=url, events=list(events), **kw
    )


def ticket_created(tenant):
    customer = CustomerFactory(tenant=tenant)
    services.ticket_create(tenant=tenant, customer=customer, subject="Help", body="Please")


def endpoints_of(tenant) -> list[WebhookEndpoint]:
    with tenant_context(tenant):
        return list(WebhookEndpoint.objects.order_by("id"))


def deliveries_of(tenant) -> list[WebhookDelivery]:
    with tenant_context(tenant):
        return list(WebhookDelivery.objects.order_by("id"))


def test_admin_sees_the_page_and_the_nav_entry(client, admin_user, tenant):
    endpoint_for(tenant, description="CRM sync")
    client.force_login(admin_user)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "https://hooks.example.com/in" in html and "CRM sync" in html
    assert f'href="{PAGE}"' in html  # the "Webhooks" entry of the admin navigation
    assert "X-Helpdesk-Signature" in html
    assert endpoints_of(tenant)[0].secret not in html


def test_the_nav_entry_is_hidden_from_agents(client, agent):
    client.force_login(agent)
    assert f'href="{PAGE}"' not in client.get("/t/acme/queue/").content.decode()


def test_creating_an_endpoint_shows_its_secret_once(client, admin_user, tenant):
    client.force_login(admin_user)
    response = client.post(
        PAGE,
        {
            "url": "https://crm.example.com/hooks",
            "events": ["ticket.created", "message.created"],
            "description": "CRM",
        },
    )
    assert response.status_code == 200
    (endpoint,) = endpoints_of(tenant)
    assert endpoint.events == ["ticket.created", "message.created"]
    assert endpoint.created_by == admin_user
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get(PAGE).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "ftp://x.example.com/", "events": ["ticket.created"]}, "http:// or https://"),
        ({"url": "https://x.example.com/"}, "This field is required"),
        ({"url": "https://x.example.com/", "events": ["ticket.deleted"]}, "Select a valid choice"),
    ],
)
def test_invalid_input_shows_form_errors(client, admin_user, tenant, data, message):
    client.force_login(admin_user)
    response = client.post(PAGE, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert endpoints_of(tenant) == []


@override_settings(IS_PRODUCTION=True)
def test_in_production_local_addresses_are_refused_with_a_form_error(client, admin_user, tenant):
    client.force_login(admin_user)
    response = client.post(PAGE, {"url": "https://127.0.0.1/hook", "events": ["ticket.created"]})
    assert response.status_code == 400
    assert "public internet address" in response.content.decode()
    assert endpoints_of(tenant) == []


def test_toggle_disables_and_enables_an_endpoint(client, admin_user, tenant):
    endpoint = endpoint_for(tenant)
    client.force_login(admin_user)
    url = f"{PAGE}{endpoint.public_id}/toggle/"
    assert client.post(url)["Location"] == PAGE
    assert endpoints_of(tenant)[0].is_active is False
    assert "are disabled" in client.get(PAGE).content.decode()  # the confirmation message
    client.post(url)
    assert endpoints_of(tenant)[0].is_active is True
    assert client.get(url).status_code == 405


def test_delete_removes_the_endpoint_and_its_log(client, admin_user, tenant):
    endpoint = endpoint_for(tenant)
    ticket_created(tenant)
    client.force_login(admin_user)
    response = client.post(f"{PAGE}{endpoint.public_id}/delete/", follow=True)
    assert response.status_code == 200
    assert "were deleted" in response.content.decode()
    assert endpoints_of(tenant) == [] and deliveries_of(tenant) == []


def test_the_delivery_log_shows_attempts_status_and_errors(client, admin_user, tenant):
    endpoint = endpoint_for(tenant, description="Primary")
    quiet = endpoint_for(tenant, url="https://quiet.example.com/", events=["survey.answered"])
    ticket_created(tenant)
    (delivery,) = deliveries_of(tenant)
    with tenant_context(tenant):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.FAILED,
            attempts=6,
            last_status_code=503,
            last_error="HTTP 503: upstream unavailable",
        )
    client.force_login(admin_user)
    for url in (LOG, f"{LOG}?endpoint={endpoint.public_id}"):
        html = client.get(url).content.decode()
        assert "ticket.created" in html and str(delivery.public_id) in html
        assert "HTTP 503" in html and "upstream unavailable" in html and "Failed" in html
        assert f"/admin/webhooks/deliveries/{delivery.public_id}/replay/" in html
        assert "csrfmiddlewaretoken" in html
    quiet_log = client.get(f"{LOG}?endpoint={quiet.public_id}")
    assert quiet_log.status_code == 200
    assert str(delivery.public_id) not in quiet_log.content.decode()


def test_replay_queues_a_new_delivery_and_returns_to_the_log(client, admin_user, tenant):
    endpoint = endpoint_for(tenant)
    ticket_created(tenant)
    (delivery,) = deliveries_of(tenant)
    client.force_login(admin_user)
    response = client.post(f"{LOG}{delivery.public_id}/replay/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOG}?endpoint={endpoint.public_id}"
    original, replay = deliveries_of(tenant)
    assert replay.payload["data"] == original.payload["data"]
    assert replay.public_id != original.public_id
    assert "queued again" in client.get(response["Location"]).content.decode()


def test_replay_of_a_disabled_endpoints_delivery_is_refused_with_a_message(
    client, admin_user, tenant
):
    endpoint = endpoint_for(tenant)
    ticket_created(tenant)
    (delivery,) = deliveries_of(tenant)
    services.webhook_endpoint_update(tenant=tenant, actor=None, endpoint=endpoint, is_active=False)
    client.force_login(admin_user)
    response = client.post(f"{LOG}{delivery.public_id}/replay/", follow=True)
    assert "Enable it before replaying" in response.content.decode()
    assert len(deliveries_of(tenant)) == 1


def test_replay_needs_the_csrf_token(admin_user, tenant):
    endpoint_for(tenant)
    ticket_created(tenant)
    (delivery,) = deliveries_of(tenant)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(f"{LOG}{delivery.public_id}/replay/").status_code == 403
    assert len(deliveries_of(tenant)) == 1


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.OBSERVER])
def test_other_roles_get_403_everywhere(client, member_factory, tenant, role):
    endpoint = endpoint_for(tenant)
    ticket_created(tenant)
    (delivery,) = deliveries_of(tenant)
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    assert client.get(PAGE).status_code == 403
    assert (
        client.post(
            PAGE, {"url": "https://x.example.com", "events": ["ticket.created"]}
        ).status_code
        == 403
    )
    assert client.get(LOG).status_code == 403
    assert client.post(f"{PAGE}{endpoint.public_id}/toggle/").status_code == 403
    assert client.post(f"{PAGE}{endpoint.public_id}/delete/").status_code == 403
    assert client.post(f"{LOG}{delivery.public_id}/replay/").status_code == 403
    assert len(endpoints_of(tenant)) == 1 and endpoints_of(tenant)[0].is_active
    assert len(deliveries_of(tenant)) == 1


def test_another_tenants_endpoints_and_deliveries_are_404(client, admin_user, tenant, other_tenant):
    foreign = endpoint_for(other_tenant, description="GLOBEX-ONLY")
    ticket_created(other_tenant)
    (foreign_delivery,) = deliveries_of(other_tenant)
    client.force_login(admin_user)
    assert client.get(f"{LOG}?endpoint={foreign.public_id}").status_code == 404
    assert client.get(f"{LOG}?endpoint=not-a-uuid").status_code == 404
    assert client.post(f"{PAGE}{foreign.public_id}/toggle/").status_code == 404
    assert client.post(f"{PAGE}{foreign.public_id}/delete/").status_code == 404
    assert client.post(f"{LOG}{foreign_delivery.public_id}/replay/").status_code == 404
    for page in (PAGE, LOG):
        html = client.get(page).content.decode()
        assert "GLOBEX-ONLY" not in html and str(foreign_delivery.public_id) not in html
    assert client.get("/t/globex/admin/webhooks/").status_code == 404
    assert endpoints_of(other_tenant)[0].is_active
    assert len(deliveries_of(other_tenant)) == 1
