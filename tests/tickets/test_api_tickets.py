"""Tickets, messages, macros, tags and saved views over the API."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import CustomerFactory, TicketFactory
from tickets import services
from tickets.models import Message, Status, Ticket
from tickets.services.fields import ticket_tags_change
from tickets.services.macros import macro_save

NEW = {
    "subject": "Payment failed",
    "body": "Card declined twice",
    "customer_email": "Pay@Example.com",
}


def count_tickets(tenant) -> int:
    with tenant_context(tenant):
        return Ticket.objects.count()


def test_create_ticket_matches_the_customer_by_email_and_tags_it(api_client_for, agent, tenant):
    existing = CustomerFactory(tenant=tenant, email="pay@example.com")
    response = api_client_for(agent).post(
        "/api/v1/t/acme/tickets/", {**NEW, "tags": ["Billing"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["reference"] == "ACME-1"
    assert body["customer"] == str(existing.public_id)
    assert body["tags"] == ["billing"]
    assert body["status"] == "new" and body["channel"] == "api"


def test_idempotency_key_creates_once_and_replays_the_answer(api_client_for, agent, tenant):
    client = api_client_for(agent)
    first = client.post("/api/v1/t/acme/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    again = client.post("/api/v1/t/acme/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert count_tickets(tenant) == 1
    other_body = client.post(
        "/api/v1/t/acme/tickets/",
        {**NEW, "subject": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc-1",
    )
    assert other_body.status_code == 422
    assert (
        client.post(
            "/api/v1/t/acme/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="abc-2"
        ).status_code
        == 201
    )
    assert count_tickets(tenant) == 2


def test_failed_create_is_not_remembered(api_client_for, agent, tenant):
    client = api_client_for(agent)
    bad = client.post(
        "/api/v1/t/acme/tickets/", {"subject": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert bad.status_code == 400
    good = client.post("/api/v1/t/acme/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == 201


@pytest.mark.postgres_only  # real concurrent writers; the SQLite demo serialises writes
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_ticket(tenant, agent):
    results = []

    def post():
        client = APIClient()
        client.force_login(agent)
        results.append(
            client.post("/api/v1/t/acme/tickets/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="race")
        )
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert count_tickets(tenant) == 1


def test_patch_changes_fields_through_services_all_or_nothing(api_client_for, agent, tenant):
    ticket = TicketFactory(tenant=tenant)
    client = api_client_for(agent)
    url = f"/api/v1/t/acme/tickets/{ticket.public_id}/"
    response = client.patch(
        url,
        {"priority": "high", "assignee": "agent@acme.test", "add_tags": ["vip"], "status": "open"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["priority"], body["assignee"], body["tags"], body["status"]) == (
        "high",
        "agent@acme.test",
        ["vip"],
        "open",
    )
    refused = client.patch(url, {"priority": "low", "status": "new"}, format="json")
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]
    assert client.get(url).json()["priority"] == "high"  # the priority change was rolled back too


def test_patch_refuses_an_assignee_from_another_tenant(api_client_for, agent, tenant, other_agent):
    ticket = TicketFactory(tenant=tenant)
    response = api_client_for(agent).patch(
        f"/api/v1/t/acme/tickets/{ticket.public_id}/",
        {"assignee": "agent@globex.test"},
        format="json",
    )
    assert response.status_code == 400


def test_messages_reply_note_and_reply_and_set_status(api_client_for, agent, tenant):
    ticket = services.ticket_create(
        tenant=tenant, customer=CustomerFactory(tenant=tenant), subject="s", body="first"
    )
    client = api_client_for(agent)
    url = f"/api/v1/t/acme/tickets/{ticket.public_id}/messages/"
    note = client.post(url, {"body": "internal <b>stuff</b>", "internal": True}, format="json")
    assert note.status_code == 201 and note.json()["internal"] is True
    reply = client.post(url, {"body": "Fixed!", "set_status": "solved"}, format="json")
    assert reply.status_code == 201
    listing = client.get(url).json()["results"]
    assert [m["body"] for m in listing] == ["first", "internal <b>stuff</b>", "Fixed!"]
    assert "&lt;b&gt;" in listing[1]["html"]
    assert client.get(f"/api/v1/t/acme/tickets/{ticket.public_id}/").json()["status"] == "solved"


def test_api_key_posts_as_the_customer_and_cannot_post_notes(tenant, admin_user):
    ticket = services.ticket_create(
        tenant=tenant, customer=CustomerFactory(tenant=tenant), subject="s", body="first"
    )
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name="chat", scopes=["write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    url = f"/api/v1/t/acme/tickets/{ticket.public_id}/messages/"
    assert client.post(url, {"body": "me again"}, format="json").json()["author_type"] == "customer"
    assert client.post(url, {"body": "x", "internal": True}, format="json").status_code == 400


def test_apply_macro_and_macro_management_permissions(
    api_client_for, agent, tenant, member_factory
):
    manager = member_factory(tenant, Role.MANAGER, "mgr@acme.test")
    created = api_client_for(manager).post(
        "/api/v1/t/acme/macros/",
        {"name": "Thanks", "body": "Thanks {{customer.first_name}}!", "set_status": "solved"},
        format="json",
    )
    assert created.status_code == 201
    assert (
        api_client_for(agent)
        .post("/api/v1/t/acme/macros/", {"name": "x", "body": "y"}, format="json")
        .status_code
        == 403
    )
    ticket = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant, name="Kim Lee"),
        subject="s",
        body="b",
    )
    applied = api_client_for(agent).post(
        f"/api/v1/t/acme/tickets/{ticket.public_id}/apply-macro/",
        {"macro": created.json()["id"]},
        format="json",
    )
    assert applied.status_code == 200
    assert applied.json()["body"] == "Thanks Kim!"
    with tenant_context(tenant):
        assert Ticket.objects.get(pk=ticket.pk).status == Status.SOLVED


def test_macro_of_another_tenant_cannot_be_applied(
    api_client_for, agent, tenant, other_tenant, other_admin
):
    foreign = macro_save(tenant=other_tenant, actor=other_admin, name="Secret", body="Globex only")
    ticket = TicketFactory(tenant=tenant)
    response = api_client_for(agent).post(
        f"/api/v1/t/acme/tickets/{ticket.public_id}/apply-macro/",
        {"macro": str(foreign.public_id)},
        format="json",
    )
    assert response.status_code == 400
    with tenant_context(tenant):
        assert not Message.objects.filter(body_text="Globex only").exists()


def test_saved_views_personal_and_shared(api_client_for, agent, tenant, member_factory):
    manager = member_factory(tenant, Role.MANAGER, "mgr@acme.test")
    mine = api_client_for(agent).post(
        "/api/v1/t/acme/views/",
        {"name": "My urgent", "filters": {"priority": ["urgent"], "bogus": 1}},
        format="json",
    )
    assert mine.status_code == 201
    assert (
        mine.json()["filters"]["priority"] == ["urgent"] and "bogus" not in mine.json()["filters"]
    )
    assert (
        api_client_for(agent)
        .post(
            "/api/v1/t/acme/views/", {"name": "Team", "filters": {}, "shared": True}, format="json"
        )
        .status_code
        == 400
    )
    assert (
        api_client_for(manager)
        .post(
            "/api/v1/t/acme/views/", {"name": "Team", "filters": {}, "shared": True}, format="json"
        )
        .status_code
        == 201
    )
    assert {
        v["name"] for v in api_client_for(agent).get("/api/v1/t/acme/views/").json()["results"]
    } == {"My urgent", "Team"}
    assert {
        v["name"] for v in api_client_for(manager).get("/api/v1/t/acme/views/").json()["results"]
    } == {"Team"}


def test_ticket_list_filters_and_constant_query_count(api_client_for, agent, tenant):
    for i in range(12):
        ticket = TicketFactory(
            tenant=tenant, priority="urgent" if i % 3 == 0 else "normal", status=Status.OPEN
        )
        ticket_tags_change(tenant=tenant, actor=None, ticket=ticket, add=["a", "b"])
    client = api_client_for(agent)
    assert len(client.get("/api/v1/t/acme/tickets/?priority=urgent").json()["results"]) == 4
    assert client.get("/api/v1/t/acme/tickets/?ordering=number").json()["results"][0]["number"] == 1
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/t/acme/tickets/?page_size=2")
    with CaptureQueriesContext(connection) as large:
        client.get("/api/v1/t/acme/tickets/?page_size=12")
    assert len(small) == len(large)
