"""Rate limits on the public endpoints: 429 with a clear message, counted per caller and tenant.

The help form and the status page's reply box have their own tests (tests/tickets/
test_pages_help.py, test_status_pages.py); here: the status page itself, event ingestion and the
inbound email webhook.
"""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import TicketFactory
from tests.fixtures.email.build_corpus import load
from tickets.models import InboundEmail
from tickets.services.status import status_link_ensure
from tickets.views import status as status_views


def ingest_key(tenant, admin, scope: str) -> str:
    return api_key_create(tenant=tenant, actor=admin, name=scope, scopes=[scope])[1]


def post_events(client, key: str, slug: str = "acme", n: int = 1):
    events = [{"id": f"e{i}", "name": "Signed up", "customer_id": f"c{i}"} for i in range(n)]
    return client.post(
        f"/api/v1/t/{slug}/events/",
        {"events": events},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )


def test_event_ingestion_answers_429_past_the_rate_per_key(
    client, settings, tenant, admin_user, other_tenant, other_admin
):
    settings.HELPDESK_API_RATES = {**settings.HELPDESK_API_RATES, "events": "3/minute"}
    key = ingest_key(tenant, admin_user, "ingest:events")
    assert [post_events(client, key).status_code for _ in range(3)] == [200, 200, 200]
    refused = post_events(client, key)
    assert refused.status_code == 429
    assert "throttled" in refused.json()["message"]
    assert int(refused["Retry-After"]) > 0
    assert refused["Access-Control-Allow-Origin"] == "*"  # the browser snippet can read it
    # Another key, and another tenant's key, have their own allowance.
    assert post_events(client, ingest_key(tenant, admin_user, "ingest:events")).status_code == 200
    other = ingest_key(other_tenant, other_admin, "ingest:events")
    assert post_events(client, other, slug="globex").status_code == 200


def test_the_email_webhook_answers_429_past_the_rate_and_stores_nothing_more(
    client, settings, tenant, admin_user, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HELPDESK_API_RATES = {**settings.HELPDESK_API_RATES, "email_inbound": "2/minute"}
    key = ingest_key(tenant, admin_user, "ingest:email")

    def post(raw: bytes):
        return client.generic(
            "POST",
            "/api/v1/t/acme/email/inbound/",
            raw,
            content_type="message/rfc822",
            HTTP_AUTHORIZATION=f"Api-Key {key}",
        )

    assert post(load("plain_new")).status_code == 202
    assert post(load("plain_new")).status_code == 200  # the duplicate counts too
    refused = post(load("gmail_reply"))
    assert refused.status_code == 429
    assert "throttled" in refused.json()["message"]
    with tenant_context(tenant):
        assert InboundEmail.objects.for_tenant(tenant).count() == 1


def test_the_default_rates_leave_room_for_the_ingestion_benchmark(settings):
    # benchmarks/journeys_ingest.sh posts 20-40 batches a second with one key.
    count, _, period = settings.HELPDESK_API_RATES["events"].partition("/")
    assert period.startswith("min") and int(count) >= 40 * 60


@pytest.fixture
def status_token(tenant):
    ticket = TicketFactory(tenant=tenant)
    return status_link_ensure(tenant=tenant, ticket=ticket).token


def test_guessing_status_tokens_is_stopped_with_429(client, monkeypatch, status_token):
    monkeypatch.setattr(status_views, "MISSES_PER_WINDOW", 5)
    answers = [client.get(f"/status/guess-{i}/").status_code for i in range(6)]
    assert answers == [404] * 5 + [429]
    # Even the right token is refused from that address for the window.
    blocked = client.get(f"/status/{status_token}/")
    assert blocked.status_code == 429
    assert "Too many requests" in blocked.content.decode()
    assert int(blocked["Retry-After"]) >= 60
    polled = client.get(f"/status/{status_token}/events/", HTTP_ACCEPT="application/json")
    assert polled.status_code == 429 and "Too many requests" in polled.json()["message"]
    # Another address is not affected.
    assert client.get(f"/status/{status_token}/", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_a_status_page_viewer_has_a_per_minute_allowance(client, monkeypatch, status_token):
    monkeypatch.setattr(status_views, "LOOKUPS_PER_MINUTE", 4)
    answers = [client.get(f"/status/{status_token}/").status_code for _ in range(5)]
    assert answers == [200] * 4 + [429]


def test_session_callers_of_the_ingestion_api_are_limited_per_person(
    client, settings, tenant, member_factory
):
    settings.HELPDESK_API_RATES = {**settings.HELPDESK_API_RATES, "events": "2/minute"}
    manager = member_factory(tenant, Role.MANAGER, "manager@acme.test")
    assert Membership.objects.filter(user=manager).exists()
    client.force_login(manager)
    answers = [client.get("/api/v1/t/acme/events/").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
