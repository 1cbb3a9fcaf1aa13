"""Content-Security-Policy on every page, and no markup that the policy would block.

Every URL pattern of the URL conf is discovered (not listed by hand), filled with ids of the
tenant's own objects and requested as an admin and as an anonymous visitor. Every response must
carry the strict policy; every HTML page that renders must be free of inline scripts, inline event
handlers, ``javascript:`` URLs, ``style`` attributes and ``<style>`` elements (the policy blocks
all of them, so a page that has them is broken in the browser).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, get_resolver

from helpdesk.tenancy.context import tenant_context
from tests.helpdesk import test_pages_permissions as pages
from tests.isolation.probe import PARAM, Route
from tickets.models import Ticket
from tickets.services.status import status_link_ensure

own_objects = pages.own_objects  # the fixture: one object of every kind in tenant "acme"

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Values for the parameters of routes outside /t/<slug>/ (tokens that do not exist: the page
# answers 404 or its "invalid link" page, which must carry the policy too).
PUBLIC_PARAMS = {"token": "not-a-real-token", "helpdesk": "acme", "uidb64": "MQ"}


def all_routes() -> list[Route]:
    """Every URL pattern with named parameters only (Django admin's regex routes are left out,
    apart from its index, which is requested explicitly)."""
    routes: list[Route] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            text = prefix + str(entry.pattern)
            if text.startswith("/admin/"):
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, text)
            elif isinstance(entry, URLPattern):
                routes.append(Route(text, tuple(m["name"] for m in PARAM.finditer(text))))

    walk(get_resolver().url_patterns, "/")
    return routes


def route_url(route: Route, objects: dict) -> str:
    if "tenant_slug" in route.params:
        # Help articles are addressed by slug (own_objects' article is a draft: a 404 page).
        return pages.page_url(route, {"article_slug": "own-article", **objects})
    values = {name: PUBLIC_PARAMS[name] for name in route.params}
    return PARAM.sub(lambda m: str(values[m["name"]]), route.pattern)


class InlineCodeFinder(HTMLParser):
    """Collects everything in a page that a strict CSP blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        if tag == "script":
            kind = (attrs.get("type") or "").lower()
            if "src" not in attrs and kind != "application/json":
                self.problems.append(f"inline <script> {attrs}")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event handler attribute")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}> attribute")
            if name in {"href", "src", "action", "formaction"} and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")


def csp_problems(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems


def directives(header: str) -> dict[str, list[str]]:
    result = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            result[words[0]] = words[1:]
    return result


def assert_strict_policy(url: str, response) -> None:
    header = response.get("Content-Security-Policy")
    assert header, f"{url} ({response.status_code}) has no Content-Security-Policy header"
    policy = directives(header)
    if policy.get("default-src") == ["'none'"] and "sandbox" in policy:
        # Stricter still: downloads (attachments) allow nothing at all.
        assert response.get("X-Frame-Options") == "DENY", url
        return
    assert policy.get("script-src") == ["'self'"], (url, header)
    assert policy.get("style-src") == ["'self'"], (url, header)
    assert policy.get("object-src") == ["'none'"], (url, header)
    assert policy.get("base-uri") == ["'none'"], (url, header)
    assert policy.get("frame-ancestors") == ["'none'"], (url, header)
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, (url, header)


def visit_every_route(client, objects: dict, extra_urls: list[str]) -> dict[str, int]:
    urls = [route_url(route, objects) for route in all_routes()] + extra_urls
    rendered: dict[str, int] = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        assert_strict_policy(url, response)
        content_type = response.get("Content-Type", "")
        if response.status_code == 200 and content_type.startswith("text/html"):
            assert response.get("X-Frame-Options") == "DENY", url
            problems = csp_problems(response.content.decode())
            assert not problems, f"{url}: {problems}"
            rendered[url] = response.status_code
    return rendered


@pytest.fixture
def status_url(tenant, own_objects):
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).get(number=own_objects["number"])
    link = status_link_ensure(tenant=tenant, ticket=ticket)
    return f"/status/{link.token}/"


def test_every_page_carries_the_policy_and_no_inline_code_as_an_admin(
    client, tenant, admin_user, own_objects, status_url
):
    client.force_login(admin_user)
    rendered = visit_every_route(client, own_objects, [status_url, "/admin/"])
    number = own_objects["number"]
    for page in (
        "/t/acme/queue/",
        f"/t/acme/tickets/{number}/",
        "/t/acme/dashboards/",
        "/t/acme/help/",
        status_url,
        "/api/docs/",
    ):
        assert page in rendered, f"{page} did not render (status or content type)"
    assert len(rendered) >= 25, sorted(rendered)


def test_every_page_carries_the_policy_and_no_inline_code_for_visitors(
    client, tenant, own_objects, status_url
):
    rendered = visit_every_route(client, own_objects, [status_url])
    for page in ("/", "/accounts/login/", "/signup/", "/t/acme/help/", status_url):
        assert page in rendered, f"{page} did not render"


def test_the_error_page_needs_no_inline_style():
    assert csp_problems(render_to_string("500.html")) == []


def test_no_template_has_inline_script_or_style():
    """The source, too: a branch that renders only with some data must not hide inline code.
    Email templates are exempt (mail clients need inline styles; no CSP applies there)."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "email" in path.relative_to(TEMPLATES).parts:
            continue
        text = re.sub(r"{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.S)
        for problem in csp_problems(re.sub(r"{%.*?%}|{{.*?}}", "x", text, flags=re.S)):
            offenders.append(f"{path.relative_to(TEMPLATES)}: {problem}")
    assert offenders == []


def test_the_checker_catches_what_the_policy_blocks():
    assert csp_problems('<script>alert(1)</script><p onclick="x()">') == [
        "inline <script> {}",
        "<p onclick=...> event handler attribute",
    ]
    assert csp_problems('<a href="javascript:alert(1)">x</a>')
    assert csp_problems('<div style="color: red"></div>')
    assert csp_problems('<script id="c" type="application/json">{}</script>') == []
    assert csp_problems('<script src="/static/js/app.js" defer></script>') == []
