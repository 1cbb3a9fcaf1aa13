"""Every page and API route, as tenant A's admin and agent, with tenant B's ids: refused, no B data,
no change to B. The canary proves the walk would notice a leak."""

from __future__ import annotations

import pytest
from django.test import override_settings

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from journeys.services import events_ingest
from tests.factories.journeys import journey_make
from tests.factories.tickets import CustomerFactory, MessageFactory, TicketFactory
from tests.isolation.probe import discover_tenant_routes, probe, snapshot_of_tenant
from tickets.models import AnalysisCorrection, Attachment, MessageAnalysis
from tickets.services.chat import chat_start
from tickets.services.email_in import inbound_email_process, inbound_email_receive, mailbox_create
from tickets.services.helpcenter import article_create
from tickets.services.triage_rules import triage_rule_create
from tickets.services.webhooks import webhook_dispatch, webhook_endpoint_create

SENTINEL = "SENTINEL-OF-GLOBEX"


def sentinel_email(sentinel: str) -> bytes:
    return (
        f"From: {sentinel} <mail@globex-customer.example>\r\nTo: support@globex.example\r\n"
        f"Subject: {sentinel}\r\nMessage-ID: <sentinel@globex-customer.example>\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain\r\n\r\n{sentinel}\r\n"
        f'--b\r\nContent-Type: text/plain; name="{sentinel}.txt"\r\n'
        f'Content-Disposition: attachment; filename="{sentinel}.txt"\r\n\r\n{sentinel}\r\n'
        "--b--\r\n"
    ).encode()


@pytest.fixture
def foreign_world(tenant, other_tenant, other_admin, settings, tmp_path):
    """Tenant B with one object of every kind, each carrying the sentinel text."""
    settings.MEDIA_ROOT = tmp_path / "media"
    TicketFactory(tenant=tenant)  # A has ticket #1 only; B's numbers go higher
    customer = CustomerFactory(tenant=other_tenant, name=SENTINEL, notes=SENTINEL)
    tickets = [
        TicketFactory(tenant=other_tenant, customer=customer, subject=f"{SENTINEL} {i}")
        for i in range(3)
    ]
    foreign_message = MessageFactory(tenant=other_tenant, ticket=tickets[-1], body_text=SENTINEL)
    with tenant_context(other_tenant):  # an analysis and a correction of B's message
        MessageAnalysis.objects.create(
            tenant=other_tenant,
            message=foreign_message,
            ticket=tickets[-1],
            model_version=SENTINEL,
            sentiment_label="negative",
            sentiment_score=-0.5,
            keywords=[SENTINEL],
            message_created_at=foreign_message.created_at,
            analysed_at=foreign_message.created_at,
        )
        AnalysisCorrection.objects.create(
            tenant=other_tenant,
            message=foreign_message,
            field="sentiment",
            predicted="negative",
            corrected="neutral",
            model_version=SENTINEL,
        )
    key, _raw = api_key_create(
        tenant=other_tenant, actor=other_admin, name=SENTINEL, scopes=["read"]
    )
    rule = triage_rule_create(
        tenant=other_tenant,
        actor=other_admin,
        name=SENTINEL,
        conditions={"signals": ["churn_risk"]},
        actions={"add_tags": [SENTINEL]},
    )
    endpoint = webhook_endpoint_create(
        tenant=other_tenant,
        actor=other_admin,
        url=f"https://hooks.globex.example/{SENTINEL}",
        events=["ticket.created"],
        description=SENTINEL,
    )
    (delivery,) = webhook_dispatch(
        tenant=other_tenant, event="ticket.created", data={"note": SENTINEL}
    )
    # Help centre: a draft (never public) carries the sentinel; the published article is public
    # by design at B's own help page, so it carries none. A live chat of B's, too.
    draft = article_create(
        tenant=other_tenant, actor=other_admin, title=SENTINEL, body=SENTINEL, slug="globex-draft"
    )
    published = article_create(
        tenant=other_tenant, actor=other_admin, title="Public", body="Public", publish=True
    )
    chat_start(tenant=other_tenant, body=SENTINEL, client_id="sentinel", name=SENTINEL)
    # Journeys: B's journey (sentinel name and events) and a customer position in it.
    journey = journey_make(other_tenant, SENTINEL, [(SENTINEL, [SENTINEL]), ("Next", ["Next"])])
    events_ingest(
        tenant=other_tenant, events=[{"id": SENTINEL, "name": SENTINEL, "customer_id": SENTINEL}]
    )
    # Email: a mailbox, an inbound email and its attachment (the sentinel is in the file too).
    mailbox = mailbox_create(
        tenant=other_tenant,
        actor=other_admin,
        host="imap.globex.example",
        username=SENTINEL,
        password=SENTINEL,
    )
    inbound, _ = inbound_email_receive(
        tenant=other_tenant, raw=sentinel_email(SENTINEL), source="webhook", enqueue=False
    )
    inbound = inbound_email_process(tenant=other_tenant, inbound=inbound)
    with tenant_context(other_tenant):
        attachment = Attachment.objects.for_tenant(other_tenant).get(message_id=inbound.message_id)
    membership = Membership.objects.get(tenant=other_tenant, user=other_admin)
    other_admin.full_name = SENTINEL
    other_admin.save(update_fields=["full_name"])
    with tenant_context(other_tenant):
        numbers = [str(t.number) for t in tickets if t.number > 1]
    return {
        "public_id": [
            str(customer.public_id),
            str(tickets[-1].public_id),
            str(key.public_id),
            str(endpoint.public_id),
            str(delivery.public_id),
            str(journey.public_id),
            str(attachment.public_id),
            str(foreign_message.public_id),
        ],
        "mailbox_id": [str(mailbox.pk)],
        "inbound_id": [str(inbound.pk)],
        "number": numbers,
        "membership_id": [str(membership.pk)],
        "rule_id": [str(rule.pk)],
        "article_id": [str(draft.public_id), str(published.public_id)],
        "article_slug": [draft.slug, published.slug],
    }


