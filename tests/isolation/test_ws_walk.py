"""The cross-tenant probe over WebSockets: every route the ASGI application serves, discovered.

As a signed-in member of tenant A, connect to each WebSocket route filled with tenant B's slug, B's
ticket numbers and B's status tokens (a link token, a tampered viewer token and the viewer token of
a rotated link), and to A's own slug with B's ticket numbers. Every connection must be refused, and
nothing of B may arrive on any socket that is open by design (the anonymous chat widget). A route
with a parameter the probe has no foreign value for fails the walk, so a new consumer route is
probed the day it is added.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from helpdesk.asgi import application
from tests.factories.tickets import CustomerFactory
from tests.isolation.probe import discover_ws_routes, fill
from tickets import services
from tickets.services.status import status_link_ensure, status_link_rotate, status_viewer_token

pytestmark = pytest.mark.django_db(transaction=True)

SENTINEL = "GLOBEX-WS-SENTINEL-5d1c"
ORIGIN = (b"origin", b"http://testserver")
# Open to anyone by design: the embeddable chat widget (anonymous visitors of the tenant's site).
PUBLIC_BY_DESIGN = {"/ws/chat/<slug:tenant_slug>/"}


@database_sync_to_async
def world(tenant, other_tenant, agent, other_admin):
    customer = CustomerFactory(tenant=other_tenant, name=SENTINEL)
    ticket = services.ticket_create(
        tenant=other_tenant, customer=customer, subject=SENTINEL, body=SENTINEL
    )
    services.message_create(
        tenant=other_tenant, ticket=ticket, body=SENTINEL, author_user=other_admin
    )
    link = status_link_ensure(tenant=other_tenant, ticket=ticket)
    viewer = status_viewer_token(link=link)
    old_viewer = viewer
    status_link_rotate(tenant=other_tenant, actor=other_admin, ticket=ticket)
    client = Client()
    client.force_login(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return {
        "headers": [ORIGIN, (b"cookie", cookie)],
        "number": [ticket.number],
        "token": [
            link.token,
            viewer[:-2] + ("A" if viewer[-2] != "A" else "B") + viewer[-1],
            old_viewer,
        ],
    }


async def drain(communicator, frames: int = 20) -> str:
    """What the server sends right after the connection (without cancelling the consumer)."""
    received = []
    for _ in range(frames):
        if await communicator.receive_nothing(timeout=0.2):
            break
        output = await communicator.receive_output()
        received.append(str(output.get("text") or output.get("bytes") or output))
        if output.get("type") == "websocket.close":
            break
    return "".join(received)


async def close(communicator) -> None:
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await communicator.disconnect()


async def test_no_websocket_route_lets_a_member_of_a_in_with_bs_references(
    tenant, other_tenant, agent, other_admin
):
    routes = discover_ws_routes()
    assert len(routes) >= 5
    values = await world(tenant, other_tenant, agent, other_admin)
    leaks = []
    for route in routes:
        object_params = [p for p in route.params if p != "tenant_slug"]
        missing = [p for p in object_params if p not in values]
        assert not missing, f"the WebSocket probe has no foreign value for {missing} of {route}"
        combos = list(itertools.product(*(values[p] for p in object_params))) or [()]
        slugs = ["globex", "acme"] if "tenant_slug" in route.params else [None]
        for slug, combo in itertools.product(slugs, combos):
            if slug == "acme" and not object_params:
                continue  # A's own route without B's references: nothing of B to reach
            filled = dict(zip(object_params, combo, strict=True))
            if slug:
                filled["tenant_slug"] = slug
            path = fill(route, filled)
            communicator = WebsocketCommunicator(application, path, headers=values["headers"])
            connected, _ = await communicator.connect()
            frames = await drain(communicator) if connected else ""
            await close(communicator)
            if SENTINEL in frames:
                leaks.append((path, "B's data received"))
            elif connected and route.pattern not in PUBLIC_BY_DESIGN:
                leaks.append((path, "connection accepted"))
    assert leaks == []
