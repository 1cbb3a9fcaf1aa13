"""Scale-out: two web processes and two Celery workers against one PostgreSQL and one Redis.

All four processes share the test database and one Redis (cache, channel layer, broker) under a
key prefix of their own, as several machines would. A customer's status page is open on each
web process. A change made through web A, a change made through web B, and a change made by
whichever worker processes an inbound email must all reach both pages: the channel layer, the
"is anyone watching" marks in the cache and the broker are shared, not per process.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from rest_framework.authtoken.models import Token

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import CustomerFactory
from tests.reliability.clients import email_webhook, raw_email
from tests.reliability.services import (
    WebProcess,
    WorkerProcess,
    app_env,
    database_url_for_tests,
)
from tickets import selectors_status, services
from tickets.services.status import status_viewer_token

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

WAIT = 30  # seconds for an update to arrive (a worker on a busy machine)


async def _open_page(web: WebProcess, token: str, cursor: int):
    socket = await websockets.connect(
        f"{web.ws_url}/ws/status/{token}/?cursor={cursor}", origin=web.url, open_timeout=WAIT
    )
    while json.loads(await asyncio.wait_for(socket.recv(), WAIT))["type"] != "ready":
        pass
    return socket


async def _texts_until(socket, text: str) -> list[str]:
    """Event texts of the updates the page receives, until one is ``text``."""
    seen: list[str] = []
    while text not in seen:
        message = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
        if message["type"] == "update":
            seen += [event["text"] for event in message["events"]]
    return seen


def test_events_from_either_web_process_or_any_worker_reach_pages_on_both(
    tenant, agent, admin_user, redis_up, processes
):
    customer = CustomerFactory(tenant=tenant, email="erin@customer.test")
    ticket = services.ticket_create(
        tenant=tenant, customer=customer, subject="Sync stuck", body="Nothing syncs."
    )
    with tenant_context(tenant):
        link = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk)
        cursor = selectors_status.status_latest_cursor(tenant=tenant, ticket=ticket)
    viewer = status_viewer_token(link=link)
    bearer = {"Authorization": f"Bearer {Token.objects.create(user=agent).key}"}
    _key, relay_key = api_key_create(
        tenant=tenant, actor=admin_user, name="relay", scopes=["ingest:email"]
    )

    database_url, role = database_url_for_tests()
    env = app_env(database_url=database_url, assume_role=role, redis_url=redis_up.url(0))
    web_a, web_b, _w1, _w2 = processes.ready(
        processes.start(WebProcess, env, "web-a"),
        processes.start(WebProcess, env, "web-b"),
        processes.start(WorkerProcess, env, "worker-1"),
        processes.start(WorkerProcess, env, "worker-2"),
    )
    reply_url = f"/api/v1/t/acme/tickets/{ticket.public_id}/messages/"

    async def drive() -> None:
        import requests

        pages = [await _open_page(web_a, viewer, cursor), await _open_page(web_b, viewer, cursor)]
        try:
            for web, text in ((web_a, "Replied through web A."), (web_b, "And through web B.")):
                response = await asyncio.to_thread(
                    requests.post, web.url + reply_url, json={"body": text}, headers=bearer
                )
                assert response.status_code == 201, response.text
                for page in pages:
                    assert text in await _texts_until(page, text)
            mail = raw_email(
                sender="erin@customer.test",
                subject=f"Re: Sync stuck [{ticket.reference_with(tenant.reference_prefix)}]",
                body="Still stuck after the update, sent from my phone.",
            )
            response = await asyncio.to_thread(email_webhook, web_a.url, "acme", relay_key, mail)
            assert response.status_code == 202, response.text
            for page in pages:
                seen = await _texts_until(page, "Still stuck after the update, sent from my phone.")
                assert seen
        finally:
            for page in pages:
                await page.close()

    asyncio.run(drive())
