"""Role x API route x method matrix, generated from the one permission policy.

Every ``/api/`` route is discovered from the URL conf. For each route and method (GET, POST, PATCH,
DELETE) the permission comes from the view's own ``required_perm(request)``; whether a principal
may act comes from ``role_has_perm`` (people, by role) or ``scopes_have_perm`` (API keys, by scope),
the functions the API itself uses, so the policy and these tests cannot drift. Principals: every
role (with a personal Bearer token), an API key per scope, anonymous, a customer's status-link
token, and another tenant's admin (and tenant B's API key).

A principal without the permission gets 403 for every method (404 when not of this tenant), and a
refused write changes nothing: every row of the tenant is the same afterwards. Writes by allowed
principals are the API's own tests; here allowed principals only read.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.urls import resolve
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from helpdesk.tenancy.api.views import TenantAccess
from helpdesk.tenancy.context import system_context, tenant_context
from helpdesk.tenancy.lifecycle import tenant_owned_models
from helpdesk.tenancy.policy import API_KEY_SCOPE_PERMISSIONS, Role, role_has_perm, scopes_have_perm
from helpdesk.tenancy.services import api_key_create
from tests.factories.journeys import journey_make
from tests.factories.tickets import CustomerFactory
from tests.isolation.probe import discover_tenant_routes, fill
from tickets import services
from tickets.models import Message
from tickets.services.status import status_link_ensure
from tickets.services.triage_rules import triage_rule_create
from tickets.services.webhooks import webhook_dispatch, webhook_endpoint_create

API_ROUTES = [r for r in discover_tenant_routes() if r.pattern.startswith("/api/")]
METHODS = ("get", "post", "patch", "delete")
WRITE_METHODS = ("post", "patch", "delete")


@pytest.fixture
def api_objects(tenant, admin_user):
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject="Own", body="Body")
    services.message_create(tenant=tenant, ticket=ticket, body="Reply", author_user=admin_user)
    with tenant_context(tenant):  # corrections are of customers' messages
        message = Message.objects.for_tenant(tenant).get(ticket=ticket, author_type="customer")
    endpoint = webhook_endpoint_create(
        tenant=tenant,
        actor=admin_user,
        url="https://hooks.acme.example/in",
        events=["ticket.created"],
    )
    (delivery,) = webhook_dispatch(tenant=tenant, event="ticket.created", data={"n": 1})
    journey = journey_make(tenant)
    rule = triage_rule_create(
        tenant=tenant,
        actor=admin_user,
        name="Own rule",
        conditions={"signals": ["confusion"]},
        actions={"add_tags": ["needs-clarity"]},
    )
    return {
        "ticket": ticket,
        "rule_id": rule.pk,
        "public_id": {
            "customers": customer.public_id,
            "tickets": ticket.public_id,
            "messages": message.public_id,
            "webhooks": endpoint.public_id,
            "webhook-deliveries": delivery.public_id,
            "journeys": journey.public_id,
        },
    }


def api_url(route, objects, slug="acme") -> str:
    values = {"tenant_slug": slug}
    if "rule_id" in route.params:
        values["rule_id"] = objects["rule_id"]
    if "public_id" in route.params:
        segment = route.pattern.split("/<uuid:public_id>")[0].rsplit("/", 1)[-1]
        values["public_id"] = objects["public_id"][segment]
    return fill(route, values)


def view_of(url: str):
    match = resolve(url)
    return match.func.cls, match.kwargs


def required_perm(url: str, method: str):
    """The view's own answer for this method (what TenantAccess checks)."""
    view_class, kwargs = view_of(url)
    view = view_class()
    request = Request(getattr(APIRequestFactory(), method)(url))
    view.request, view.kwargs, view.args = request, kwargs, ()
    return view.required_perm(request)


def uses_tenant_access(url: str) -> bool:
    view_class, _ = view_of(url)
    return TenantAccess in view_class.permission_classes


def tenant_digest(tenant) -> tuple[dict[str, int], str]:
    """Row counts per model and a digest of every row of the tenant (an API key's last use, which
    authentication itself writes, is left out)."""
    digest = hashlib.sha256()
    counts = {}
    with system_context(reason="api matrix snapshot"):
        for model in tenant_owned_models():
            rows = list(model._base_manager.filter(tenant_id=tenant.pk).order_by("pk").values())
            for row in rows:
                row.pop("last_used_at", None)
            counts[model._meta.label] = len(rows)
            digest.update(repr(rows).encode())
    return counts, digest.hexdigest()


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def test_the_matrix_covers_every_api_route_and_every_view_uses_the_policy(api_objects):
    assert len(API_ROUTES) >= 20
    for route in API_ROUTES:
        url = api_url(route, api_objects)
        for method in METHODS:
            assert required_perm(url, method) is not None, (route.pattern, method)


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix_for_every_api_route_and_method(tenant, member_factory, api_objects, role):
    person = member_factory(tenant, role, f"{role}-api@acme.test")
    client = client_with(f"Bearer {Token.objects.create(user=person).key}")
    before = tenant_digest(tenant)
    problems = []
    for route in API_ROUTES:
        url = api_url(route, api_objects)
        tenant_access = uses_tenant_access(url)
        for method in METHODS:
            allowed = tenant_access and role_has_perm(role, required_perm(url, method))
            if allowed and method in WRITE_METHODS:
                continue  # the API's own tests cover writes by people who may make them
            status = getattr(client, method)(url).status_code
            if not tenant_access:
                expected = {401, 403}  # machine-only routes (the email webhook): no person
            elif allowed:
                expected = {200, 405}
            else:
                expected = {403}
            if status not in expected:
                problems.append((method.upper(), url, status, sorted(expected)))
    assert problems == []
    assert tenant_digest(tenant) == before, "a refused request changed tenant data"


