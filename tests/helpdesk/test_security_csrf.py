"""CSRF: every route that takes a POST refuses one without the token, and htmx sends the token.

Routes are discovered from the URL conf (every pattern, staff pages, customer-facing pages, the
sign-in and the API), so a new route is walked the day it is added. The client enforces CSRF
checks, as a browser session does; path parameters are filled with placeholder values, because the
check runs before the view looks anything up. Pages must answer 403. The API with a session (DRF's
``SessionAuthentication``) must answer 403 too; API routes that take no session answer 401/403.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authentication import SessionAuthentication

from helpdesk.tenancy.context import tenant_context
from tests.isolation.probe import PARAM
from tickets.models import Article
from tickets.services.helpcenter import article_create

PLACEHOLDERS = {"int": "1", "uuid": str(uuid.UUID(int=1)), "slug": "x", "str": "x", "path": "x"}


def discover_all_routes(urlconf: str | None = None) -> list[tuple[str, object]]:
    routes: list[tuple[str, object]] = []

    def walk(patterns: Iterable, prefix: str) -> None:
        for entry in patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, text)
            elif isinstance(entry, URLPattern):
                routes.append((text, entry.callback))

    walk(get_resolver(urlconf).url_patterns, "/")
    return routes


def placeholder_url(pattern: str) -> str:
    def value(match: re.Match) -> str:
        if match["name"] == "tenant_slug":
            return "acme"
        return PLACEHOLDERS.get(match["converter"] or "str", "x")

    url = PARAM.sub(value, pattern)
    # regex patterns (re_path) and optional parts: keep the literal text only
    return re.sub(r"[\^$?]", "", url)


def takes_session(callback) -> bool:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    classes = getattr(view_class, "authentication_classes", None) or []
    return any(issubclass(c, SessionAuthentication) for c in classes)


ROUTES = discover_all_routes()


def test_the_walk_covers_pages_public_forms_and_the_api():
    patterns = [p for p, _ in ROUTES]
    assert any(p.startswith("/api/") for p in patterns)
    assert any("status/" in p for p in patterns)
    assert any("login" in p for p in patterns)
    assert len(patterns) > 100


def post_without_token_problems(client, routes) -> list[tuple[str, int]]:
    problems = []
    for pattern, callback in routes:
        url = placeholder_url(pattern)
        response = client.post(url, {"body": "x", "subject": "x", "email": "x@example.com"})
        if pattern.startswith("/api/") and not takes_session(callback):
            if response.status_code not in {401, 403, 404, 405}:
                problems.append((url, response.status_code))
        elif response.status_code != 403 or b"CSRF" not in response.content:
            problems.append((url, response.status_code))
    return problems


def test_a_post_without_the_csrf_token_is_refused_on_every_route(tenant, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert post_without_token_problems(client, ROUTES) == []


def test_the_walk_notices_a_route_without_csrf_protection(tenant, admin_user, settings):
    settings.ROOT_URLCONF = "tests.helpdesk.csrf_canary_urls"
    routes = discover_all_routes("tests.helpdesk.csrf_canary_urls")
    canary = [route for route in routes if "csrf-canary" in route[0]]
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert post_without_token_problems(client, canary) == [("/t/acme/csrf-canary/", 200)]


def test_anonymous_public_forms_need_the_token_too(tenant):
    client = Client(enforce_csrf_checks=True)
    for url in ("/accounts/login/", "/t/acme/help/contact/"):
        response = client.post(url, {"username": "a", "password": "b"})
        assert response.status_code == 403, url


def test_htmx_sends_the_token_from_the_page_in_its_header(tenant, admin_user):
    """The page sets ``hx-headers`` with the token; htmx posts it as X-CSRFToken: that passes."""
    article = article_create(
        tenant=tenant, actor=admin_user, title="Reset", body="How to", publish=True
    )
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/t/acme/help/articles/{article.slug}/")
    assert page.status_code == 200
    header = re.search(r"hx-headers='([^']+)'", page.content.decode())
    token = json.loads(header.group(1))["X-CSRFToken"]
    url = f"/t/acme/help/articles/{article.slug}/vote/"
    refused = client.post(url, {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    accepted = client.post(url, {"helpful": "yes"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
    with tenant_context(tenant):
        assert Article.objects.for_tenant(tenant).get(pk=article.pk).helpful_yes == 1
