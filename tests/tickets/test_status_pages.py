"""The customer's status page over HTTP (``/status/<token>/``): the page, the polling endpoint,
the reply box; and the staff "customer view" with its link controls. Tokens bind tenant and
ticket: unknown, rotated and expired ones, or a link pointing across tenants, all get the same
404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import GroupFactory
from tests.tickets.test_status_services import link_of, make_ticket
from tickets import services
from tickets.models import Message, StatusLink
from tickets.services.escalation import ticket_escalate_and_route
from tickets.services.status import status_link_rotate, status_viewer_grant


def page_url(ticket) -> str:
    return f"/status/{link_of(ticket).token}/"


@pytest.fixture
def ticket(tenant, agent):
    ticket = make_ticket(tenant, subject="Charged twice", body="My card was charged twice")
    services.message_create(
        tenant=tenant,
        ticket=ticket,
        body="NOTE-SECRET for the team",
        author_user=agent,
        is_internal=True,
    )
    services.message_create(tenant=tenant, ticket=ticket, body="We are on it", author_user=agent)
    specialists = GroupFactory(tenant=tenant, name="GROUP-SECRET", tier=2)
    ticket_escalate_and_route(
        tenant=tenant, actor=agent, ticket=ticket, group=specialists, reason="REASON-SECRET"
    )
    return ticket


def test_the_page_shows_stage_timeline_and_reply_box_but_nothing_internal(client, ticket):
    response = client.get(page_url(ticket))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Charged twice" in body and "Acme" in body
    assert re.search(r'(--brand: |data-brand=")#4f46e5', body)  # the tenant's colour
    assert "My card was charged twice" in body and "We are on it" in body
    assert "With a specialist" in body and "A specialist is looking into it." in body
    assert 'aria-live="polite"' in body and 'aria-current="step"' in body
    assert 'name="body"' in body and "/reply/" in body
    for secret in ("NOTE-SECRET", "REASON-SECRET", "GROUP-SECRET"):
        assert secret not in body
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in body  # no inline script: config and strings are JSON data blocks
    config = re.search(r'id="status-config" type="application/json">(.*?)</script>', body)
    assert config and '"wsPath": "/ws/status/' in config.group(1)


def test_the_viewer_token_on_the_page_opens_this_ticket_only(client, ticket):
    body = client.get(page_url(ticket)).content.decode()
    token = re.search(r'"wsPath": "/ws/status/([^/"]+)/"', body).group(1)
    grant = status_viewer_grant(token)
    assert (grant.tenant_id, grant.ticket_id, grant.link_id) == (
        ticket.tenant_id,
        ticket.pk,
        link_of(ticket).pk,
    )


def test_unknown_rotated_and_expired_links_get_the_same_friendly_404(client, ticket, agent):
    old = link_of(ticket).token
    for url in ("/status/not-a-token/", f"/status/{'x' * 80}/"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"no longer valid" in response.content
    new = status_link_rotate(tenant=ticket.tenant, actor=agent, ticket=ticket)
    assert client.get(f"/status/{old}/").status_code == 404
    assert client.get(f"/status/{old}/events/").status_code == 404
    assert client.get(f"/status/{new.token}/").status_code == 200
    StatusLink.objects.filter(pk=new.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(f"/status/{new.token}/").status_code == 404


def test_a_link_pointing_at_another_tenants_ticket_opens_nothing(client, tenant, other_tenant):
    theirs = make_ticket(other_tenant, subject="GLOBEX-SECRET")
    forged = StatusLink.objects.create(
        token="forged-" + "a" * 40, tenant=tenant, ticket_id=theirs.pk
    )
    for suffix in ("", "events/"):
        response = client.get(f"/status/{forged.token}/{suffix}")
        assert response.status_code == 404
        assert b"GLOBEX-SECRET" not in response.content
    response = client.post(f"/status/{forged.token}/reply/", {"body": "hi"})
    assert response.status_code == 404
    with tenant_context(other_tenant):
        assert Message.objects.filter(ticket=theirs).count() == 1


def test_polling_returns_the_public_events_after_a_cursor_and_a_fresh_token(client, ticket, agent):
    url = page_url(ticket) + "events/"
    everything = client.get(url, HTTP_ACCEPT="application/json").json()
    cursor = everything["cursor"]
    assert everything["more"] is False and everything["summary"]["stage"] == "specialist"
    assert everything["wsPath"].startswith("/ws/status/")
    assert "NOTE-SECRET" not in str(everything) and "REASON-SECRET" not in str(everything)
    services.message_create(tenant=ticket.tenant, ticket=ticket, body="Update!", author_user=agent)
    services.message_create(
        tenant=ticket.tenant, ticket=ticket, body="NOTE2", author_user=agent, is_internal=True
    )
    later = client.get(url, {"cursor": cursor}).json()
    assert [e["text"] for e in later["events"]] == ["Update!"]
    assert later["cursor"] > cursor
    assert client.get(url, {"cursor": later["cursor"]}).json()["events"] == []


@pytest.mark.parametrize("cursor", ["-1", "abc", "1.5", "9" * 30])
def test_a_bad_cursor_is_a_400_with_a_message(client, ticket, cursor):
    response = client.get(page_url(ticket) + "events/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["message"]


def test_the_customer_replies_from_the_page(client, ticket):
    response = client.post(
        page_url(ticket) + "reply/", {"body": "Thanks, any news?"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    with tenant_context(ticket.tenant):
        message = Message.objects.filter(ticket=ticket).latest("pk")
    assert message.body_text == "Thanks, any news?"
    assert message.author_customer_id == ticket.customer_id and not message.is_internal
    response = client.post(page_url(ticket) + "reply/", {"body": "Without script"})
    assert response.status_code == 302 and response["Location"].endswith("#reply")


def test_bad_replies_get_a_4xx_with_a_message(client, ticket, agent):
    url = page_url(ticket) + "reply/"
    response = client.post(url, {"body": ""}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["message"]
    response = client.post(url, {"body": "x" * 10_001}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    services.ticket_set_status(tenant=ticket.tenant, actor=agent, ticket=ticket, status="solved")
    services.ticket_set_status(tenant=ticket.tenant, actor=agent, ticket=ticket, status="closed")
    response = client.post(url, {"body": "Hello?"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "closed" in response.json()["message"]
    assert client.get(url).status_code == 405
    response = client.post(url, {"body": ""})
    assert response.status_code == 302  # without script: back to the page with the message


def test_the_page_hides_the_reply_box_of_a_closed_ticket_and_asks_for_csat(client, ticket, agent):
    services.ticket_set_status(tenant=ticket.tenant, actor=agent, ticket=ticket, status="solved")
    body = client.get(page_url(ticket)).content.decode()
    assert 'data-csat-state="ask"' in body and "/feedback/csat/" in body
    services.ticket_set_status(tenant=ticket.tenant, actor=agent, ticket=ticket, status="closed")
    body = client.get(page_url(ticket)).content.decode()
    assert re.search(r"data-reply\s+hidden", body)


# --- staff: the customer view ------------------------------------------------------------------


def view_url(ticket) -> str:
    return f"/t/acme/tickets/{ticket.number}/customer-view/"


def test_staff_see_what_the_customer_sees_read_only(client, ticket, member_factory):
    observer = member_factory(ticket.tenant, Role.OBSERVER, "observer@acme.test")
    client.force_login(observer)
    response = client.get(view_url(ticket))
    assert response.status_code == 200
    body = response.content.decode()
    assert "What the customer sees" in body and "We are on it" in body
    assert "NOTE-SECRET" not in body.split("status-preview")[1]
    assert "REASON-SECRET" not in body and 'name="body"' not in body
    assert link_of(ticket).token in body  # the link to share
    assert "status-link/rotate" not in body  # an observer cannot replace it
    rotate = f"/t/acme/tickets/{ticket.number}/status-link/rotate/"
    assert client.post(rotate).status_code == 403


def test_agents_replace_and_expire_the_link_from_the_customer_view(client, ticket, agent):
    client.force_login(agent)
    old = link_of(ticket).token
    response = client.post(f"/t/acme/tickets/{ticket.number}/status-link/rotate/")
    assert response.status_code == 302
    assert link_of(ticket).token != old
    expiry = f"/t/acme/tickets/{ticket.number}/status-link/expiry/"
    client.post(expiry, {"days": "7"})
    assert link_of(ticket).expires_at > timezone.now() + timedelta(days=6)
    response = client.post(expiry, {"days": "-3"}, follow=True)
    assert response.status_code == 200 and b"Ensure this value" in response.content
    client.post(expiry, {"days": ""})
    assert link_of(ticket).expires_at is None
    client.post(expiry, {"days": "0"})
    assert link_of(ticket) is None
    page = client.get(view_url(ticket))
    assert page.status_code == 200 and b"no working status link" in page.content


def test_the_customer_view_is_for_members_of_the_tickets_tenant_only(client, ticket, other_agent):
    assert client.get(view_url(ticket)).status_code == 302  # anonymous: to the login page
    client.force_login(other_agent)
    assert client.get(view_url(ticket)).status_code == 404
    assert client.post(f"/t/acme/tickets/{ticket.number}/status-link/rotate/").status_code == 404
    assert client.get(f"/t/globex/tickets/{ticket.number}/customer-view/").status_code == 404


def test_a_flood_of_replies_through_one_link_is_throttled(client, ticket):
    url = page_url(ticket) + "reply/"
    answers = [
        client.post(url, {"body": f"hello {n}"}, HTTP_ACCEPT="application/json").status_code
        for n in range(22)
    ]
    assert answers[:20] == [201] * 20 and answers[20:] == [429, 429]
    with tenant_context(ticket.tenant):
        assert Message.objects.filter(ticket=ticket, body_text__startswith="hello").count() == 20
