"""The customer's status page socket (``/ws/status/<viewer token>/``), through the real ASGI
application (``helpdesk.asgi``): public changes arrive, internal ones never do; a token opens one
ticket only and cannot subscribe to anything else; invalid, expired, foreign and rotated tokens
are refused; a reconnect catches up exactly what was missed. With REDIS_URL set these run on the
Redis channel layer (production's); the last test goes through a real uvicorn server with a real
``websockets`` client.
"""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core import signing

from helpdesk.asgi import application
from helpdesk.tenancy.context import tenant_context
from tests.browser.conftest import asgi_server  # noqa: F401 - the live server fixture
from tests.factories.tickets import CustomerFactory
from tests.realtime.test_ws_tenancy import ORIGIN
from tickets import selectors_status, services
from tickets.services.status import (
    VIEWER_SALT,
    status_link_rotate,
    status_viewer_token,
)

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def make_ticket(tenant, subject="Charged twice"):
    customer = CustomerFactory(tenant=tenant)
    return services.ticket_create(tenant=tenant, customer=customer, subject=subject, body="Help")


@database_sync_to_async
def viewer_token(ticket) -> str:
    link = selectors_status.status_link_active_for(tenant=ticket.tenant, ticket_id=ticket.pk)
    return status_viewer_token(link=link)


@database_sync_to_async
def latest_cursor(ticket) -> int:
    with tenant_context(ticket.tenant):
        return selectors_status.status_latest_cursor(tenant=ticket.tenant, ticket=ticket)


@database_sync_to_async
def set_status(ticket, status, actor=None):
    services.ticket_set_status(tenant=ticket.tenant, actor=actor, ticket=ticket, status=status)


@database_sync_to_async
def reply(ticket, user, body, internal=False):
    services.message_create(
        tenant=ticket.tenant, ticket=ticket, body=body, author_user=user, is_internal=internal
    )


@database_sync_to_async
def rotate(ticket, actor):
    return status_link_rotate(tenant=ticket.tenant, actor=actor, ticket=ticket)


async def open_page(token: str, cursor: int | None = None):
    path = f"/ws/status/{token}/" + (f"?cursor={cursor}" if cursor is not None else "")
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _code = await communicator.connect(timeout=5)
    return communicator, connected


async def until(page, predicate, limit=20):
    for _ in range(limit):
        message = await page.receive_json_from(timeout=5)
        if predicate(message):
            return message
    raise AssertionError("expected message never came")


async def ready_page(ticket):
    page, ok = await open_page(await viewer_token(ticket), await latest_cursor(ticket))
    assert ok
    ready = await until(page, lambda m: m["type"] == "ready")
    return page, ready


async def test_a_status_change_reaches_a_connected_page(tenant, agent):
    ticket = await make_ticket(tenant)
    page, ready = await ready_page(ticket)
    assert ready["summary"]["stage"] == "received"
    await set_status(ticket, "pending", actor=agent)
    update = await until(page, lambda m: m["type"] == "update")
    assert [e["text"] for e in update["events"]] == ["We are waiting for your reply."]
    assert update["summary"]["stage"] == "waiting"
    assert update["summary"]["headline"] == "We are waiting for your reply."
    await page.disconnect()


async def test_an_internal_note_never_reaches_the_page_but_a_public_reply_does(tenant, agent):
    ticket = await make_ticket(tenant)
    page, _ = await ready_page(ticket)
    await reply(ticket, agent, "NOTE-SECRET", internal=True)
    assert await page.receive_nothing(timeout=1)
    await reply(ticket, agent, "We are on it")
    update = await until(page, lambda m: m["type"] == "update")
    assert [e["kind"] for e in update["events"]] == ["message", "update"]  # reply + now open
    assert update["events"][0]["text"] == "We are on it" and not update["events"][0]["mine"]
    assert "NOTE-SECRET" not in json.dumps(update)
    assert update["summary"]["stage"] == "in_progress"
    await page.disconnect()


async def test_a_token_for_ticket_a_gets_nothing_of_ticket_b_and_cannot_subscribe(
    tenant, other_tenant, agent, other_agent
):
    a = await make_ticket(tenant)
    b = await make_ticket(tenant, subject="Another customer's")
    foreign = await make_ticket(other_tenant, subject="Globex")
    page, _ = await ready_page(a)
    await set_status(b, "pending", actor=agent)
    await set_status(foreign, "pending", actor=other_agent)
    assert await page.receive_nothing(timeout=1)
    await page.send_json_to({"action": "subscribe", "ticket": b.pk, "token": "x"})
    error = await page.receive_json_from(timeout=5)
    assert error == {"type": "error", "message": "This connection is receive-only."}
    await set_status(b, "open", actor=agent)
    assert await page.receive_nothing(timeout=1)
    await page.disconnect()


