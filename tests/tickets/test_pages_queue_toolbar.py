"""The queue page's filter bar and bulk actions come from a cache: each session still gets a
CSRF token that works, a new member is offered at once, the filters shown are the request's,
and nothing is reused across tenants or people."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
QUEUE = "/t/acme/queue/"


def bulk_form_of(html: str) -> str:
    start = html.index('id="bulk-form"')
    return html[start : html.index("</form>", start)]


def assignee_filter_of(html: str) -> str:
    start = html.index('id="queue-assignee"')
    return html[start : html.index("</select>", start)]


def test_each_session_posts_the_bulk_form_with_its_own_token(tenant, agent):
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject="Hi", body="Hello")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    for client in (first, second):
        client.force_login(agent)
    first.get(QUEUE)  # fills the cache with the first session's rendering
    form = bulk_form_of(second.get(QUEUE).content.decode())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    response = second.post(
        "/t/acme/queue/bulk/",
        {"csrfmiddlewaretoken": token, "tickets": [ticket.number], "action": "close"},
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        assert Ticket.objects.for_tenant(tenant).get(pk=ticket.pk).status == "closed"


def test_a_new_member_is_offered_on_the_next_page(client, tenant, agent, member_factory):
    client.force_login(agent)
    assert "Mulder" not in assignee_filter_of(client.get(QUEUE).content.decode())
    newcomer = member_factory(tenant, Role.AGENT, "newcomer@acme.test")
    newcomer.full_name = "Fox Mulder"
    newcomer.save()
    html = client.get(QUEUE).content.decode()
    assert f'<option value="{newcomer.pk}">Fox Mulder</option>' in assignee_filter_of(html)
    assert "Fox Mulder" in bulk_form_of(html)


def test_the_filters_shown_are_those_of_the_request(client, agent):
    client.force_login(agent)
    assert "queue_toolbar_html" not in client.get(QUEUE).content.decode()  # no comment shown
    checked = '<input type="checkbox" name="priority" value="urgent" checked>'
    assert checked in client.get(QUEUE, {"priority": "urgent"}).content.decode()
    assert checked not in client.get(QUEUE).content.decode()
    assert checked in client.get(QUEUE, {"priority": "urgent"}).content.decode()


def test_no_toolbar_is_reused_across_tenants_or_people(
    client, tenant, other_tenant, agent, admin_user, member_factory
):
    stranger = member_factory(other_tenant, Role.AGENT, "stranger@globex.test")
    client.force_login(agent)
    ours = client.get(QUEUE).content.decode()
    assert f"{agent.full_name} (me)" in bulk_form_of(ours)
    client.force_login(admin_user)
    mine = bulk_form_of(client.get(QUEUE).content.decode())
    assert f"{admin_user.full_name} (me)" in mine and f"{agent.full_name} (me)" not in mine
    client.force_login(stranger)
    theirs = client.get("/t/globex/queue/").content.decode()
    assert agent.full_name not in theirs and admin_user.full_name not in theirs
    assert f"{stranger.full_name} (me)" in bulk_form_of(theirs)
