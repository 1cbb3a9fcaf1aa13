"""The ticket page's conversation and activity timeline are served from a cache: what one agent
changes shows on the next request of another, each viewer gets their own CSRF token and their
own controls, nothing is reused across tenants, and the page's reads do not grow with the
conversation. Also the tenant middleware: one read for a member's tenant and membership."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import MembershipFactory
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import Message
from tickets.services.analysis import analysis_correct, messages_analyse

pytestmark = pytest.mark.django_db

ANGRY = "This is ridiculous, the app keeps crashing and nobody answers!!!"


@pytest.fixture
def second_agent(tenant, member_factory):
    return member_factory(tenant, Role.AGENT, "second@acme.test")


@pytest.fixture
def ticket(tenant):
    customer = CustomerFactory(tenant=tenant, name="Dana Scully", email="dana@example.com")
    return services.ticket_create(tenant=tenant, customer=customer, subject="Crash", body=ANGRY)


def thread_of(html: str) -> str:
    start = html.index('id="ticket-thread"')
    return html[start : html.index('id="ticket-aside"', start)]


def activity_of(html: str) -> str:
    return html[html.index('id="activity-title"') :]


def first_message(tenant, ticket) -> Message:
    with tenant_context(tenant):
        return Message.objects.for_tenant(tenant).filter(ticket=ticket).order_by("id").first()


def page(client, ticket) -> str:
    response = client.get(f"/t/acme/tickets/{ticket.number}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_change_by_one_agent_shows_on_the_next_request_of_another(
    client, tenant, agent, second_agent, ticket
):
    other = Client()
    other.force_login(second_agent)
    client.force_login(agent)
    before = page(other, ticket)  # cached now
    assert "analysing…" in thread_of(before)

    services.message_create(tenant=tenant, ticket=ticket, body="On it", author_user=agent)
    after = page(other, ticket)
    assert "On it" in thread_of(after)
    assert "replied" in activity_of(after)

    messages_analyse(tenant=tenant, message_ids=[first_message(tenant, ticket).pk])
    analysed = thread_of(page(other, ticket))
    assert "analysing…" not in analysed and "analysis-marker--negative" in analysed

    analysis_correct(
        tenant=tenant,
        actor=agent,
        message=first_message(tenant, ticket),
        field="sentiment",
        corrected="neutral",
    )
    corrected = page(other, ticket)
    assert "is-corrected" in thread_of(corrected)
    assert "corrected the sentiment" in activity_of(corrected)

    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="pending")
    assert "changed status" in activity_of(page(other, ticket))


def test_each_viewer_gets_their_own_csrf_token_and_controls(
    tenant, agent, second_agent, member_factory, ticket
):
    messages_analyse(tenant=tenant, message_ids=[first_message(tenant, ticket).pk])
    first = Client(enforce_csrf_checks=True)
    first.force_login(agent)
    page(first, ticket)  # renders and caches the conversation

    second = Client(enforce_csrf_checks=True)
    second.force_login(second_agent)
    html = page(second, ticket)
    forms = re.findall(
        r'action="(/t/acme/messages/[^"]+/correct/)".*?name="csrfmiddlewaretoken" value="([^"]+)"',
        thread_of(html),
        re.S,
    )
    assert forms, "the correction forms are on the page"
    assert "csrf-slot" not in html
    action, token = forms[0]
    response = second.post(
        action, {"field": "sentiment", "value": "positive", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302  # accepted: the token is this viewer's

    observer = Client()
    observer.force_login(member_factory(tenant, Role.OBSERVER, "observer@acme.test"))
    read_only = thread_of(page(observer, ticket))
    assert "analysis-marker" in read_only and "/correct/" not in read_only


def test_no_conversation_is_reused_across_tenants(client, tenant, other_tenant, agent, ticket):
    MembershipFactory(tenant=other_tenant, user=agent, role=Role.AGENT)
    theirs = services.ticket_create(
        tenant=other_tenant,
        customer=CustomerFactory(tenant=other_tenant),
        subject="Globex matter",
        body="Globex secret body",
    )
    assert theirs.number == ticket.number
    client.force_login(agent)
    ours = page(client, ticket)
    html = client.get(f"/t/globex/tickets/{theirs.number}/").content.decode()
    assert "Globex secret body" in thread_of(html) and ANGRY not in thread_of(html)
    assert ANGRY in thread_of(ours) and "Globex secret body" not in ours
    # and the tenant switcher of either page lists both helpdesks
    assert "/t/globex/" in ours and "/t/acme/" in html


def test_ticket_page_reads_do_not_grow_with_the_conversation(client, tenant, agent, ticket):
    client.force_login(agent)
    customer_message = first_message(tenant, ticket)
    messages_analyse(tenant=tenant, message_ids=[customer_message.pk])
    analysis_correct(
        tenant=tenant, actor=agent, message=customer_message, field="sentiment", corrected="neutral"
    )
    page(client, ticket)  # the tenant's directory (members, groups, ...) is read once, then kept
    services.message_create(tenant=tenant, ticket=ticket, body="First note", author_user=agent)
    with CaptureQueriesContext(connection) as small:  # the conversation changed: not cached
        page(client, ticket)
    for n in range(6):
        services.message_create(tenant=tenant, ticket=ticket, body=f"Note {n}", author_user=agent)
        services.message_create(
            tenant=tenant, ticket=ticket, body=f"Again {n}", author_customer=ticket.customer
        )
    with tenant_context(tenant):
        ids = list(
            Message.objects.for_tenant(tenant)
            .filter(ticket=ticket, author_type="customer")
            .values_list("pk", flat=True)
        )
    messages_analyse(tenant=tenant, message_ids=ids)
    with CaptureQueriesContext(connection) as large:
        html = page(client, ticket)
    assert "Again 5" in html
    assert len(large.captured_queries) == len(small.captured_queries)

    # read again with nothing changed: the conversation and timeline come from the cache
    with CaptureQueriesContext(connection) as warm:
        page(client, ticket)

    def reads(captured, table):
        return [
            q for q in captured if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
        ]

    assert len(reads(large.captured_queries, "tickets_messageanalysis")) == 1
    assert reads(warm.captured_queries, "tickets_messageanalysis") == []
    assert reads(warm.captured_queries, "tickets_analysiscorrection") == []
    assert len(warm.captured_queries) < len(large.captured_queries)


def test_a_member_page_reads_tenant_and_membership_at_once(
    client, tenant, other_tenant, agent, ticket
):
    client.force_login(agent)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/t/acme/queue/", HTTP_HX_REQUEST="true").status_code == 200
    tenant_reads = [q for q in captured if 'FROM "tenancy_tenant"' in q["sql"]]
    membership_reads = [q for q in captured if 'FROM "tenancy_membership"' in q["sql"]]
    assert tenant_reads == [] and len(membership_reads) == 1
    # someone else's helpdesk, an unknown one, nobody signed in: the same answers as before
    stranger = Client()
    stranger.force_login(MembershipFactory(tenant=other_tenant).user)
    assert stranger.get("/t/acme/queue/").status_code == 404
    assert stranger.get("/t/nope/queue/").status_code == 404
    assert stranger.get("/t/globex/queue/").status_code == 200
    assert Client().get("/t/acme/queue/").status_code == 302
