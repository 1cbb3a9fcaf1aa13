"""An open ticket page learns of every analysed message, through a real ASGI server (uvicorn in a
thread) and a real WebSocket client: a notice naming the messages, not a timeline event, and only
for staff (the customer's status page hears nothing of it)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async

from helpdesk.tenancy.context import tenant_context
from tests.browser.conftest import asgi_server  # noqa: F401 - the live server fixture
from tests.factories.tickets import CustomerFactory
from tests.realtime.test_status_live_server import nothing_comes, open_page
from tests.realtime.test_ws_tenancy import session_headers
from tickets import services
from tickets.models import Message, TicketEvent
from tickets.services.analysis import analysis_deferred, messages_analysis_failed
from tickets.tasks.analysis import message_analyse_task

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10


@database_sync_to_async
def new_ticket(tenant, body):
    with analysis_deferred():
        return services.ticket_create(
            tenant=tenant, customer=CustomerFactory(tenant=tenant), subject="Crash", body=body
        )


@database_sync_to_async
def customer_writes(tenant, ticket, body) -> Message:
    with analysis_deferred():
        return services.message_create(
            tenant=tenant, ticket=ticket, body=body, author_customer=ticket.customer
        )


@database_sync_to_async
def first_message(tenant, ticket) -> Message:
    with tenant_context(tenant):
        return Message.objects.for_tenant(tenant).get(ticket=ticket)


@database_sync_to_async
def analyse(tenant, message) -> dict:
    return message_analyse_task(tenant.pk, message.pk)


@database_sync_to_async
def event_count(tenant, ticket) -> int:
    with tenant_context(tenant):
        return TicketEvent.objects.for_tenant(tenant).filter(ticket=ticket).count()


@database_sync_to_async
def fail_for_good(tenant, message) -> None:
    for _ in range(5):
        messages_analysis_failed(tenant=tenant, message_ids=[message.pk], error="boom")


async def open_ticket_page(server: str, user, number: int):
    cookie = dict(await session_headers(user))[b"cookie"].decode()
    socket = await websockets.connect(
        server.replace("http://", "ws://") + f"/ws/t/acme/tickets/{number}/",
        origin="http://127.0.0.1",
        additional_headers={"Cookie": cookie},
        open_timeout=WAIT,
    )
    await next_of(socket, "ready")
    return socket


async def next_of(socket, kind: str) -> dict:
    for _ in range(50):
        message = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message came")


async def test_every_analysed_message_reaches_the_open_ticket_page_as_a_notice(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    ticket = await new_ticket(tenant, "The app keeps crashing!")
    first = await first_message(tenant, ticket)
    assert (await analyse(tenant, first))["analysed"] == 1
    # A second message in the same mood: the ticket's mood does not change (no timeline event),
    # yet the page must swap its "analysing..." marker in.
    second = await customer_writes(tenant, ticket, "The app keeps crashing!")
    events_before = await event_count(tenant, ticket)
    page = await open_ticket_page(asgi_server, agent, ticket.number)
    status_page, _ = await open_page(asgi_server, ticket)

    outcome = await analyse(tenant, second)
    assert outcome == {"analysed": 1, "changed": 1, "error": None}
    notice = await next_of(page, "analysed")
    assert notice["messages"] == [str(second.public_id)]
    assert await event_count(tenant, ticket) == events_before  # no timeline noise
    await nothing_comes(status_page)

    # A message given up on also swaps its marker ("not analysed").
    third = await customer_writes(tenant, ticket, "Hello?")
    await fail_for_good(tenant, third)
    assert (await next_of(page, "analysed"))["messages"] == [str(third.public_id)]
    await page.close()
    await status_page.close()
