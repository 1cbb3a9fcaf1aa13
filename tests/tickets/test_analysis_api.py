"""The correction endpoint of the API: read the analysis, post a correction; permissions,
bad input and isolation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import MessageFactory, analysed_ticket
from tickets import services
from tickets.models import AnalysisCorrection, Ticket


@pytest.fixture
def message(tenant):
    _ticket, message = analysed_ticket(tenant, "Please help asap, it does not work!")
    return message


def url(message, slug="acme"):
    return f"/api/v1/t/{slug}/messages/{message.public_id}/correction/"


def test_read_the_analysis_then_correct_it(api_client_for, agent, message):
    client = api_client_for(agent)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url(message)).json()
    assert len(queries) <= 12
    assert body["state"] == "done" and body["sentiment_label"] == "negative"
    assert body["signals"]["urgency"]["score"] >= 0.5 and body["corrections"] == {}
    response = client.post(url(message), {"field": "urgency", "value": "absent"}, format="json")
    assert response.status_code == 200
    correction = response.json()["corrections"]["urgency"]
    assert (correction["predicted"], correction["corrected"]) == ("present", "absent")
    assert correction["by"] == "agent@acme.test"
    assert response.json()["signals"]["urgency"]["score"] >= 0.5  # the prediction stays
    undo = client.post(url(message), {"field": "urgency", "value": "present"}, format="json")
    assert undo.json()["corrections"] == {}


@pytest.mark.parametrize(
    "data",
    [{"field": "sentiment", "value": "furious"}, {"field": "mood", "value": "negative"}, {}],
)
def test_bad_input_is_a_400_with_a_message(api_client_for, agent, message, data):
    response = api_client_for(agent).post(url(message), data, format="json")
    assert response.status_code == 400
    assert response.json()


def test_roles_and_api_keys(api_client_for, tenant, member_factory, message):
    observer = member_factory(tenant, Role.OBSERVER, "olive@acme.test")
    client = api_client_for(observer)
    assert client.get(url(message)).status_code == 200
    assert (
        client.post(url(message), {"field": "sentiment", "value": "neutral"}, format="json")
    ).status_code == 403
    _key, raw = api_key_create(tenant=tenant, actor=None, name="int", scopes=["write"])
    integration = api_client_for()
    integration.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    refused = integration.post(
        url(message), {"field": "sentiment", "value": "neutral"}, format="json"
    )
    assert refused.status_code == 400
    with tenant_context(tenant):
        assert not AnalysisCorrection.objects.for_tenant(tenant).exists()


def test_another_tenants_message_is_not_found(api_client_for, agent, tenant, other_tenant, message):
    foreign = MessageFactory(tenant=other_tenant, body_text="SECRET of globex")
    client = api_client_for(agent)
    for response in (
        client.get(url(foreign)),
        client.post(url(foreign), {"field": "sentiment", "value": "neutral"}, format="json"),
        client.get(url(message, slug="globex")),
    ):
        assert response.status_code == 404
        assert b"SECRET" not in response.content
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).get(pk=message.ticket_id)
    staff = services.message_create(tenant=tenant, ticket=ticket, body="Reply", author_user=agent)
    assert client.get(url(staff)).status_code == 404  # only customer messages are analysed
