"""Drill: duplicate deliveries arriving at the same moment on two web processes.

Senders retry: a mail relay posts the same message again when our answer was lost, a site's
tracking snippet sends a batch again after a timeout. The retries can land on different web
processes at the same instant. Two real web processes (uvicorn) share the test database and a
private Redis; eight identical deliveries are released together across both. Each message and
each event must be stored exactly once, every delivery must be answered 2xx (no 500 from a lost
race), and exactly one answer may say "new".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.services import api_key_create
from journeys.models import JourneyEvent
from tests.factories.journeys import PURCHASE, journey_make
from tests.reliability.clients import email_webhook, events_batch, raw_email
from tests.reliability.services import WebProcess, app_env, database_url_for_tests
from tickets.models import InboundEmail

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

COPIES = 8


def _together(bases: list[str], send) -> list:
    """``COPIES`` calls of ``send(base)``, alternating between the web processes, released at
    the same moment."""
    barrier = threading.Barrier(COPIES)

    def one(i: int):
        barrier.wait(timeout=30)
        return send(bases[i % len(bases)])

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(one, range(COPIES)))


@pytest.fixture
def two_webs(redis_up, processes):
    database_url, role = database_url_for_tests()
    env = app_env(database_url=database_url, assume_role=role, redis_url=redis_up.url(0))
    webs = processes.ready(
        processes.start(WebProcess, env, "web-a"), processes.start(WebProcess, env, "web-b")
    )
    return [web.url for web in webs]


def test_the_same_email_delivered_eight_times_at_once_is_stored_once(tenant, admin_user, two_webs):
    _key, key = api_key_create(
        tenant=tenant, actor=admin_user, name="relay", scopes=["ingest:email"]
    )
    raw = raw_email(
        sender="dana@customer.test",
        subject="Double charged",
        body="My card was charged twice for the March invoice.",
        message_id="<retry-1@mail.customer.test>",
    )
    answers = _together(two_webs, lambda base: email_webhook(base, "acme", key, raw))
    assert sorted(a.status_code for a in answers) == [200] * (COPIES - 1) + [202], [
        (a.status_code, a.text[:200]) for a in answers
    ]
    assert [a.json()["duplicate"] for a in answers].count(False) == 1
    with tenant_context(tenant):
        rows = list(InboundEmail.objects.for_tenant(tenant))
    assert [row.rfc_message_id for row in rows] == ["<retry-1@mail.customer.test>"]
    assert {a.json()["id"] for a in answers} == {rows[0].pk}


def test_the_same_event_batch_delivered_eight_times_at_once_is_stored_once(
    tenant, admin_user, two_webs
):
    journey_make(tenant, "Purchase", PURCHASE)
    _key, key = api_key_create(
        tenant=tenant, actor=admin_user, name="site", scopes=["ingest:events"]
    )
    names = [name for _stage, stage_names in PURCHASE for name in stage_names]
    batch = [
        {"id": f"evt-{i}", "name": names[i % len(names)], "customer_id": f"u-{i % 7}"}
        for i in range(40)
    ]
    answers = _together(two_webs, lambda base: events_batch(base, "acme", key, batch))
    assert [a.status_code for a in answers] == [200] * COPIES, [a.text[:300] for a in answers]
    bodies = [a.json() for a in answers]
    assert sum(b["accepted"] for b in bodies) == 40
    assert sum(b["duplicates"] for b in bodies) == 40 * (COPIES - 1)
    assert all(b["rejected"] == 0 for b in bodies)
    with tenant_context(tenant):
        stored = list(JourneyEvent.objects.for_tenant(tenant).values_list("event_id", flat=True))
    assert sorted(stored) == sorted(e["id"] for e in batch)
