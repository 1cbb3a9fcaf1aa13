"""Live chat sockets through the real ASGI application: the widget (anonymous, any Origin) and
the agents' page (members only), messages both ways in order, typing both ways, resume after a
lost connection, the email hand-over, and nothing across tenants."""

from __future__ import annotations

import json
import secrets

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from helpdesk.asgi import application
from helpdesk.realtime.middleware import WsOriginPolicy
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.realtime.test_ws_tenancy import session_headers
from tickets.models import ChatSession, Message

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = [(b"origin", b"https://shop.acme.example")]


async def widget(slug="acme", headers=SHOP):
    communicator = WebsocketCommunicator(application, f"/ws/chat/{slug}/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def console(user, slug="acme"):
    communicator = WebsocketCommunicator(
        application, f"/ws/t/{slug}/chat/", headers=await session_headers(user)
    )
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def until(communicator, kind, limit=20, timeout=15):
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame.get("type") == kind:
            return frame
    raise AssertionError(f"no {kind} frame came")


async def start_chat(customer, body="Where is my order?", client_id="c-first1", **extra):
    token = extra.pop("token", secrets.token_hex(32))
    await customer.send_json_to({"type": "hello", "token": token, "cursor": 0})
    ready = await until(customer, "ready")
    assert ready["state"] == "new"
    await customer.send_json_to(
        {"type": "message", "id": client_id, "body": body, "token": token, **extra}
    )
    session = await until(customer, "session")
    ack = await until(customer, "ack")
    message = await until(customer, "message")
    return token, session, ack, message


@database_sync_to_async
def chat_public_id(tenant):
    with tenant_context(tenant):
        return str(ChatSession.objects.order_by("-pk").first().public_id)


@database_sync_to_async
def message_bodies(tenant):
    with tenant_context(tenant):
        return list(Message.objects.order_by("pk").values_list("body_text", flat=True))


async def test_a_chat_from_the_widget_to_an_agent_and_back(tenant, agent):
    agent_socket, ok = await console(agent)
    assert ok
    assert (await agent_socket.receive_json_from())["type"] == "hello"
    customer, ok = await widget()
    assert ok

    token, session, ack, first = await start_chat(customer, name="Ada")
    assert session["token"] == token and session["state"] == "waiting"
    assert 100 <= session["offer_email_in"] <= 120 and session["reference"] == "ACME-1"
    assert ack["client_id"] == "c-first1"
    assert first["message"]["body"] == "Where is my order?"
    assert first["message"]["author"] == "customer"

    changed = await until(agent_socket, "chats.changed")
    chat = await chat_public_id(tenant)
    assert changed["chat"] == chat
    await agent_socket.send_json_to({"action": "open", "chat": chat, "cursor": 0})
    opened = await until(agent_socket, "opened")
    assert opened["customer"] == "Ada" and opened["reference"] == "ACME-1"
    replay = await until(agent_socket, "message")
    assert replay["message"]["body"] == "Where is my order?"

    # Typing, both ways.
    await customer.send_json_to({"type": "typing", "typing": True})
    typing = await until(agent_socket, "typing")
    assert (typing["who"], typing["typing"]) == ("customer", True)
    await agent_socket.send_json_to({"action": "typing", "chat": chat, "typing": True})
    typing = await until(customer, "typing")
    assert typing == {"type": "typing", "name": agent.first_name, "typing": True}

    # The agent answers: the chat becomes active and the customer gets the answer, once.
    await agent_socket.send_json_to(
        {"action": "message", "chat": chat, "id": "a-answer1", "body": "It ships today."}
    )
    agent_ack = await until(agent_socket, "ack")
    assert agent_ack["client_id"] == "a-answer1"
    frames = {}
    while len(frames) < 2:
        frame = await customer.receive_json_from(timeout=15)
        if frame["type"] in ("state", "message"):
            frames[frame["type"]] = frame
    assert frames["state"]["state"] == "active"
    answer = frames["message"]
    assert answer["message"]["body"] == "It ships today."
    assert answer["message"]["author"] == "agent"
    assert answer["message"]["name"] == agent.first_name  # first name only, for customers
    assert "internal" not in answer["message"]
    assert answer["message"]["cursor"] > first["message"]["cursor"]

    # The customer writes again; the agent gets it in order.
    await customer.send_json_to(
        {"type": "message", "id": "c-second", "body": "Thanks!", "token": token}
    )
    got = await until(agent_socket, "message")
    while got["message"]["body"] != "Thanks!":
        got = await until(agent_socket, "message")
    assert await message_bodies(tenant) == ["Where is my order?", "It ships today.", "Thanks!"]
    await customer.disconnect()
    await agent_socket.disconnect()


async def test_reconnect_replays_what_was_missed_and_a_resend_is_stored_once(tenant, agent):
    customer, _ = await widget()
    token, _session, _ack, first = await start_chat(customer)
    cursor = first["message"]["cursor"]
    chat = await chat_public_id(tenant)
    agent_socket, _ = await console(agent)
    await agent_socket.send_json_to({"action": "open", "chat": chat, "cursor": 0})
    await until(agent_socket, "opened")

    # The customer's connection drops right after sending (no ack seen) ...
    await customer.send_json_to(
        {"type": "message", "id": "c-lost01", "body": "Still there?", "token": token}
    )
    await customer.disconnect()
    # ... and the agent answers meanwhile.
    await agent_socket.send_json_to(
        {"action": "message", "chat": chat, "id": "a-reply1", "body": "Yes!"}
    )
    await until(agent_socket, "ack")

    customer, _ = await widget()
    await customer.send_json_to({"type": "hello", "token": token, "cursor": cursor})
    seen = []
    ready = None
    while ready is None:
        frame = await customer.receive_json_from(timeout=15)
        if frame["type"] == "message":
            seen.append(frame["message"]["body"])
        elif frame["type"] == "ready":
            ready = frame
    assert seen == ["Still there?", "Yes!"]
    assert ready["state"] == "active" and ready["cursor"] > cursor
    # The widget resends what it never saw acknowledged: stored once.
    await customer.send_json_to(
        {"type": "message", "id": "c-lost01", "body": "Still there?", "token": token}
    )
    ack = await until(customer, "ack")
    assert ack["client_id"] == "c-lost01"
    assert await customer.receive_nothing(timeout=0.3)
    assert await message_bodies(tenant) == ["Where is my order?", "Still there?", "Yes!"]
    await customer.disconnect()
    await agent_socket.disconnect()


async def test_leave_an_email_turns_the_chat_into_an_email_ticket(tenant, agent):
    agent_socket, _ = await console(agent)
    await until(agent_socket, "hello")
    customer, _ = await widget()
    await start_chat(customer)
    await until(agent_socket, "chats.changed")
    await customer.send_json_to({"type": "leave_email", "email": "nope"})
    error = await until(customer, "error")
    assert error["code"] == "email"
    await customer.send_json_to({"type": "leave_email", "email": "ada@example.com", "name": "Ada"})
    state = await until(customer, "state")
    assert state["state"] == "converted" and state["email"] == "ada@example.com"
    changed = await until(agent_socket, "chats.changed")
    assert changed["state"] == "converted"
    await customer.disconnect()
    await agent_socket.disconnect()


async def test_the_widget_route_accepts_other_sites_and_staff_routes_do_not(tenant, agent):
    customer, ok = await widget(headers=[(b"origin", b"https://anything.example")])
    assert ok
    await customer.disconnect()
    customer, ok = await widget(headers=[])  # no Origin at all (a native client)
    assert ok
    await customer.disconnect()
    headers = [h for h in await session_headers(agent) if h[0] != b"origin"]
    staff = WebsocketCommunicator(
        application,
        "/ws/t/acme/chat/",
        headers=[*headers, (b"origin", b"https://shop.acme.example")],
    )
    connected, _ = await staff.connect(timeout=10)
    assert not connected
    await staff.disconnect()


async def test_the_widget_route_never_sees_cookies():
    seen = {}

    async def inner(scope, receive, send):
        seen.update(scope)

    policy = WsOriginPolicy(inner)
    scope = {
        "type": "websocket",
        "path": "/ws/chat/acme/",
        "headers": [(b"origin", b"https://evil.example"), (b"cookie", b"sessionid=abc")],
    }
    await policy(scope, None, None)
    assert seen["headers"] == [(b"origin", b"https://evil.example")]


async def test_unknown_tenant_is_refused(tenant):
    customer, ok = await widget(slug="nope")
    assert not ok
    await customer.disconnect()


async def test_bad_frames_get_an_error_not_a_crash(tenant):
    customer, _ = await widget()
    await customer.send_to(text_data="{not json")
    assert (await customer.receive_json_from(timeout=5))["type"] == "error"
    await customer.send_to(text_data="[1, 2]")
    assert (await customer.receive_json_from(timeout=5))["type"] == "error"
    await customer.send_to(text_data=json.dumps({"type": "nope"}))
    assert (await customer.receive_json_from(timeout=5))["type"] == "error"
    await customer.send_to(text_data="x" * 30_000)
    assert (await customer.receive_json_from(timeout=5))["type"] == "error"
    await customer.send_json_to({"type": "message", "id": "c-empty1", "body": "   "})
    error = await until(customer, "error")
    assert error["client_id"] == "c-empty1"
    # Still alive.
    await customer.send_json_to({"type": "hello"})
    assert (await until(customer, "ready"))["state"] == "new"
    await customer.disconnect()


async def test_frame_budget_per_connection(tenant, settings):
    settings.HELPDESK_CHAT_FRAMES_PER_10S = 3
    customer, _ = await widget()
    for _ in range(3):
        await customer.send_json_to({"type": "hello"})
        await until(customer, "ready")
    await customer.send_json_to({"type": "hello"})
    assert (await customer.receive_json_from())["code"] == "slow_down"
    await customer.disconnect()


async def test_an_observer_can_watch_but_not_answer(tenant, member_factory):
    observer = await database_sync_to_async(member_factory)(tenant, Role.OBSERVER, "obs@acme.test")
    customer, _ = await widget()
    await start_chat(customer)
    chat = await chat_public_id(tenant)
    watcher, ok = await console(observer)
    assert ok
    hello = await until(watcher, "hello")
    assert hello["can_work"] is False
    await watcher.send_json_to({"action": "open", "chat": chat})
    await until(watcher, "opened")
    await watcher.send_json_to({"action": "message", "chat": chat, "id": "o-000001", "body": "hi"})
    error = await until(watcher, "error")
    assert error["message"] == "Your role cannot answer chats."
    assert await message_bodies(tenant) == ["Where is my order?"]
    await watcher.disconnect()
    await customer.disconnect()


async def test_no_chat_crosses_tenants(tenant, other_tenant, agent, other_agent):
    mine, _ = await console(agent)
    await until(mine, "hello")
    # A Globex visitor starts a chat: Acme's agents hear nothing.
    visitor, _ = await widget(slug="globex")
    token, *_ = await start_chat(visitor, body="Globex only")
    assert await mine.receive_nothing(timeout=0.3)
    their_chat = await chat_public_id(other_tenant)
    # Acme's agent cannot open it by id, nor connect to Globex's page.
    await mine.send_json_to({"action": "open", "chat": their_chat})
    assert (await until(mine, "error"))["message"] == "Not found."
    await mine.send_json_to(
        {"action": "message", "chat": their_chat, "id": "a-000009", "body": "x"}
    )
    assert (await until(mine, "error"))["message"] == "Open the chat first."
    theirs, ok = await console(agent, slug="globex")
    assert not ok
    await theirs.disconnect()
    # Globex's token means nothing at Acme.
    intruder, _ = await widget(slug="acme")
    await intruder.send_json_to({"type": "hello", "token": token, "cursor": 0})
    ready = await until(intruder, "ready")
    assert ready["state"] == "new"
    assert await intruder.receive_nothing(timeout=0.2)
    assert await message_bodies(tenant) == []
    for communicator in (mine, visitor, intruder):
        await communicator.disconnect()


async def test_the_role_is_rechecked_on_every_command(tenant, agent):
    customer, _ = await widget()
    await start_chat(customer)
    chat = await chat_public_id(tenant)
    staff, _ = await console(agent)
    await staff.send_json_to({"action": "open", "chat": chat})
    await until(staff, "opened")

    @database_sync_to_async
    def demote():
        from helpdesk.tenancy.models import Membership

        Membership.objects.filter(tenant=tenant, user=agent).update(role=Role.OBSERVER)

    await demote()
    await staff.send_json_to({"action": "message", "chat": chat, "id": "a-late01", "body": "hi"})
    assert (await until(staff, "error"))["message"] == "Your role cannot answer chats."
    await staff.send_json_to({"action": "typing", "chat": chat, "typing": True})
    assert (await until(staff, "error"))["message"] == "Your role cannot answer chats."
    assert await customer.receive_nothing(timeout=0.3)
    await staff.disconnect()
    await customer.disconnect()


async def test_notes_between_answers_reach_agents_only_and_nothing_is_shown_twice(tenant, agent):
    """Each new message travels with its event and is shown without a read when the socket has
    the one before it; an internal note in between must not make the customer miss the answer
    after it, nor show it anything twice."""
    agent_socket, ok = await console(agent)
    assert ok
    customer, ok = await widget()
    assert ok
    token, _session, _ack, _first = await start_chat(customer)
    chat = await chat_public_id(tenant)
    await agent_socket.send_json_to({"action": "open", "chat": chat, "cursor": 0})
    await until(agent_socket, "opened")
    assert (await until(agent_socket, "message"))["message"]["body"] == "Where is my order?"

    agent_saw: list[str] = []

    async def acked(client_id):
        while True:
            frame = await agent_socket.receive_json_from(timeout=15)
            if frame["type"] == "message":
                agent_saw.append(frame["message"]["body"])
            if frame["type"] == "ack" and frame["client_id"] == client_id:
                return

    for client_id, body, internal in [
        ("a-note01", "VIP, be quick", True),
        ("a-answer", "On its way", False),
        ("a-note02", "Told them", True),
    ]:
        await agent_socket.send_json_to(
            {"action": "message", "chat": chat, "id": client_id, "body": body, "internal": internal}
        )
        await acked(client_id)
    await customer.send_json_to(
        {"type": "message", "id": "c-thanks", "body": "Thanks", "token": token}
    )

    async def shown(communicator, bodies):
        while "Thanks" not in bodies:  # the last message sent
            frame = await communicator.receive_json_from(timeout=15)
            if frame["type"] == "message":
                bodies.append(frame["message"]["body"])
        while not await communicator.receive_nothing(timeout=0.5):
            frame = await communicator.receive_json_from()
            if frame["type"] == "message":
                bodies.append(frame["message"]["body"])
        return bodies

    assert await shown(agent_socket, agent_saw) == [
        "VIP, be quick",
        "On its way",
        "Told them",
        "Thanks",
    ]
    assert await shown(customer, []) == ["On its way", "Thanks"]
    await customer.disconnect()
    await agent_socket.disconnect()
