"""A live chat through a real ASGI server (uvicorn in a thread) with two real WebSocket clients
(the ``websockets`` package): a customer on another site's page and an agent, typing both ways,
answers both ways, and the customer's connection cut in the middle: nothing lost, nothing
doubled."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from helpdesk.tenancy.context import tenant_context
from tests.browser.conftest import asgi_server  # noqa: F401 - the live server fixture
from tests.realtime.test_ws_tenancy import session_headers
from tickets.models import ChatSession, Message

pytestmark = pytest.mark.django_db(transaction=True)


class Peer:
    """One WebSocket client that keeps every frame it received (to check for duplicates)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.frames: list[dict] = []
        self.unread: list[dict] = []

    @classmethod
    async def open(cls, url: str, **kwargs) -> Peer:
        return cls(await connect(url, proxy=None, open_timeout=5, **kwargs))

    async def send(self, **frame) -> None:
        await self.connection.send(json.dumps(frame))

    async def next(self, kind: str, timeout: float = 15) -> dict:
        """The next frame of ``kind`` (frames of other kinds stay readable with ``take``)."""
        for index, frame in enumerate(self.unread):
            if frame["type"] == kind:
                return self.unread.pop(index)
        while True:
            frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
            self.frames.append(frame)
            if frame["type"] == kind:
                return frame
            self.unread.append(frame)

    async def quiet(self, seconds: float = 0.4) -> list[dict]:
        """Everything that arrives within ``seconds``."""
        extra = []
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(self.connection.recv(), seconds))
                self.frames.append(frame)
                extra.append(frame)
        except TimeoutError:
            return extra

    def bodies(self) -> list[str]:
        return [f["message"]["body"] for f in self.frames if f["type"] == "message"]

    def cursors(self) -> list[int]:
        return [f["message"]["cursor"] for f in self.frames if f["type"] == "message"]


@database_sync_to_async
def chat_id(tenant) -> str:
    with tenant_context(tenant):
        return str(ChatSession.objects.get().public_id)


@database_sync_to_async
def stored(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(Message.objects.order_by("pk").values_list("body_text", flat=True))


async def test_chat_round_trip_with_a_reconnect_in_the_middle(asgi_server, tenant, agent):  # noqa: F811
    ws_base = asgi_server.replace("http://", "ws://")
    cookie = dict(await session_headers(agent))[b"cookie"].decode()
    staff = await Peer.open(
        f"{ws_base}/ws/t/acme/chat/",
        origin="http://127.0.0.1",
        additional_headers={"Cookie": cookie},
    )
    assert (await staff.next("hello"))["can_work"] is True

    token = secrets.token_hex(32)
    customer = await Peer.open(f"{ws_base}/ws/chat/acme/", origin="https://shop.acme.example")
    await customer.send(type="hello", token=token, cursor=0)
    assert (await customer.next("ready"))["state"] == "new"
    await customer.send(
        type="message", id="c-000001", body="Hello, anyone?", token=token, name="Ada"
    )
    await customer.next("session")
    await customer.next("ack")
    first = await customer.next("message")

    await staff.next("chats.changed")
    chat = await chat_id(tenant)
    await staff.send(action="open", chat=chat, cursor=0)
    assert (await staff.next("opened"))["customer"] == "Ada"
    assert (await staff.next("message"))["message"]["body"] == "Hello, anyone?"

    # Typing both ways.
    await customer.send(type="typing", typing=True)
    assert (await staff.next("typing"))["who"] == "customer"
    await staff.send(action="typing", chat=chat, typing=True)
    assert (await customer.next("typing"))["typing"] is True

    await staff.send(action="message", chat=chat, id="a-000001", body="Hi Ada, how can I help?")
    await staff.next("ack")
    answer = await customer.next("message")
    assert answer["message"]["body"] == "Hi Ada, how can I help?"
    last_cursor = answer["message"]["cursor"]
    assert last_cursor > first["message"]["cursor"]

    # The customer's network drops right after sending: no close handshake, no ack seen.
    await customer.send(type="message", id="c-000002", body="My parcel is lost", token=token)
    customer.connection.transport.abort()
    # The agent keeps writing meanwhile.
    await staff.send(action="message", chat=chat, id="a-000002", body="Let me check the tracking.")
    await staff.next("ack")

    # Back online: hello with the last cursor seen, then resend what was never acknowledged.
    again = await Peer.open(f"{ws_base}/ws/chat/acme/", origin="https://shop.acme.example")
    await again.send(type="hello", token=token, cursor=last_cursor)
    ready = await again.next("ready")
    assert ready["state"] == "active"
    await again.send(type="message", id="c-000002", body="My parcel is lost", token=token)
    await again.next("ack")
    await again.quiet()
    await staff.quiet()

    everything = [
        "Hello, anyone?",
        "Hi Ada, how can I help?",
        "My parcel is lost",
        "Let me check the tracking.",
    ]
    assert sorted(await stored(tenant)) == sorted(everything)
    # The reconnected widget got exactly what it had missed, each message once, in order.
    assert sorted(again.bodies()) == sorted(everything[2:])
    assert again.cursors() == sorted(set(again.cursors()))
    # The agent saw every message once.
    assert sorted(staff.bodies()) == sorted(everything)
    assert len(staff.cursors()) == len(set(staff.cursors()))

    await again.connection.close()
    await staff.connection.close()
