"""The OpenAPI schema says what the API really answers (pages for lists, the error shape for
4xx), and OPTIONS never fails. Found by the Schemathesis run (test_api_fuzz.py); these pin the
fixes in fast tests."""

from __future__ import annotations

import json

from drf_spectacular.validation import validate_schema

from tests.helpdesk import test_pages_permissions as pages
from tests.isolation.probe import discover_tenant_routes

own_objects = pages.own_objects  # the fixture: one object of every kind in tenant "acme"


def schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_and_documents_errors_and_pages(client, db):
    spec = schema(client)
    validate_schema(spec)
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/t/"):
            continue
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for code in ("400", "401", "403", "404"):
                assert code in operation["responses"], (method, path, code)
    tickets = spec["paths"]["/api/v1/t/{tenant_slug}/tickets/"]["get"]["responses"]["200"]
    page = tickets["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][page]["properties"]) >= {"next", "results"}
    journeys = spec["paths"]["/api/v1/t/{tenant_slug}/journeys/"]["get"]["responses"]["200"]
    assert journeys["content"]["application/json"]["schema"]["type"] == "array"
    events = spec["paths"]["/api/v1/t/{tenant_slug}/events/"]["post"]["responses"]
    assert "429" in events


def test_options_never_fails_on_any_api_route(client, admin_user, own_objects):
    client.force_login(admin_user)
    routes = [r for r in discover_tenant_routes() if r.pattern.startswith("/api/")]
    assert len(routes) >= 15
    for route in routes:
        url = pages.page_url(route, own_objects)
        response = client.options(url)
        assert response.status_code < 500, (url, response.status_code)
        if response.content:  # the event endpoint answers CORS preflights with an empty 204
            assert "actions" not in response.json(), url
