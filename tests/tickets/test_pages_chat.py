"""The agents' live chat page: the list of chats (this tenant's only), the embed code, and the
admins' "offer email after" setting."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tickets.models import IntakeSettings
from tickets.services.chat import (
    chat_agent_message,
    chat_convert_to_email,
    chat_end,
    chat_start,
)

pytestmark = pytest.mark.django_db


def url(name, slug="acme"):
    return reverse(f"tickets:{name}", kwargs={"tenant_slug": slug})


@pytest.fixture
def chats(tenant, other_tenant, agent):
    waiting = chat_start(
        tenant=tenant, body="Waiting here", client_id="c-wait01", name="Visitor-WAITING"
    )
    active = chat_start(
        tenant=tenant, body="Talking now", client_id="c-act001", name="Visitor-ACTIVE"
    )
    chat_agent_message(
        tenant=tenant, session=active.session, agent=agent, body="Hi", client_id="a-act001"
    )
    ended = chat_start(tenant=tenant, body="All done", client_id="c-end001", name="Visitor-ENDED")
    chat_end(tenant=tenant, session=ended.session)
    chat_start(tenant=other_tenant, body="GLOBEX-ONLY", client_id="c-glob01", name="GLOBEX-ONLY")
    return {"waiting": waiting, "active": active, "ended": ended}


def test_the_page_lists_this_tenants_chats_by_state(client, tenant, agent, chats):
    client.force_login(agent)
    body = client.get(url("chat")).content.decode()
    waiting_part, rest = body.split('id="chats-active"', 1)
    assert "Visitor-WAITING" in waiting_part and "Visitor-ACTIVE" not in waiting_part
    active_part, recent_part = rest.split('id="chats-recent"', 1)
    assert "Visitor-ACTIVE" in active_part and "Visitor-ENDED" in recent_part
    assert "GLOBEX-ONLY" not in body
    assert 'data-tenant="acme"' in body and "chat_widget.js" in body  # the embed code
    partial = client.get(url("chat-list")).content.decode()
    assert "Visitor-WAITING" in partial and "GLOBEX-ONLY" not in partial
    assert "<html" not in partial


def test_other_tenants_chat_page_is_404(client, tenant, agent, other_tenant, chats):
    client.force_login(agent)
    assert client.get(url("chat", slug="globex")).status_code == 404
    assert client.get(url("chat-list", slug="globex")).status_code == 404


def test_an_admin_sets_how_long_a_chat_waits(client, tenant, admin_user):
    client.force_login(admin_user)
    page = client.get(url("chat")).content.decode()
    assert "Offer email after" in page
    response = client.post(url("chat-settings"), {"chat_wait_seconds": "45"}, follow=True)
    assert response.status_code == 200 and b"wait 45 seconds" in response.content
    with tenant_context(tenant):
        assert IntakeSettings.objects.get().chat_wait_seconds == 45
    bad = client.post(url("chat-settings"), {"chat_wait_seconds": "1"}, follow=True)
    assert bad.status_code == 200
    with tenant_context(tenant):
        assert IntakeSettings.objects.get().chat_wait_seconds == 45


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
def test_only_settings_managers_change_the_wait(client, tenant, member_factory, role):
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    assert "Offer email after" not in client.get(url("chat")).content.decode()
    assert client.post(url("chat-settings"), {"chat_wait_seconds": "30"}).status_code == 403
    with tenant_context(tenant):
        assert not IntakeSettings.objects.exists()


def test_the_ticket_timeline_names_what_happened_in_the_chat(client, tenant, agent, chats):
    agent.full_name = "Dana Scully"
    agent.save(update_fields=["full_name"])
    chat_end(tenant=tenant, session=chats["active"].session, actor=agent)
    converted = chat_start(tenant=tenant, body="Anyone?", client_id="c-conv01", name="Ada")
    chat_convert_to_email(tenant=tenant, session=converted.session, email="ada@example.com")
    client.force_login(agent)

    active = client.get(ticket_url(chats["active"])).content.decode()
    assert "<strong>Dana Scully</strong> answered the live chat" in active
    assert "<strong>Dana Scully</strong> ended the live chat" in active
    ended = client.get(ticket_url(chats["ended"])).content.decode()
    assert "<strong>Visitor-ENDED</strong> ended the live chat" in ended
    page = client.get(ticket_url(converted)).content.decode()
    assert "Live chat became an email ticket" in page and "ada@example.com" in page
    for body in (active, ended, page):
        assert "<strong>chat." not in body  # no raw event kinds


def ticket_url(started) -> str:
    return f"/t/acme/tickets/{started.session.ticket.number}/"
