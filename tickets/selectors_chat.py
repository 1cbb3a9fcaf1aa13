"""Reads of live chat: sessions by token or id, the agents' list, the conversation after a cursor.

A chat's conversation is its ticket's messages. The per-chat cursor is the message id: messages
of one ticket are written under the ticket's row lock (``message_create``), so their ids grow in
commit order, and "everything after cursor N" never skips a message that was committed later.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from helpdesk.tenancy.models import Membership, Tenant
from tickets.models import AuthorType, ChatSession, IntakeSettings, Message

DEFAULT_WAIT_SECONDS = 120
REPLAY_LIMIT = 500
OPEN_STATES = (ChatSession.State.WAITING, ChatSession.State.ACTIVE)


def chat_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def chat_session_get_by_token(*, tenant: Tenant, token: str) -> ChatSession | None:
    if not token or len(token) > 200:
        return None
    return (
        ChatSession.objects.for_tenant(tenant)
        .select_related("ticket", "agent", "customer")
        .filter(token_hash=chat_token_hash(token))
        .first()
    )


def chat_session_get(*, tenant: Tenant, public_id) -> ChatSession | None:
    return (
        ChatSession.objects.for_tenant(tenant)
        .select_related("ticket", "agent", "customer")
        .filter(public_id=public_id)
        .first()
    )


def chat_session_get_by_pk(*, tenant: Tenant, pk: int) -> ChatSession | None:
    return (
        ChatSession.objects.for_tenant(tenant)
        .select_related("ticket", "agent", "customer")
        .filter(pk=pk)
        .first()
    )


def chat_session_list_open(*, tenant: Tenant) -> QuerySet[ChatSession]:
    """Waiting chats (oldest first: they have waited longest), then active ones."""
    return (
        ChatSession.objects.for_tenant(tenant)
        .filter(state__in=OPEN_STATES, ticket__isnull=False)
        .select_related("ticket", "agent", "customer")
        .order_by("-state", "started_at")  # "waiting" > "active": waiting chats come first
    )


def chat_session_list_recent(*, tenant: Tenant, limit: int = 10) -> list[ChatSession]:
    """Chats that ended or became email tickets lately."""
    return list(
        ChatSession.objects.for_tenant(tenant)
        .exclude(state__in=OPEN_STATES)
        .filter(ticket__isnull=False)
        .select_related("ticket", "agent", "customer")
        .order_by("-started_at")[:limit]
    )


def chat_wait_seconds(*, tenant: Tenant) -> int:
    settings = IntakeSettings.objects.for_tenant(tenant).first()
    return settings.chat_wait_seconds if settings else DEFAULT_WAIT_SECONDS


def chat_messages_after(
    *, tenant: Tenant, ticket_id: int | None, cursor: int, include_internal: bool = False
) -> list[Message]:
    """The chat's (its ticket's) messages after ``cursor``, oldest first; internal notes for
    staff only."""
    if ticket_id is None:
        return []
    queryset = (
        Message.objects.for_tenant(tenant)
        .filter(ticket_id=ticket_id, pk__gt=max(cursor, 0))
        .select_related("author_user", "author_customer")
        .order_by("pk")
    )
    if not include_internal:
        queryset = queryset.filter(is_internal=False)
    return list(queryset[:REPLAY_LIMIT])


def chat_client_id(message: Message) -> str:
    """The widget's or console's own id of a message it sent (for matching its acks)."""
    if message.external_id.startswith("chat:"):
        return message.external_id.rsplit(":", 1)[-1]
    return ""


def chat_message_payload(message: Message, *, for_staff: bool) -> dict:
    """A chat message for a socket. Customers get public fields only: the agent's first name."""
    from_customer = message.author_type == AuthorType.CUSTOMER
    if from_customer:
        name = message.author_customer.name if message.author_customer else ""
    elif message.author_user is not None:
        name = message.author_user.full_name if for_staff else message.author_user.first_name
        name = name or message.author_user.first_name
    else:
        name = ""
    payload = {
        "cursor": message.pk,
        "id": str(message.public_id),
        "author": "customer" if from_customer else "agent",
        "name": name,
        "body": message.body_text,
        "at": message.created_at.isoformat(),
        "client_id": chat_client_id(message),
    }
    if for_staff:
        payload["internal"] = message.is_internal
    return payload


def chat_member_role(*, tenant: Tenant, user_id: int) -> str | None:
    """The role of a chat agent in ``tenant``, or None once the membership is gone or the
    account deactivated (asked before every command of the agents' chat socket)."""
    return (
        Membership.objects.filter(tenant=tenant, user_id=user_id, user__is_active=True)
        .values_list("role", flat=True)
        .first()
    )


def chat_delivery(*, tenant: Tenant, message: Message) -> dict:
    """A new chat message as its sockets show it, for the event that announces it.

    With it, the message before it for each audience (staff see internal notes, the customer
    does not): a socket whose cursor is exactly that one shows the message without a read; any
    other catches up from the database. Read in the writer's transaction, which holds the
    ticket row, so no other message of the ticket can come in between.
    """
    before = (
        Message.objects.for_tenant(tenant)
        .filter(ticket_id=message.ticket_id, pk__lt=message.pk)
        .aggregate(staff=Max("pk"), public=Max("pk", filter=Q(is_internal=False)))
    )
    return {
        "staff": chat_message_payload(message, for_staff=True),
        "public": None if message.is_internal else chat_message_payload(message, for_staff=False),
        "staff_after": before["staff"] or 0,
        "public_after": before["public"] or 0,
    }


def chat_offer_email_in(
    *, session: ChatSession, wait_seconds: int, now: datetime | None = None
) -> int | None:
    """Seconds until the widget offers to continue by email, while nobody has answered."""
    if session.state != ChatSession.State.WAITING:
        return None
    now = now or timezone.now()
    since = session.started_at
    if session.last_agent_at is not None and session.last_customer_at is not None:
        since = session.last_customer_at  # waiting again after an ended chat
    return max(0, int(wait_seconds - (now - since).total_seconds()))


def chat_session_state(*, tenant: Tenant, session: ChatSession) -> dict:
    """What a widget needs on (re)connect: state, agent, reference, when to offer email."""
    wait = chat_wait_seconds(tenant=tenant)
    ticket = session.ticket
    return {
        "state": session.state,
        "agent": session.agent.first_name if session.agent else "",
        "reference": ticket.reference_with(tenant.reference_prefix) if ticket else "",
        "wait_seconds": wait,
        "offer_email_in": chat_offer_email_in(session=session, wait_seconds=wait),
        "email": session.customer.email if session.customer else "",
    }


def chat_session_card(*, tenant: Tenant, session: ChatSession) -> dict:
    """What the agents' page shows about one chat when it opens it."""
    from django.urls import reverse

    ticket = session.ticket
    customer = session.customer
    return {
        "chat": str(session.public_id),
        "session_id": session.pk,
        "ticket_id": session.ticket_id,
        "state": session.state,
        "customer": (customer.name or customer.email) if customer else "Chat visitor",
        "email": customer.email if customer else "",
        "reference": ticket.reference_with(tenant.reference_prefix),
        "subject": ticket.subject,
        "ticket_url": reverse(
            "tickets:ticket-page", kwargs={"tenant_slug": tenant.slug, "number": ticket.number}
        ),
        "agent": session.agent.get_full_name() if session.agent else "",
        "started_at": session.started_at.isoformat(),
    }
