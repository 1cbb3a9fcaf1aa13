"""The ingestion API (tenant API keys, batches, per-event errors, CORS) and the funnel API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from journeys.models import JourneyEvent

URL = "/api/v1/t/acme/events/"


@pytest.fixture
def key(tenant, admin_user):
    _key, raw = api_key_create(
        tenant=tenant, actor=admin_user, name="site", scopes=["ingest:events"]
    )
    return raw


def keyed(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def events(n, start=0, name="Cart viewed", when=None):
    return [
        {
            "id": f"evt-{i}",
            "name": name,
            "customer_id": f"u-{i % 50}",
            **({"timestamp": when.isoformat()} if when else {}),
        }
        for i in range(start, start + n)
    ]


def test_a_key_with_the_ingest_scope_posts_a_batch_idempotently(tenant, key, purchase):
    client = keyed(key)
    response = client.post(URL, {"events": events(3)}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "message": "OK",
        "accepted": 3,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    again = client.post(URL, events(3), format="json")  # a bare list works too
    assert again.json()["duplicates"] == 3 and again.json()["accepted"] == 0


def test_per_event_errors_are_listed_and_the_good_events_stored(tenant, key, purchase):
    batch = [*events(2), {"id": "bad-1", "name": "", "customer_id": "u-1"}, {"name": "x"}]
    response = keyed(key).post(URL, {"events": batch}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert body["message"] == "2 of 4 events were refused (see errors)."
    assert body["errors"] == [
        {"index": 2, "id": "bad-1", "message": "name must not be empty."},
        {
            "index": 3,
            "id": None,
            "message": "Give customer_id (your id for the customer) or email.",
        },
    ]


def test_a_batch_where_every_event_is_bad_is_a_400_with_the_reasons(key, purchase):
    response = keyed(key).post(URL, {"events": [{"name": "x"}, 7]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 0 and body["rejected"] == 2
    assert body["message"].startswith("No event was stored")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("{not json", "application/json", "JSON parse error"),
        (json.dumps({"events": []}), "application/json", "The batch has no events."),
        (json.dumps({"events": events(1001)}), "application/json", "At most 1,000 events"),
        (json.dumps({"events": "x"}), "application/json", "Send a JSON object"),
        ("events=1", "application/x-www-form-urlencoded", "Send a JSON object"),
    ],
)
def test_unusable_requests_are_400_with_a_message(key, body, content_type, message):
    response = keyed(key).post(URL, body, content_type=content_type)
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_a_body_over_5_mb_is_refused(key):
    response = keyed(key).post(
        URL, "[]", content_type="application/json", CONTENT_LENGTH=str(6 * 1024 * 1024)
    )
    assert response.status_code == 413


def test_who_may_post_events(client, tenant, admin_user, agent, member_factory, purchase):
    assert APIClient().post(URL, events(1), format="json").status_code == 401
    _k, read_key = api_key_create(tenant=tenant, actor=admin_user, name="r", scopes=["read"])
    assert keyed(read_key).post(URL, events(1), format="json").status_code == 403
    session = APIClient()
    session.force_login(agent)
    assert session.post(URL, events(1), format="json").status_code == 403
    manager = member_factory(tenant, Role.MANAGER, "m@acme.test")
    session.force_login(manager)
    assert session.post(URL, events(1), format="json").status_code == 403
    session.force_login(admin_user)
    assert session.post(URL, events(1), format="json").status_code == 200
    # Managers read the latest events; the ingest key does not.
    session.force_login(manager)
    listing = session.get(URL)
    assert listing.status_code == 200
    assert listing.json()["results"][0]["name"] == "Cart viewed"
    _k, ingest_key = api_key_create(
        tenant=tenant, actor=admin_user, name="i", scopes=["ingest:events"]
    )
    assert keyed(ingest_key).get(URL).status_code == 403


def test_browsers_may_call_it_from_the_tenants_site(key, purchase):
    preflight = APIClient().options(
        URL, HTTP_ORIGIN="https://shop.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    response = keyed(key).post(URL, events(1), format="json", HTTP_ORIGIN="https://shop.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response


def test_a_batch_costs_the_same_few_queries_whatever_its_size(tenant, key, purchase, now):
    client = keyed(key)
    client.post(URL, events(50, when=now - timedelta(hours=1)), format="json")  # customers exist

    def count(batch):
        with CaptureQueriesContext(connection) as queries:
            assert client.post(URL, batch, format="json").status_code == 200
        return len(queries)

    small = count(events(10, start=1000, name="Checkout started", when=now - timedelta(minutes=30)))
    large = count(events(500, start=2000, name="Checkout started", when=now))
    assert large == small
    assert large <= 24  # on PostgreSQL 6 of them set the tenant for row-level security


def test_the_journeys_and_funnel_api(tenant, manager_client, purchase, ingest, now):
    ingest([("u1", "Cart viewed", now - timedelta(days=2)), ("u1", "Order confirmed", now)])
    journeys = manager_client.get("/api/v1/t/acme/journeys/").json()
    assert journeys[0]["name"] == "Purchase"
    assert [s["name"] for s in journeys[0]["stages"]][-1] == "Confirmation"
    url = f"/api/v1/t/acme/journeys/{purchase.public_id}/funnel/"
    body = manager_client.get(url, {"days": 7, "by": "company"}).json()
    assert body["entered"] == 1 and body["completed"] == 1
    assert [s["reached"] for s in body["stages"]] == [1, 1, 1, 1]
    assert body["stages"][1]["skipped"] == 1
    assert "voice" in body["stages"][0] and body["insights"] == []
    assert body["stages"][0]["voice"]["survey_comments_scored"] == 0
    assert body["breakdown"]["segments"][0]["reached"] == [1, 1, 1, 1]
    bad = manager_client.get(url, {"days": 5})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.json()["message"]
    assert manager_client.get(url, {"start": "2025-03-02", "end": "2025-03-01"}).status_code == 400


@pytest.fixture
def manager_client(tenant, member_factory):
    client = APIClient()
    client.force_login(member_factory(tenant, Role.MANAGER, "m2@acme.test"))
    return client


def test_events_land_in_the_keys_tenant_only(tenant, other_tenant, key, other_admin):
    _k, other_key = api_key_create(
        tenant=other_tenant, actor=other_admin, name="x", scopes=["ingest:events"]
    )
    # A's key under B's URL is unknown there, and B's key under A's URL too.
    assert keyed(key).post("/api/v1/t/globex/events/", events(1), format="json").status_code == 401
    assert keyed(other_key).post(URL, events(1), format="json").status_code == 401
    assert (
        keyed(other_key).post("/api/v1/t/globex/events/", events(2), format="json").status_code
        == 200
    )
    with tenant_context(tenant):
        assert JourneyEvent.objects.for_tenant(tenant).count() == 0
    with tenant_context(other_tenant):
        assert JourneyEvent.objects.for_tenant(other_tenant).count() == 2