def test_the_walk_discovers_pages_and_api_routes():
    patterns = {route.pattern for route in discover_tenant_routes()}
    assert "/t/<slug:tenant_slug>/tickets/<int:number>/" in patterns
    assert "/api/v1/t/<slug:tenant_slug>/tickets/<uuid:public_id>/" in patterns
    assert len(patterns) >= 15


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AGENT, Role.OBSERVER])
def test_no_route_serves_or_changes_another_tenants_data(
    client, tenant, other_tenant, foreign_world, member_factory, role
):
    attacker = member_factory(tenant, role, f"{role}-attacker@acme.test")
    client.force_login(attacker)
    before = snapshot_of_tenant(other_tenant)
    leaks = probe(
        client,
        own_slug=tenant.slug,
        foreign_slug=other_tenant.slug,
        foreign_ids=foreign_world,
        sentinel=SENTINEL,
        routes=discover_tenant_routes(),
    )
    assert leaks == []
    assert snapshot_of_tenant(other_tenant) == before


@override_settings(ROOT_URLCONF="tests.isolation.canary_urls")
def test_the_walk_flags_the_canary_that_leaks_on_purpose(
    client, tenant, other_tenant, foreign_world, admin_user
):
    client.force_login(admin_user)
    routes = [
        r for r in discover_tenant_routes("tests.isolation.canary_urls") if "canary" in r.pattern
    ]
    assert routes, "the canary route was not discovered"
    leaks = probe(
        client,
        own_slug=tenant.slug,
        foreign_slug=other_tenant.slug,
        foreign_ids=foreign_world,
        sentinel=SENTINEL,
        routes=routes,
    )
    assert any(
        leak.reason == "sentinel in body" and "/t/acme/canary/" in leak.url for leak in leaks
    )
