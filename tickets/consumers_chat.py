"""Live chat sockets: the embeddable widget's (customers) and the agents' page's.

``ChatCustomerConsumer`` (``/ws/chat/<slug>/``): anonymous; the tenant comes from the route. The
widget says ``hello`` with the resume token it keeps (and the cursor of the last message it
has); a first ``message`` without a session starts a chat and returns a fresh token. Cookies
never reach this route (see ``helpdesk.realtime.middleware.WsOriginPolicy``), so nothing of a
staff session can ride along on a connection from another site.

``ChatAgentConsumer`` (``/ws/t/<slug>/chat/``): staff; ``TenantWsMiddleware`` has checked the
membership and the Origin. The page is told when the list of chats changes, ``open``s one chat at
a time, answers, types and ends chats; the role is re-checked on every command.

Delivery: every message is a ticket ``Message`` whose ``message.created`` event is published on
commit to the ticket's group. Both consumers join that group and, on such an event, read the
chat's messages after their own cursor from the database and send them in order. So each socket
receives every message once, in order, whoever wrote it (the widget, the console or the ticket
page), and a reconnect with the last cursor replays exactly what was missed. Clients send their
own id with each message and resend unacknowledged ones after a reconnect; the services store a
resend once (see ``tickets.services.chat``).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections import deque

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, close_old_connections

from helpdesk.accounts.models import User
from helpdesk.realtime.consumers import TenantConsumer
from helpdesk.realtime.groups import ticket_group
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from helpdesk.tenancy.selectors import tenant_get_by_slug
from tickets import selectors_chat as selectors
from tickets.models import ChatSession
from tickets.services import chat as chat_services
from tickets.services.webform import RateLimited, client_address

MAX_FRAME_CHARS = 20_000


def _db(func):
    """A database call of a chat socket. On PostgreSQL it runs on the thread pool
    (``thread_sensitive=False``): Channels would otherwise run every socket's database work of
    the process one at a time on a single thread, so one slow call would hold up every chat.
    Each call is self-contained (it opens its tenant's scope and transaction itself). SQLite
    has one writer anyway: there the calls stay on the single thread."""

    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            # Here, in the call's own context: the pool thread's connection is only visible
            # inside it, so the wrapper's clean-up outside would miss it.
            close_old_connections()

    return database_sync_to_async(call, thread_sensitive=not settings.IS_POSTGRES)


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _scope_ip(scope) -> str:
    headers = dict(scope.get("headers") or [])
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin1")
    client = scope.get("client") or ("", 0)
    return client_address(remote_addr=client[0] or "", forwarded_for=forwarded)


# --- Database calls (each opens the tenant's scope itself) ---------------------------------


@_db
def _tenant(slug: str) -> Tenant | None:
    return tenant_get_by_slug(slug=slug)


@_db
def _tenant_by_id(tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


@_db
def _resume(tenant: Tenant, token: str) -> dict | None:
    with tenant_context(tenant):
        session = selectors.chat_session_get_by_token(tenant=tenant, token=token)
        if session is None or session.ticket_id is None:
            return None
        return {
            "session_id": session.pk,
            "ticket_id": session.ticket_id,
            "customer_name": session.customer.name if session.customer else "",
            "state": selectors.chat_session_state(tenant=tenant, session=session),
        }


@_db
def _wait_seconds(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return selectors.chat_wait_seconds(tenant=tenant)


@_db
def _start(tenant: Tenant, content: dict, client_ip: str) -> dict:
    arguments = {
        "tenant": tenant,
        "body": _text(content.get("body")),
        "client_id": _text(content.get("id")),
        "token": _text(content.get("token")),
        "name": _text(content.get("name")),
        "email": _text(content.get("email")),
        "client_ip": client_ip,
    }
    try:
        started = chat_services.chat_start(**arguments)
    except IntegrityError:  # the same first message from two tabs at once: the other one won
        started = chat_services.chat_start(**arguments)
    with tenant_context(tenant):
        session = selectors.chat_session_get(tenant=tenant, public_id=started.session.public_id)
        return {
            "session_id": session.pk,
            "ticket_id": session.ticket_id,
            "customer_name": session.customer.name if session.customer else "",
            "token": started.token,
            "state": selectors.chat_session_state(tenant=tenant, session=session),
            "message": selectors.chat_message_payload(started.message, for_staff=False),
        }


@_db
def _customer_post(tenant: Tenant, session_id: int, content: dict) -> tuple[dict, int]:
    with tenant_context(tenant):
        session = ChatSession(pk=session_id, tenant=tenant)  # the service locks and loads it
        message, _created = chat_services.chat_customer_message(
            tenant=tenant,
            session=session,
            body=_text(content.get("body")),
            client_id=_text(content.get("id")),
        )
        return selectors.chat_message_payload(message, for_staff=False), message.ticket_id


@_db
def _convert(tenant: Tenant, session_id: int, email: str, name: str) -> dict:
    with tenant_context(tenant):
        session = ChatSession(pk=session_id, tenant=tenant)  # the service locks and loads it
        session = chat_services.chat_convert_to_email(
            tenant=tenant, session=session, email=email, name=name
        )
        session = selectors.chat_session_get_by_pk(tenant=tenant, pk=session.pk)
        return selectors.chat_session_state(tenant=tenant, session=session)


@_db
def _end(tenant: Tenant, session_id: int, actor: User | None = None) -> None:
    with tenant_context(tenant):
        session = ChatSession(pk=session_id, tenant=tenant)  # the service locks and loads it
        chat_services.chat_end(tenant=tenant, session=session, actor=actor)


@_db
def _messages_after(tenant: Tenant, ticket_id: int, cursor: int, for_staff: bool) -> list[dict]:
    with tenant_context(tenant):
        return [
            selectors.chat_message_payload(m, for_staff=for_staff)
            for m in selectors.chat_messages_after(
                tenant=tenant, ticket_id=ticket_id, cursor=cursor, include_internal=for_staff
            )
        ]


@_db
def _user(user_id: int) -> User:
    return User.objects.get(pk=user_id)


@_db
def _role_allows(tenant: Tenant, user: User, perm: Perm) -> bool:
    """Re-checked on every command: a role changed, a membership removed or the account
    deactivated takes effect now (one read)."""
    role = selectors.chat_member_role(tenant=tenant, user_id=user.pk)
    return role is not None and role_has_perm(role, perm)


@_db
def _agent_open(tenant: Tenant, public_id: uuid.UUID) -> dict | None:
    with tenant_context(tenant):
        session = selectors.chat_session_get(tenant=tenant, public_id=public_id)
        if session is None or session.ticket_id is None:
            return None
        return selectors.chat_session_card(tenant=tenant, session=session)


@_db
def _agent_post(tenant: Tenant, agent: User, session_id: int, content: dict) -> dict:
    with tenant_context(tenant):
        session = ChatSession(pk=session_id, tenant=tenant)  # the service locks and loads it
        message, _created = chat_services.chat_agent_message(
            tenant=tenant,
            session=session,
            agent=agent,
            body=_text(content.get("body")),
            client_id=_text(content.get("id")),
            is_internal=content.get("internal") is True,
        )
        return selectors.chat_message_payload(message, for_staff=True)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _cursor(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


# --- Shared behaviour ------------------------------------------------------------------------


class _ChatSocket(AsyncJsonWebsocketConsumer):
    """Tolerant framing (bad JSON or huge frames get an error, not a crash), a per-connection
    frame budget, group messages of kinds this socket does not use ignored, and the in-order
    catch-up from the database."""

    for_staff = False

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.send_json({"type": "error", "message": "Send JSON text frames only."})
            return
        if not self._within_budget():
            await self.send_json(
                {"type": "error", "code": "slow_down", "message": "Slow down a little."}
            )
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "message": "That was not valid JSON."})
            return
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "message": "Send a JSON object."})
            return
        await self.receive_json(content, **kwargs)

    def _within_budget(self) -> bool:
        frames: deque = self.__dict__.setdefault("_frames", deque())
        now = time.monotonic()
        while frames and now - frames[0] > 10:
            frames.popleft()
        if len(frames) >= settings.HELPDESK_CHAT_FRAMES_PER_10S:
            return False
        frames.append(now)
        return True

    async def dispatch(self, message: dict) -> None:
        # The ticket group also carries kinds meant for other pages (presence of the ticket
        # page, future event types): ignore what this socket has no handler for.
        if getattr(self, get_handler_name(message), None) is None and not message[
            "type"
        ].startswith("websocket."):
            return
        await super().dispatch(message)

    async def _join_chat(self, tenant_id: int, session_id: int, ticket_id: int) -> None:
        await self._leave_chat()
        self.chat_groups = [
            chat_services.chat_group(tenant_id, session_id),
            ticket_group(tenant_id, ticket_id),
        ]
        for group in self.chat_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.session_id = session_id
        self.ticket_id = ticket_id

    async def _leave_chat(self) -> None:
        for group in getattr(self, "chat_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.chat_groups = []
        self.session_id = None
        self.ticket_id = None

    async def catch_up(self) -> None:
        if getattr(self, "session_id", None) is None:
            return
        for payload in await _messages_after(
            self.chat_tenant, self.ticket_id, self.cursor, self.for_staff
        ):
            if payload["cursor"] <= self.cursor:
                continue
            await self.send_json({"type": "message", "message": payload})
            self.cursor = payload["cursor"]

    async def ticket_event(self, message: dict) -> None:
        event = message.get("event") or {}
        if event.get("kind") != "message.created" or not (self.for_staff or event.get("public")):
            return
        chat = message.get("chat")
        if chat is not None and getattr(self, "session_id", None) is not None:
            audience = "staff" if self.for_staff else "public"
            payload = chat[audience]
            if payload is not None and chat[f"{audience}_after"] == self.cursor:
                # The message right after the last one this socket showed: no read needed.
                await self.send_json({"type": "message", "message": payload})
                self.cursor = payload["cursor"]
                return
            if payload is not None and payload["cursor"] <= self.cursor:
                return  # shown already (a catch-up read it)
        await self.catch_up()

    async def _typing(self, *, who: str, name: str, typing: bool) -> None:
        if getattr(self, "session_id", None) is None:
            return
        await self.channel_layer.group_send(
            chat_services.chat_group(self.chat_tenant.pk, self.session_id),
            {
                "type": "chat.typing",
                "who": who,
                "name": name,
                "typing": typing,
                "sender": self.channel_name,
            },
        )


# --- The widget ------------------------------------------------------------------------------


class ChatCustomerConsumer(_ChatSocket):
    for_staff = False

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["tenant_slug"]
        self.chat_tenant = await _tenant(slug)
        if self.chat_tenant is None:
            await self.close(code=4404)
            return
        self.session_id = None
        self.ticket_id = None
        self.cursor = 0
        self.customer_name = ""
        self.client_ip = _scope_ip(self.scope)
        await self.accept()

    async def disconnect(self, code) -> None:
        if getattr(self, "session_id", None) is not None:
            await self._typing(who="customer", name=self.customer_name, typing=False)
        await self._leave_chat()

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type")
        handler = {
            "hello": self._hello,
            "message": self._message,
            "typing": self._customer_typing,
            "leave_email": self._leave_email,
            "end": self._end_chat,
        }.get(kind)
        if handler is None:
            await self.send_json({"type": "error", "message": "Unknown message type."})
            return
        await handler(content)

    async def _hello(self, content: dict) -> None:
        token = _text(content.get("token"))
        resumed = await _resume(self.chat_tenant, token) if token else None
        if resumed is None:
            await self._leave_chat()
            self.cursor = 0
            await self.send_json(
                {
                    "type": "ready",
                    "state": "new",
                    "cursor": 0,
                    "wait_seconds": await _wait_seconds(self.chat_tenant),
                }
            )
            return
        await self._join_chat(self.chat_tenant.pk, resumed["session_id"], resumed["ticket_id"])
        self.customer_name = resumed["customer_name"]
        self.cursor = _cursor(content.get("cursor"))
        await self.catch_up()
        await self.send_json({"type": "ready", "cursor": self.cursor, **resumed["state"]})

    async def _message(self, content: dict) -> None:
        client_id = _text(content.get("id"))
        try:
            if self.session_id is None:
                started = await _start(self.chat_tenant, content, self.client_ip)
                await self._join_chat(
                    self.chat_tenant.pk, started["session_id"], started["ticket_id"]
                )
                self.customer_name = started["customer_name"]
                await self.send_json(
                    {"type": "session", "token": started["token"], **started["state"]}
                )
                await self.send_json(
                    {"type": "ack", "client_id": client_id, "message": started["message"]}
                )
                await self.catch_up()  # the commit's event was sent before we joined the groups
                return
            payload, ticket_id = await _customer_post(self.chat_tenant, self.session_id, content)
            if ticket_id != self.ticket_id:  # the chat went on in a new ticket
                await self._join_chat(self.chat_tenant.pk, self.session_id, ticket_id)
            # The sender's own copy arrives in order with the commit's event, like everyone's.
            await self.send_json({"type": "ack", "client_id": client_id, "message": payload})
        except RateLimited as exc:
            await self.send_json(
                {
                    "type": "error",
                    "code": "rate_limited",
                    "client_id": client_id,
                    "message": exc.message,
                }
            )
        except ValidationError as exc:
            await self.send_json({"type": "error", "client_id": client_id, "message": _errors(exc)})

    async def _customer_typing(self, content: dict) -> None:
        await self._typing(
            who="customer", name=self.customer_name, typing=content.get("typing") is True
        )

    async def _leave_email(self, content: dict) -> None:
        if self.session_id is None:
            await self.send_json({"type": "error", "message": "Write your question first."})
            return
        try:
            state = await _convert(
                self.chat_tenant,
                self.session_id,
                _text(content.get("email")),
                _text(content.get("name")),
            )
        except ValidationError as exc:
            await self.send_json({"type": "error", "code": "email", "message": _errors(exc)})
            return
        await self.send_json({"type": "state", **state})

    async def _end_chat(self, content: dict) -> None:
        if self.session_id is not None:
            await _end(self.chat_tenant, self.session_id)

    # Group messages

    async def chat_typing(self, message: dict) -> None:
        if message["sender"] != self.channel_name and message["who"] == "agent":
            await self.send_json(
                {"type": "typing", "name": message["name"], "typing": message["typing"]}
            )

    async def chat_state(self, message: dict) -> None:
        await self.send_json(
            {"type": "state", "state": message["state"], "agent": message["agent"]}
        )


# --- The agents' page ------------------------------------------------------------------------


class ChatAgentConsumer(TenantConsumer, _ChatSocket):
    for_staff = True

    def groups_for_scope(self) -> list[str]:
        return [chat_services.chat_list_group(self.tenant_id)]

    async def on_connected(self) -> None:
        self.chat_tenant = await _tenant_by_id(self.tenant_id)
        self.session_id = None
        self.ticket_id = None
        self.chat_public_id = ""
        self.cursor = 0
        self.agent = await _user(self.member.user_id)
        self.agent_name = self.agent.first_name
        await self.send_json(
            {
                "type": "hello",
                "can_work": role_has_perm(self.member.role, Perm.TICKETS_WORK),
            }
        )

    async def disconnect(self, code) -> None:
        if getattr(self, "session_id", None) is not None:
            await self._typing(who="agent", name=self.agent_name, typing=False)
        await self._leave_chat()
        await super().disconnect(code)

    async def receive_json(self, content, **kwargs) -> None:
        action = content.get("action")
        handler = {
            "open": self._open,
            "close": self._close,
            "message": self._message,
            "typing": self._agent_typing,
            "end": self._end_chat,
        }.get(action)
        if handler is None:
            await self.send_json({"type": "error", "message": "Unknown action."})
            return
        if action in ("message", "typing", "end"):
            if not await _role_allows(self.chat_tenant, self.agent, Perm.TICKETS_WORK):
                await self.send_json(
                    {
                        "type": "error",
                        "client_id": _text(content.get("id")),
                        "message": "Your role cannot answer chats.",
                    }
                )
                return
            if self.session_id is None or _text(content.get("chat")) != self.chat_public_id:
                await self.send_json(
                    {
                        "type": "error",
                        "client_id": _text(content.get("id")),
                        "message": "Open the chat first.",
                    }
                )
                return
        await handler(content)

    async def _open(self, content: dict) -> None:
        if not await _role_allows(self.chat_tenant, self.agent, Perm.TICKETS_VIEW):
            await self.send_json({"type": "error", "message": "Your role cannot see chats."})
            return
        try:
            public_id = uuid.UUID(_text(content.get("chat")))
        except ValueError:
            public_id = None
        card = await _agent_open(self.chat_tenant, public_id) if public_id else None
        if card is None:
            await self.send_json({"type": "error", "message": "Not found."})
            return
        await self._join_chat(self.tenant_id, card.pop("session_id"), card.pop("ticket_id"))
        self.chat_public_id = card["chat"]
        self.cursor = _cursor(content.get("cursor"))
        await self.send_json({"type": "opened", **card})
        await self.catch_up()

    async def _close(self, content: dict) -> None:
        await self._leave_chat()
        self.chat_public_id = ""

    async def _message(self, content: dict) -> None:
        client_id = _text(content.get("id"))
        try:
            payload = await _agent_post(self.chat_tenant, self.agent, self.session_id, content)
        except ValidationError as exc:
            await self.send_json({"type": "error", "client_id": client_id, "message": _errors(exc)})
            return
        await self.send_json({"type": "ack", "client_id": client_id, "message": payload})

    async def _agent_typing(self, content: dict) -> None:
        await self._typing(who="agent", name=self.agent_name, typing=content.get("typing") is True)

    async def _end_chat(self, content: dict) -> None:
        await _end(self.chat_tenant, self.session_id, self.agent)

    # Group messages

    async def chat_changed(self, message: dict) -> None:
        await self.send_json(
            {"type": "chats.changed", "chat": message["chat"], "state": message["state"]}
        )

    async def chat_typing(self, message: dict) -> None:
        if message["sender"] != self.channel_name:
            await self.send_json(
                {
                    "type": "typing",
                    "who": message["who"],
                    "name": message["name"],
                    "typing": message["typing"],
                }
            )

    async def chat_state(self, message: dict) -> None:
        await self.send_json(
            {
                "type": "state",
                "chat": self.chat_public_id,
                "state": message["state"],
                "agent": message["agent"],
            }
        )
