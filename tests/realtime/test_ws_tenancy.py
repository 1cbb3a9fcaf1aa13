"""WebSockets: the route carries the tenant; only members get in, and only their tenant's events."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from helpdesk.asgi import application
from helpdesk.realtime.groups import agent_group

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


@database_sync_to_async
def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [ORIGIN, (b"cookie", cookie)]


async def connect(path: str, headers) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_member_connects_and_is_greeted_with_tenant_and_role(agent, tenant):
    communicator, connected = await connect(
        "/ws/t/acme/notifications/", await session_headers(agent)
    )
    assert connected
    assert await communicator.receive_json_from() == {
        "type": "hello",
        "tenant": "acme",
        "role": "agent",
    }
    await communicator.disconnect()


async def test_member_of_a_cannot_connect_to_b(agent, other_tenant):
    communicator, connected = await connect(
        "/ws/t/globex/notifications/", await session_headers(agent)
    )
    assert not connected
    await communicator.disconnect()


async def test_anonymous_and_unknown_tenant_are_refused(agent, tenant):
    communicator, connected = await connect("/ws/t/acme/notifications/", [ORIGIN])
    assert not connected
    await communicator.disconnect()
    communicator, connected = await connect(
        "/ws/t/nope/notifications/", await session_headers(agent)
    )
    assert not connected
    await communicator.disconnect()


async def test_foreign_origin_is_refused(agent, tenant):
    headers = [h for h in (await session_headers(agent)) if h[0] != b"origin"] + [
        (b"origin", b"http://evil.example")
    ]
    communicator, connected = await connect("/ws/t/acme/notifications/", headers)
    assert not connected
    await communicator.disconnect()


async def test_notifications_reach_the_person_and_nothing_from_another_tenant(
    agent, other_agent, tenant, other_tenant
):
    mine, ok_a = await connect("/ws/t/acme/notifications/", await session_headers(agent))
    theirs, ok_b = await connect("/ws/t/globex/notifications/", await session_headers(other_agent))
    assert ok_a and ok_b
    await mine.receive_json_from()
    await theirs.receive_json_from()
    layer = get_channel_layer()
    await layer.group_send(
        agent_group(other_tenant.pk, other_agent.pk),
        {"type": "notify", "payload": {"text": "B only"}},
    )
    assert await theirs.receive_json_from(timeout=2) == {
        "type": "notification",
        "payload": {"text": "B only"},
    }
    assert await mine.receive_nothing(timeout=0.3)
    await layer.group_send(
        agent_group(tenant.pk, agent.pk), {"type": "notify", "payload": {"text": "A only"}}
    )
    assert await mine.receive_json_from(timeout=2) == {
        "type": "notification",
        "payload": {"text": "A only"},
    }
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()
