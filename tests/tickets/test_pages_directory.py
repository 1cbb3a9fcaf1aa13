"""The workspace pages' directory (members, groups, tags, field definitions, macros) is kept in
memory between requests: every change shows on the next page, and nothing crosses tenants."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory, GroupFactory, TagFactory
from tickets import services
from tickets.models import CustomFieldDefinition, Group
from tickets.services.assignment import member_set_away
from tickets.services.macros import macro_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def queue_html(client) -> str:
    response = client.get("/t/acme/queue/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_shows_groups_tags_and_members_added_after_it_was_read(
    agent_client, tenant, member_factory
):
    first = queue_html(agent_client)
    assert "Billing desk" not in first and "vip-customer" not in first
    GroupFactory(tenant=tenant, name="Billing desk")
    TagFactory(tenant=tenant, name="vip-customer")
    newcomer = member_factory(tenant, Role.AGENT, "newcomer@acme.test")
    newcomer.full_name = "Nora Newcomer"
    newcomer.save()
    page = queue_html(agent_client)
    assert "Billing desk" in page and "vip-customer" in page and "Nora Newcomer" in page
    # A rename of the group, and of the person, show on the next page as well.
    with tenant_context(tenant):
        group = Group.objects.get(name="Billing desk")
        group.name = "Payments desk"
        group.save()
    newcomer.full_name = "Nadia Newcomer"
    newcomer.save()
    page = queue_html(agent_client)
    assert "Payments desk" in page and "Billing desk" not in page
    assert "Nadia Newcomer" in page and "Nora Newcomer" not in page


def test_a_warm_directory_costs_no_query(agent_client, tenant):
    GroupFactory(tenant=tenant, name="Billing desk")
    queue_html(agent_client)
    with CaptureQueriesContext(connection) as queries:
        queue_html(agent_client)
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "tickets_group" not in read and "tickets_tag" not in read


def test_the_ticket_page_shows_new_fields_macros_and_away_members(
    agent_client, tenant, agent, admin_user
):
    ticket = services.ticket_create(
        tenant=tenant, customer=CustomerFactory(tenant=tenant), subject="Hi", body="Help"
    )
    path = f"/t/acme/tickets/{ticket.number}/"
    assert "Order number" not in agent_client.get(path).content.decode()
    with tenant_context(tenant):
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="order_number", label="Order number", kind="text"
        )
    macro_save(tenant=tenant, actor=admin_user, name="Refund on its way", body="It is.")
    page = agent_client.get(path).content.decode()
    assert "Order number" in page and "Refund on its way" in page
    assert admin_user.get_full_name() in page
    member_set_away(tenant=tenant, actor=admin_user, user=admin_user, is_away=True)
    away = agent_client.get(path).context["members"]
    assert [m.is_away for m in away if m.user_id == admin_user.pk] == [True]


def test_no_tenant_sees_another_tenants_directory(agent_client, tenant, other_tenant, other_agent):
    GroupFactory(tenant=tenant, name="Acme escalations")
    GroupFactory(tenant=other_tenant, name="Globex secret desk")
    TagFactory(tenant=other_tenant, name="globex-only-tag")
    ours = queue_html(agent_client)
    other_client = Client()
    other_client.force_login(other_agent)
    theirs = queue_html_of(other_client, "globex")
    assert "Acme escalations" in ours and "Globex secret desk" not in ours
    assert "globex-only-tag" not in ours
    assert "Globex secret desk" in theirs and "globex-only-tag" in theirs
    assert "Acme escalations" not in theirs


def queue_html_of(client, slug: str) -> str:
    response = client.get(f"/t/{slug}/queue/")
    assert response.status_code == 200
    return response.content.decode()
