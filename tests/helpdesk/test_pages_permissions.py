"""Role x page matrix, generated from the one permission policy so the two cannot drift."""

from __future__ import annotations

import pytest
from django.urls import resolve

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role, role_has_perm
from helpdesk.tenancy.services import api_key_create
from tests.factories.journeys import journey_make
from tests.factories.tickets import CustomerFactory, TicketFactory
from tests.fixtures.email.build_corpus import load
from tests.isolation.probe import discover_tenant_routes, fill, snapshot_of_tenant
from tickets.models import Attachment
from tickets.services.email_in import inbound_email_process, inbound_email_receive, mailbox_create
from tickets.services.helpcenter import article_create
from tickets.services.macros import macro_save
from tickets.services.triage_rules import triage_rule_create

# Staff pages. Customer-facing pages (the portal) have their own tests in tests/tickets/.
PAGE_ROUTES = [
    r
    for r in discover_tenant_routes()
    if not r.pattern.startswith("/api/") and not r.customer_facing
]


@pytest.fixture
def own_objects(tenant, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = CustomerFactory(tenant=tenant)
    ticket = TicketFactory(tenant=tenant, customer=customer)
    key, _ = api_key_create(tenant=tenant, actor=admin_user, name="k", scopes=["read"])
    macro = macro_save(tenant=tenant, actor=admin_user, name="m", body="Hello")
    journey = journey_make(tenant)
    article = article_create(tenant=tenant, actor=admin_user, title="Own article", body="Body")
    mailbox = mailbox_create(
        tenant=tenant, actor=admin_user, host="imap.acme.test", username="u", password="p"
    )
    inbound, _ = inbound_email_receive(
        tenant=tenant, raw=load("attachments_inline"), source="webhook", enqueue=False
    )
    inbound = inbound_email_process(tenant=tenant, inbound=inbound)
    with tenant_context(tenant):
        attachment = Attachment.objects.for_tenant(tenant).filter(message_id=inbound.message_id)[0]
    rule = triage_rule_create(
        tenant=tenant,
        actor=admin_user,
        name="Own rule",
        conditions={"signals": ["confusion"]},
        actions={"add_tags": ["needs-clarity"]},
    )
    return {
        "number": ticket.number,
        "article_id": article.public_id,
        "membership_id": Membership.objects.get(tenant=tenant, user=admin_user).pk,
        "mailbox_id": mailbox.pk,
        "inbound_id": inbound.pk,
        "rule_id": rule.pk,
        # the public id of the object named by the path segment before <uuid:public_id>
        "public_id": {
            "customers": customer.public_id,
            "api-keys": key.public_id,
            "macros": macro.public_id,
            "journeys": journey.public_id,
            "attachments": attachment.public_id,
        },
    }


def page_url(route, values, slug="acme") -> str:
    values = dict(values)
    if "public_id" in route.params:
        segment = route.pattern.split("/<uuid:public_id>")[0].rsplit("/", 1)[-1]
        values["public_id"] = values["public_id"].get(segment, values["public_id"]["customers"])
    return fill(route, {"tenant_slug": slug, **values})


def required_perm(url: str):
    return resolve(url).func.required_perm


def test_every_staff_page_declares_its_permission(own_objects):
    for route in PAGE_ROUTES:
        url = page_url(route, own_objects)
        assert getattr(resolve(url).func, "required_perm", None), (
            f"{route.pattern} has no tenant_view"
        )


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix_for_every_page(client, tenant, member_factory, own_objects, role):
    person = member_factory(tenant, role, f"{role}-matrix@acme.test")
    client.force_login(person)
    for route in PAGE_ROUTES:
        url = page_url(route, own_objects)
        response = client.get(url)
        allowed = role_has_perm(role, required_perm(url))
        if not allowed:
            assert response.status_code == 403, (url, response.status_code)
        else:
            # POST-only endpoints answer GET with 405; every other allowed page renders
            assert response.status_code in {200, 302, 405}, (url, response.status_code)


def test_anonymous_visitors_are_sent_to_login(client, own_objects):
    for route in PAGE_ROUTES:
        url = page_url(route, own_objects)
        response = client.get(url)
        if response.status_code != 405:
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/?next=")


def test_a_member_of_a_gets_404_everywhere_under_b(client, agent, other_tenant, own_objects):
    client.force_login(agent)
    for route in PAGE_ROUTES:
        response = client.get(page_url(route, own_objects, slug="globex"))
        assert response.status_code in {404, 405}


def test_unknown_tenant_is_a_404_page(client, agent):
    client.force_login(agent)
    response = client.get("/t/does-not-exist/queue/")
    assert response.status_code == 404
    assert b"<html" in response.content


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix_refuses_writes_to_pages_the_role_may_not_use(
    client, tenant, member_factory, own_objects, role
):
    """POST to every page whose permission the role lacks: 403, and no row of the tenant moves."""
    person = member_factory(tenant, role, f"{role}-writes@acme.test")
    client.force_login(person)
    before = snapshot_of_tenant(tenant)
    problems = []
    for route in PAGE_ROUTES:
        url = page_url(route, own_objects)
        if role_has_perm(role, required_perm(url)):
            continue
        response = client.post(url, {"body": "x", "name": "x", "role": "admin", "subject": "x"})
        if response.status_code != 403:
            problems.append((url, response.status_code))
    assert problems == []
    assert snapshot_of_tenant(tenant) == before


def test_another_tenants_admin_gets_404_for_every_page_and_method(
    client, tenant, other_admin, own_objects
):
    client.force_login(other_admin)
    before = snapshot_of_tenant(tenant)
    problems = []
    for route in PAGE_ROUTES:
        url = page_url(route, own_objects)
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if status != 404:
                problems.append((method.upper(), url, status))
    assert problems == []
    assert snapshot_of_tenant(tenant) == before
