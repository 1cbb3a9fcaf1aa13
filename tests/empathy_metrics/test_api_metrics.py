"""/api/v1/t/<slug>/metrics/ for BI tools: the dashboard's figures as JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.empathy_metrics.factories import SurveyResponseFactory
from tests.factories.tickets import TicketFactory


@pytest.fixture
def data(tenant, agent):
    now = timezone.now()
    tickets = [
        TicketFactory(
            tenant=tenant,
            assignee=agent,
            channel="chat" if i % 2 else "email",
            created_at=now - timedelta(days=i + 1),
            first_response_at=now - timedelta(days=i + 1) + timedelta(minutes=10),
        )
        for i in range(5)
    ]
    for i, ticket in enumerate(tickets[:3]):
        SurveyResponseFactory(
            tenant=tenant, ticket=ticket, agent=agent, score=[5, 3, 4][i], created_at=now
        )
    metrics_rollup_rebuild(tenant=tenant, now=now)
    return tickets


def test_the_metrics_endpoint_returns_figures_with_counts_trend_and_breakdowns(
    api_client_for, tenant, member_factory, data
):
    client = api_client_for(member_factory(tenant, Role.MANAGER, "bi@acme.test"))
    response = client.get("/api/v1/t/acme/metrics/?period=30d&bucket=week")
    assert response.status_code == 200
    body = response.json()
    assert body["period"]["days"] == 30 and body["period"]["time_zone"] == "Europe/Berlin"
    assert body["figures"]["tickets"] == 5
    assert body["figures"]["csat"]["count"] == 3
    assert body["figures"]["csat"]["value"] == pytest.approx(200 / 3)
    assert body["previous_figures"]["tickets"] == 0
    assert len(body["trend"]["starts"]) == len(body["trend"]["csat"])
    assert {row["value"] for row in body["breakdowns"]["channel"]} == {"chat", "email"}
    assert "csat" in body["definitions"]
    assert body["units"]["durations"] == "business minutes"
    filtered = client.get("/api/v1/t/acme/metrics/?period=30d&channel=chat").json()
    assert filtered["figures"]["tickets"] == 2


def test_the_ticket_rows_endpoint_is_paginated(api_client_for, tenant, member_factory, data):
    client = api_client_for(member_factory(tenant, Role.MANAGER, "bi@acme.test"))
    response = client.get("/api/v1/t/acme/metrics/tickets/?period=30d&page_size=2")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 2 and body["next"]
    row = body["results"][0]
    assert row["reference"].startswith("ACME-")
    assert row["first_response_business_minutes"] is not None
    assert set(row) >= {"channel", "group", "agent", "escalated", "csat", "sentiment"}
    following = client.get(body["next"]).json()
    assert len(following["results"]) == 2


def test_bad_parameters_are_a_400_with_a_message(api_client_for, tenant, member_factory, data):
    client = api_client_for(member_factory(tenant, Role.MANAGER, "bi@acme.test"))
    response = client.get("/api/v1/t/acme/metrics/?period=custom&from=2026-02-01&to=2026-01-01")
    assert response.status_code == 400
    assert "ends before it starts" in response.json()["message"]
    assert client.get("/api/v1/t/acme/metrics/tickets/?group=x").status_code == 400


def test_who_may_read_the_metrics(api_client_for, tenant, agent, other_admin, admin_user, data):
    assert api_client_for(agent).get("/api/v1/t/acme/metrics/").status_code == 403
    assert api_client_for(other_admin).get("/api/v1/t/acme/metrics/").status_code == 404
    assert api_client_for(None).get("/api/v1/t/acme/metrics/").status_code in (401, 403)
    assert api_client_for(admin_user).get("/api/v1/t/acme/metrics/").status_code == 200
    # Tenant API keys: the "read" scope does not include the dashboards (policy.py).
    _key, raw = api_key_create(tenant=tenant, actor=admin_user, name="bi", scopes=["read"])
    client = api_client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/t/acme/metrics/").status_code == 403
