"""An agent's own metrics page: their CSAT, response times and comments; nobody else's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import SurveyResponseFactory
from tests.factories.tickets import TicketFactory


@pytest.fixture
def two_agents(tenant, agent, member_factory):
    colleague = member_factory(tenant, Role.AGENT, "colleague@acme.test")
    now = timezone.now()
    mine = TicketFactory(
        tenant=tenant,
        assignee=agent,
        created_at=now - timedelta(days=3),
        first_response_at=now - timedelta(days=3) + timedelta(minutes=30),
    )
    theirs = TicketFactory(tenant=tenant, assignee=colleague, created_at=now - timedelta(days=3))
    SurveyResponseFactory(
        tenant=tenant,
        ticket=mine,
        agent=agent,
        score=5,
        comment="Agent was wonderful",
        created_at=now - timedelta(days=1),
    )
    SurveyResponseFactory(
        tenant=tenant,
        ticket=theirs,
        agent=colleague,
        score=1,
        comment="Colleague was rude",
        created_at=now - timedelta(days=1),
    )
    metrics_rollup_rebuild(tenant=tenant, now=now)
    return {"colleague": colleague}


def test_an_agent_sees_their_own_csat_times_and_comments(client, agent, two_agents):
    client.force_login(agent)
    response = client.get("/t/acme/me/metrics/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "My metrics" in html
    assert "Agent was wonderful" in html
    assert "Colleague was rude" not in html
    cards = {card["key"]: card for card in response.context["data"]["cards"]}
    assert cards["csat"]["value"] == 100.0
    assert cards["tickets"]["value"] == 1
    assert response.context["data"]["trend"]["nps"] == [None] * len(
        response.context["data"]["trend"]["labels"]
    )


def test_agents_cannot_open_another_agents_page(client, agent, two_agents):
    client.force_login(agent)
    colleague = two_agents["colleague"]
    assert client.get(f"/t/acme/me/metrics/?agent={colleague.pk}").status_code == 403
    assert client.get(f"/t/acme/me/metrics/export.csv?agent={colleague.pk}").status_code == 403
    assert client.get(f"/t/acme/me/metrics/?agent={agent.pk}").status_code == 200


def test_managers_can_open_any_members_page_but_not_outsiders(
    client, tenant, member_factory, agent, two_agents, other_agent
):
    manager = member_factory(tenant, Role.MANAGER, "boss@acme.test")
    client.force_login(manager)
    response = client.get(f"/t/acme/me/metrics/?agent={two_agents['colleague'].pk}")
    assert response.status_code == 200
    assert "Colleague was rude" in response.content.decode()
    assert "Agent was wonderful" not in response.content.decode()
    assert client.get(f"/t/acme/me/metrics/?agent={other_agent.pk}").status_code == 404
    assert client.get("/t/acme/me/metrics/?agent=abc").status_code == 404


def test_observers_have_no_metrics_page_of_their_own(client, tenant, member_factory, two_agents):
    client.force_login(member_factory(tenant, Role.OBSERVER, "watcher@acme.test"))
    assert client.get("/t/acme/me/metrics/").status_code == 403


def test_the_comments_export(client, agent, two_agents):
    client.force_login(agent)
    response = client.get("/t/acme/me/metrics/export.csv?table=comments")
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert "Agent was wonderful" in body and "Colleague was rude" not in body
    cards = client.get("/t/acme/me/metrics/export.csv?table=cards")
    assert b"CSAT" in b"".join(cards.streaming_content)
    assert client.get("/t/acme/me/metrics/export.csv?table=salaries").status_code == 400
    assert client.get("/t/acme/me/metrics/?period=nonsense").status_code == 400
