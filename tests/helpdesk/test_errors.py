"""A database that cannot be reached is a 503 with a message, not a 500 (helpdesk/errors.py).

The end-to-end drill with a real PostgreSQL restart is tests/reliability/
test_drill_postgres_restart.py; these check each path in-process, also with DEBUG on: raised in
a view (the middleware answers) and raised in a middleware (the 500 handler answers).
"""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.urls("tests.helpdesk.errors_urls")


@pytest.fixture
def client_without_raising(settings):
    settings.MIDDLEWARE = ["tests.helpdesk.errors_urls.LostInMiddleware", *settings.MIDDLEWARE]
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/lost/", "/api/v1/closed/"])
def test_a_lost_connection_in_an_api_view_is_a_json_503(client, settings, debug, path):
    settings.DEBUG = debug
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert "database cannot be reached" in response.json()["message"]


def test_a_lost_connection_in_a_page_is_a_503_page(client):
    response = client.get("/page/lost/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Back in a moment" in response.content


@pytest.mark.parametrize(
    ("path", "json"), [("/api/v1/in-middleware/", True), ("/page/in-middleware/", False)]
)
def test_a_lost_connection_in_a_middleware_is_a_503_too(client_without_raising, path, json):
    response = client_without_raising.get(path)
    assert response.status_code == 503
    if json:
        assert "database cannot be reached" in response.json()["message"]
    else:
        assert b"Back in a moment" in response.content


def test_other_errors_stay_500(client_without_raising):
    response = client_without_raising.get("/page/broken/")
    assert response.status_code == 500