async def test_invalid_tampered_expired_and_foreign_tokens_are_refused(
    tenant, other_tenant, monkeypatch
):
    ticket = await make_ticket(tenant)
    good = await viewer_token(ticket)
    link = await database_sync_to_async(selectors_status.status_link_active_for)(
        tenant=tenant, ticket_id=ticket.pk
    )
    tampered = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    other_purpose = signing.dumps({"t": tenant.pk, "k": ticket.pk, "l": link.pk}, salt="x")
    across = signing.dumps(
        {"t": other_tenant.pk, "k": ticket.pk, "l": link.pk}, salt=VIEWER_SALT
    )  # a genuine signature, but the link is not of that tenant
    with monkeypatch.context() as patched:
        an_hour_ago = time.time() - 3600
        patched.setattr(signing, "time", SimpleNamespace(time=lambda: an_hour_ago))
        expired = signing.dumps({"t": tenant.pk, "k": ticket.pk, "l": link.pk}, salt=VIEWER_SALT)
    for token in ("nope", link.token, tampered, other_purpose, across, expired):
        page, ok = await open_page(token)
        assert not ok, token
        await page.disconnect()
    page, ok = await open_page(good)
    assert ok
    await page.disconnect()


async def test_rotating_the_link_closes_open_pages_and_refuses_its_tokens(tenant, agent):
    ticket = await make_ticket(tenant)
    old_token = await viewer_token(ticket)
    page, _ = await ready_page(ticket)
    await rotate(ticket, agent)
    assert (await until(page, lambda m: m["type"] != "update")) == {"type": "revoked"}
    closed = await page.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4410}
    refused, ok = await open_page(old_token)
    assert not ok
    await refused.disconnect()
    fresh, ok = await open_page(await viewer_token(ticket))
    assert ok
    await fresh.disconnect()


async def test_reconnect_catches_up_exactly_the_missed_events_then_streams(tenant, agent):
    ticket = await make_ticket(tenant)
    page, _ = await ready_page(ticket)
    seen = await latest_cursor(ticket)
    await page.disconnect()
    await reply(ticket, agent, "First answer")  # + "we are working on it"
    await reply(ticket, agent, "NOTE", internal=True)
    await set_status(ticket, "pending", actor=agent)
    page, ok = await open_page(await viewer_token(ticket), seen)
    assert ok
    replay = await page.receive_json_from(timeout=5)
    assert replay["type"] == "update"
    texts = [e["text"] for e in replay["events"]]
    assert texts == [
        "First answer",
        "We are working on your request.",
        "We are waiting for your reply.",
    ]
    cursors = [e["cursor"] for e in replay["events"]]
    assert cursors == sorted(set(cursors)) and min(cursors) > seen
    ready = await page.receive_json_from(timeout=5)
    assert ready["type"] == "ready" and ready["cursor"] == cursors[-1]
    await set_status(ticket, "open", actor=agent)
    live = await until(page, lambda m: m["type"] == "update")
    assert [e["text"] for e in live["events"]] == ["We are working on your request."]
    assert live["events"][0]["cursor"] > cursors[-1]
    assert await page.receive_nothing(timeout=0.5)
    await page.disconnect()


async def test_a_gap_too_old_asks_for_a_resync(tenant, agent, monkeypatch):
    ticket = await make_ticket(tenant)
    seen = await latest_cursor(ticket)
    for n in range(3):
        await reply(ticket, agent, f"reply {n}")
    monkeypatch.setattr(selectors_status, "STATUS_REPLAY_LIMIT", 2)
    page, ok = await open_page(await viewer_token(ticket), seen)
    assert ok
    assert await page.receive_json_from(timeout=5) == {"type": "resync_required"}
    assert (await page.receive_json_from(timeout=5))["type"] == "ready"
    await page.disconnect()


async def test_the_page_gets_the_change_through_a_real_server_and_client(
    tenant,
    agent,
    asgi_server,  # noqa: F811
):
    import websockets

    ticket = await make_ticket(tenant)
    token, cursor = await viewer_token(ticket), await latest_cursor(ticket)
    url = asgi_server.replace("http://", "ws://") + f"/ws/status/{token}/?cursor={cursor}"
    async with websockets.connect(url, origin=asgi_server, open_timeout=10) as socket:
        ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ready["type"] == "ready"
        await reply(ticket, agent, "NOTE-SECRET", internal=True)
        await reply(ticket, agent, "Through the wire")
        update = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert update["events"][0]["text"] == "Through the wire"
        assert "NOTE-SECRET" not in json.dumps(update)


@database_sync_to_async
def change_then_roll_back(ticket, actor):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.ticket_set_status(
            tenant=ticket.tenant, actor=actor, ticket=ticket, status="pending"
        )
        raise RuntimeError("the request failed after the change")


async def test_nothing_is_published_before_commit_and_a_rollback_publishes_nothing(tenant, agent):
    ticket = await make_ticket(tenant)
    page, _ = await ready_page(ticket)
    await change_then_roll_back(ticket, agent)
    assert await page.receive_nothing(timeout=1)
    await set_status(ticket, "pending", actor=agent)
    update = await until(page, lambda m: m["type"] == "update")
    assert [e["text"] for e in update["events"]] == ["We are waiting for your reply."]
    await page.disconnect()


async def test_a_failed_publish_never_fails_the_change_and_the_page_catches_up(
    tenant, agent, settings
):
    ticket = await make_ticket(tenant)
    seen = await latest_cursor(ticket)
    # A real Redis channel layer whose server is down (nothing listens on port 1).
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    await set_status(ticket, "pending", actor=agent)  # no exception
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    page, ok = await open_page(await viewer_token(ticket), seen)
    assert ok
    replay = await page.receive_json_from(timeout=5)
    assert [e["text"] for e in replay["events"]] == ["We are waiting for your reply."]
    await page.disconnect()
