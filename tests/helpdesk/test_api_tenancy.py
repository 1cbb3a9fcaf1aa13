"""API: authentication (session, bearer token, API key), permissions, errors, schema."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create, api_key_revoke
from tests.factories.tickets import TicketFactory


def test_me_describes_the_member(api_client_for, agent, tenant):
    response = api_client_for(agent).get("/api/v1/t/acme/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == "acme"
    assert body["role"] == Role.AGENT
    assert "tickets.work" in body["permissions"]
    assert "settings.manage" not in body["permissions"]


def test_anonymous_gets_401_json(db, tenant):
    response = api_client_for_anonymous().get("/api/v1/t/acme/me/")
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication credentials were not provided."}


def api_client_for_anonymous():
    from rest_framework.test import APIClient

    return APIClient()


def test_member_of_a_gets_the_same_404_under_b_as_for_an_unknown_tenant(
    api_client_for, agent, other_tenant
):
    client = api_client_for(agent)
    foreign = client.get("/api/v1/t/globex/me/")
    unknown = client.get("/api/v1/t/no-such-tenant/me/")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json() == {"message": "Not found."}


def test_personal_bearer_token_works_only_where_the_person_is_a_member(agent, other_tenant, db):
    from rest_framework.test import APIClient

    token = Token.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    assert client.get("/api/v1/t/acme/me/").status_code == 200
    assert client.get("/api/v1/t/globex/me/").status_code == 404
    client.credentials(HTTP_AUTHORIZATION="Bearer wrong")
    assert client.get("/api/v1/t/acme/me/").status_code == 401


def test_api_key_is_scoped_to_its_tenant_and_scopes(tenant, other_tenant, admin_user):
    from rest_framework.test import APIClient

    TicketFactory(tenant=tenant, subject="Printer on fire")
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name="CRM", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    listing = client.get("/api/v1/t/acme/tickets/")
    assert listing.status_code == 200
    assert listing.json()["results"][0]["subject"] == "Printer on fire"
    # read scope cannot write
    created = client.post(
        "/api/v1/t/acme/tickets/", {"subject": "x", "body": "y", "customer_email": "a@b.c"}
    )
    assert created.status_code == 403
    # the key means nothing under another tenant
    assert client.get("/api/v1/t/globex/tickets/").status_code == 401


def test_revoked_api_key_is_refused(tenant, admin_user):
    from rest_framework.test import APIClient

    key, raw = api_key_create(tenant=tenant, actor=admin_user, name="Old", scopes=["read"])
    api_key_revoke(tenant=tenant, actor=admin_user, key=key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.get("/api/v1/t/acme/tickets/")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid or revoked API key."


def test_api_key_is_stored_hashed(tenant, admin_user):
    from helpdesk.tenancy.context import tenant_context

    key, raw = api_key_create(tenant=tenant, actor=admin_user, name="CRM", scopes=["read"])
    secret = raw.split("_", 2)[2]
    with tenant_context(tenant):
        key.refresh_from_db()
    assert secret not in key.secret_hash
    assert len(key.secret_hash) == 64


def test_validation_errors_are_json_with_a_message_and_field_errors(api_client_for, agent):
    response = api_client_for(agent).post("/api/v1/t/acme/tickets/", {"subject": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("Invalid input")
    assert "subject" in body["errors"]
    assert "body" in body["errors"]


def test_observer_can_read_but_not_write(api_client_for, member_factory, tenant):
    observer = member_factory(tenant, Role.OBSERVER, "observer@acme.test")
    client = api_client_for(observer)
    assert client.get("/api/v1/t/acme/tickets/").status_code == 200
    response = client.post(
        "/api/v1/t/acme/tickets/",
        {"subject": "s", "body": "b", "customer_email": "c@d.e"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {"message": "Your role does not allow this."}


def test_public_ids_are_not_sequential(api_client_for, agent, tenant):
    TicketFactory(tenant=tenant)
    TicketFactory(tenant=tenant)
    results = api_client_for(agent).get("/api/v1/t/acme/tickets/").json()["results"]
    ids = [row["id"] for row in results]
    assert all(len(value) == 36 for value in ids)
    assert not any(value.isdigit() for value in ids)


def test_invalid_object_id_is_404_not_500(api_client_for, agent):
    response = api_client_for(agent).get("/api/v1/t/acme/tickets/not-a-uuid/")
    assert response.status_code == 404


def test_ticket_list_uses_cursor_pagination_and_constant_queries(api_client_for, agent, tenant):
    for _ in range(6):
        TicketFactory(tenant=tenant)
    client = api_client_for(agent)
    first = client.get("/api/v1/t/acme/tickets/?page_size=4").json()
    assert len(first["results"]) == 4
    assert "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    for _ in range(20):
        TicketFactory(tenant=tenant)
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/t/acme/tickets/?page_size=2")
    with CaptureQueriesContext(connection) as large:
        assert len(client.get("/api/v1/t/acme/tickets/?page_size=25").json()["results"]) == 25
    assert len(large.captured_queries) == len(small.captured_queries) <= 12


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_are_served(client, db, path):
    response = client.get(path)
    assert response.status_code == 200


def test_docs_load_assets_locally_not_from_a_cdn(client, db):
    html = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_schema_lists_tenant_routes_with_api_key_security(client, db):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/t/{tenant_slug}/tickets/" in schema["paths"]
    assert "ApiKey" in schema["components"]["securitySchemes"]


def test_openapi_schema_is_valid_and_free_of_generator_warnings(tmp_path, db):
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "operationId: ticket_list_create" in target.read_text()