@pytest.mark.parametrize("scope", sorted(API_KEY_SCOPE_PERMISSIONS))
def test_api_key_scope_matrix_for_every_api_route_and_method(
    tenant, admin_user, api_objects, scope
):
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name=scope, scopes=[scope])
    client = client_with(f"Api-Key {raw}")
    before = tenant_digest(tenant)
    problems = []
    for route in API_ROUTES:
        url = api_url(route, api_objects)
        if not uses_tenant_access(url):
            continue  # the email webhook: its own scope test below
        for method in METHODS:
            allowed = scopes_have_perm([scope], required_perm(url, method))
            if allowed and method in WRITE_METHODS:
                continue
            status = getattr(client, method)(url).status_code
            expected = {200, 405} if allowed else {403}
            if status not in expected:
                problems.append((method.upper(), url, status, sorted(expected)))
    assert problems == []
    assert tenant_digest(tenant) == before


@pytest.mark.parametrize("scope", sorted(set(API_KEY_SCOPE_PERMISSIONS) - {"ingest:email"}))
def test_the_email_webhook_refuses_keys_without_the_ingest_email_scope(tenant, admin_user, scope):
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name=scope, scopes=[scope])
    response = client_with(f"Api-Key {raw}").post(
        "/api/v1/t/acme/email/inbound/", b"Subject: x\r\n\r\nbody", content_type="message/rfc822"
    )
    assert response.status_code in {401, 403}


def outsiders(tenant, other_tenant, other_admin, api_objects):
    """Principals that are nobody in tenant A."""
    link = status_link_ensure(tenant=tenant, ticket=api_objects["ticket"])
    _key, other_key = api_key_create(
        tenant=other_tenant,
        actor=other_admin,
        name="B",
        scopes=sorted(API_KEY_SCOPE_PERMISSIONS),
    )
    return {
        "anonymous": (None, {401, 403}),
        "customer status token as Bearer": (f"Bearer {link.token}", {401, 403}),
        "customer status token as API key": (f"Api-Key {link.token}", {401, 403}),
        "another tenant's admin": (
            f"Bearer {Token.objects.create(user=other_admin).key}",
            {404},
        ),
        "another tenant's API key (every scope)": (f"Api-Key {other_key}", {401, 403, 404}),
        "an unknown token": (f"Bearer {uuid.uuid4().hex}", {401}),
    }


def test_outsiders_get_nothing_from_any_api_route_with_any_method(
    tenant, other_tenant, other_admin, api_objects
):
    before = tenant_digest(tenant)
    problems = []
    for name, (header, expected) in outsiders(
        tenant, other_tenant, other_admin, api_objects
    ).items():
        client = client_with(header)
        for route in API_ROUTES:
            url = api_url(route, api_objects)
            for method in METHODS:
                response = getattr(client, method)(url)
                allowed = expected if uses_tenant_access(url) else expected | {401, 403}
                if response.status_code not in allowed:
                    problems.append((name, method.upper(), url, response.status_code))
                if b"Own rule" in response.content or b"hooks.acme.example" in response.content:
                    problems.append((name, method.upper(), url, "tenant data in the body"))
    assert problems == []
    assert tenant_digest(tenant) == before


def test_tenant_as_api_key_and_bearer_token_do_not_open_tenant_bs_routes(
    tenant, other_tenant, admin_user, other_admin, api_objects
):
    """A's credentials (a key with every scope, the admin's personal token) against B's slug."""
    _key, raw = api_key_create(
        tenant=tenant, actor=admin_user, name="A", scopes=sorted(API_KEY_SCOPE_PERMISSIONS)
    )
    before = tenant_digest(other_tenant)
    problems = []
    for header in (f"Api-Key {raw}", f"Bearer {Token.objects.create(user=admin_user).key}"):
        client = client_with(header)
        for route in API_ROUTES:
            url = api_url(route, api_objects, slug="globex")
            for method in METHODS:
                status = getattr(client, method)(url).status_code
                if status not in {401, 403, 404}:
                    problems.append((header.split()[0], method.upper(), url, status))
    assert problems == []
    assert tenant_digest(other_tenant) == before
