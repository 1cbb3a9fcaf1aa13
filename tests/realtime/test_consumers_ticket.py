"""Live ticket pages: changes by others arrive without reload, replay by cursor, collision
detection, and nothing from another tenant."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from helpdesk.asgi import application
from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory
from tests.realtime.test_ws_tenancy import session_headers
from tickets import services
from tickets.models import Status, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def make_ticket(tenant, subject="Checkout broken"):
    customer = CustomerFactory(tenant=tenant)
    return services.ticket_create(
        tenant=tenant, customer=customer, subject=subject, body="It spins forever"
    )


@database_sync_to_async
def set_status(tenant, ticket, status, actor=None):
    services.ticket_set_status(tenant=tenant, actor=actor, ticket=ticket, status=status)


@database_sync_to_async
def reply(tenant, ticket, user, body, internal=False):
    services.message_create(
        tenant=tenant, ticket=ticket, body=body, author_user=user, is_internal=internal
    )


@database_sync_to_async
def last_cursor(tenant, ticket):
    with tenant_context(tenant):
        return TicketEvent.objects.filter(ticket=ticket).order_by("-pk").first().pk


async def open_ticket(user, slug, number, cursor=None):
    path = f"/ws/t/{slug}/tickets/{number}/" + (f"?cursor={cursor}" if cursor else "")
    communicator = WebsocketCommunicator(application, path, headers=await session_headers(user))
    connected, _ = await communicator.connect()
    return communicator, connected


async def until(communicator, predicate, limit=20):
    for _ in range(limit):
        message = await communicator.receive_json_from(timeout=3)
        if predicate(message):
            return message
    raise AssertionError("expected message never came")


async def test_change_by_another_agent_reaches_an_open_page(tenant, agent, admin_user):
    ticket = await make_ticket(tenant)
    page, ok = await open_ticket(agent, "acme", ticket.number)
    assert ok
    await until(page, lambda m: m["type"] == "ready")
    await set_status(tenant, ticket, Status.PENDING, actor=admin_user)
    message = await until(page, lambda m: m["type"] == "event")
    assert message["event"]["kind"] == "ticket.status_changed"
    assert (message["event"]["from"], message["event"]["to"]) == ("new", "pending")
    assert message["event"]["cursor"] > 0
    await page.disconnect()


async def test_reconnect_replays_exactly_the_missed_events(tenant, agent, admin_user):
    ticket = await make_ticket(tenant)
    cursor = await last_cursor(tenant, ticket)
    await reply(tenant, ticket, admin_user, "First answer")
    await reply(tenant, ticket, admin_user, "A note", internal=True)
    await set_status(tenant, ticket, Status.SOLVED, actor=admin_user)
    page, ok = await open_ticket(agent, "acme", ticket.number, cursor=cursor)
    assert ok
    replayed = []
    while True:
        message = await page.receive_json_from(timeout=3)
        if message["type"] == "ready":
            break
        replayed.append(message["event"])
    cursors = [e["cursor"] for e in replayed]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert all(c > cursor for c in cursors)
    kinds = [e["kind"] for e in replayed]
    assert kinds.count("message.created") == 2 and "ticket.status_changed" in kinds
    await page.disconnect()


async def test_presence_and_typing_are_shown_to_the_other_viewer(tenant, agent, admin_user):
    ticket = await make_ticket(tenant)
    first, _ = await open_ticket(agent, "acme", ticket.number)
    await until(first, lambda m: m["type"] == "ready")
    second, _ = await open_ticket(admin_user, "acme", ticket.number)
    seen_by_first = await until(first, lambda m: m["type"] == "presence")
    assert (
        seen_by_first["viewer"]["user_id"] == admin_user.pk and seen_by_first["state"] == "viewing"
    )
    seen_by_second = await until(second, lambda m: m["type"] == "presence")
    assert seen_by_second["viewer"]["user_id"] == agent.pk
    await second.send_json_to({"action": "typing", "typing": True})
    typing = await until(first, lambda m: m["type"] == "presence" and m["state"] == "typing")
    assert typing["viewer"]["user_id"] == admin_user.pk
    await second.disconnect()
    left = await until(first, lambda m: m["type"] == "presence" and m["state"] == "left")
    assert left["viewer"]["user_id"] == admin_user.pk
    await first.disconnect()


async def test_observer_cannot_announce_typing(tenant, member_factory):
    observer = await database_sync_to_async(member_factory)(tenant, "observer", "obs@acme.test")
    ticket = await make_ticket(tenant)
    page, _ = await open_ticket(observer, "acme", ticket.number)
    await until(page, lambda m: m["type"] == "ready")
    await page.send_json_to({"action": "typing", "typing": True})
    assert (await until(page, lambda m: m["type"] == "error"))[
        "message"
    ] == "Your role cannot reply."
    await page.disconnect()


async def test_no_connection_to_another_tenants_ticket_and_no_leak_of_its_events(
    tenant, other_tenant, agent, other_agent
):
    mine = await make_ticket(tenant)
    theirs = await make_ticket(other_tenant, subject="Globex secret")
    refused, ok = await open_ticket(agent, "globex", theirs.number)
    assert not ok
    await refused.disconnect()
    missing, ok = await open_ticket(agent, "acme", 999)
    assert not ok
    await missing.disconnect()
    page, ok = await open_ticket(agent, "acme", mine.number)
    assert ok
    await until(page, lambda m: m["type"] == "ready")
    await set_status(other_tenant, theirs, Status.PENDING, actor=other_agent)
    assert await page.receive_nothing(timeout=0.5)
    await page.disconnect()


async def open_queue(user, slug):
    communicator = WebsocketCommunicator(
        application, f"/ws/t/{slug}/queue/", headers=await session_headers(user)
    )
    connected, _ = await communicator.connect()
    return communicator, connected


async def notices(communicator) -> list[dict]:
    received = []
    while not await communicator.receive_nothing(timeout=0.5):
        received.append(await communicator.receive_json_from())
    return [m for m in received if m["type"] == "queue.changed"]


@database_sync_to_async
def cursor_of(tenant, ticket, kind):
    with tenant_context(tenant):
        return TicketEvent.objects.get(ticket=ticket, kind=kind).pk


async def test_the_queue_page_hears_once_per_changed_ticket_and_only_its_tenant(
    tenant, other_tenant, agent, other_agent
):
    queue, ok = await open_queue(agent, "acme")
    other_queue, other_ok = await open_queue(other_agent, "globex")
    assert ok and other_ok
    ticket = await make_ticket(tenant)  # two timeline events in one transaction
    heard = await notices(queue)
    # One notice for the creation, naming its latest event (the analysis that runs after commit
    # may add its own, in its own transaction).
    assert heard[0]["ticket"] == ticket.number
    assert (heard[0]["kind"], heard[0]["cursor"]) == (
        "message.created",
        await cursor_of(tenant, ticket, "message.created"),
    )
    assert "ticket.created" not in [m["kind"] for m in heard]
    await set_status(tenant, ticket, Status.PENDING, actor=agent)
    assert [m["kind"] for m in await notices(queue)] == ["ticket.status_changed"]
    assert await other_queue.receive_nothing(timeout=0.3)
    await queue.disconnect()
    await other_queue.disconnect()
