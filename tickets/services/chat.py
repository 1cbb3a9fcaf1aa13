"""Writes of live chat: start, customer and agent messages, email hand-over, end, settings.

A chat is a ``ChatSession`` bound to a ticket with channel "chat"; its messages are the ticket's
``Message`` rows, created through ``ticket_create``/``message_create`` (so every one records a
``message.created`` event that is published on commit to the ticket's group: that is how the
sockets learn about new messages, whoever wrote them). A message carries the sender's own id in
``external_id`` (``chat:<chat id>:<c|a>:<client id>``): a resend after a lost connection finds
it and stores nothing twice.

The widget keeps a random resume token; only its SHA-256 is stored.

State changes (an agent answered, the chat became an email ticket, it ended) are sent on commit
to the chat's group, and "the list of chats changed" to the tenant's chat group, for the agents'
page.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.realtime.groups import group_name
from helpdesk.realtime.publish import group_send_on_commit
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.email.selectors import intake_settings_get
from tickets.events import event_record
from tickets.models import (
    Channel,
    ChatSession,
    Customer,
    IntakeSettings,
    Message,
    Status,
    Ticket,
)
from tickets.selectors_chat import chat_session_get_by_token, chat_token_hash
from tickets.services.core import message_create, ticket_assign, ticket_create
from tickets.services.email_out import email_ack_queue
from tickets.services.webform import RateLimited, rate_limit_hit

MAX_BODY = 5000
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
NEW_CHAT_WINDOW_SECONDS = 3600
MAX_WAIT_SECONDS = 3600


def chat_group(tenant_id: int, chat_id: int) -> str:
    """Everyone on one chat: the customer's sockets and the agents who have it open."""
    return group_name(tenant_id, "chat", chat_id)


def chat_list_group(tenant_id: int) -> str:
    """Agents' chat pages of a tenant: told when the list of chats changes."""
    return group_name(tenant_id, "chat")


@dataclass(frozen=True)
class ChatStarted:
    session: ChatSession
    token: str  # the raw resume token: give it to the widget, it is not stored
    message: Message
    created: bool  # False when the message was a resend, already stored


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "The message cannot be empty."})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": f"Keep messages under {MAX_BODY} characters."})
    return body


def _clean_client_id(client_id: str) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ValidationError({"id": "Each message needs an id of 6-64 letters, digits, - or _."})
    return client_id


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError({"email": "Enter a valid email address."}) from exc
    return email


def _subject_from(body: str) -> str:
    line = " ".join(body.split())
    return "Chat: " + (line if len(line) <= 70 else line[:69].rsplit(" ", 1)[0] + "…")


def _external_id(session: ChatSession, side: str, client_id: str) -> str:
    return f"chat:{session.public_id}:{side}:{client_id}"


def _publish_state(session: ChatSession, *, tenant: Tenant) -> None:
    group_send_on_commit(
        chat_group(tenant.pk, session.pk),
        {
            "type": "chat.state",
            "state": session.state,
            "agent": session.agent.first_name if session.agent else "",
        },
    )
    _publish_list_changed(session, tenant=tenant)


def _publish_list_changed(session: ChatSession, *, tenant: Tenant) -> None:
    group_send_on_commit(
        chat_list_group(tenant.pk),
        {"type": "chat.changed", "chat": str(session.public_id), "state": session.state},
    )


def _locked(tenant: Tenant, session: ChatSession) -> ChatSession:
    return (
        ChatSession.objects.for_tenant(tenant)
        .select_related("ticket", "agent", "customer")
        .select_for_update(of=("self",))
        .get(pk=session.pk)
    )


def chat_start(
    *,
    tenant: Tenant,
    body: str,
    client_id: str,
    token: str = "",
    name: str = "",
    email: str = "",
    client_ip: str = "",
) -> ChatStarted:
    """A visitor's first message: a customer (matched by email when given), a chat ticket with
    that message, and a waiting chat session.

    ``token`` is the resume token the widget made (random, 32+ characters); without one, one is
    made here. If a chat with that token exists already (the first message is resent after a
    lost connection, before its answer arrived), the message goes to that chat, once.
    """
    body = _clean_body(body)
    client_id = _clean_client_id(client_id)
    email = _clean_email(email)
    name = " ".join((name or "").split())[:200]
    if token:
        if not isinstance(token, str) or not TOKEN.match(token):
            raise ValidationError({"token": "The chat token must be 32-128 letters or digits."})
        with tenant_context(tenant):
            existing = chat_session_get_by_token(tenant=tenant, token=token)
            if existing is not None:
                message, created = chat_customer_message(
                    tenant=tenant, session=existing, body=body, client_id=client_id
                )
                return ChatStarted(session=existing, token=token, message=message, created=created)
    else:
        token = secrets.token_urlsafe(32)
    if rate_limit_hit(
        key=f"chat-new:{tenant.pk}:{client_ip or 'unknown'}",
        limit=settings.HELPDESK_CHAT_NEW_PER_IP,
        window=NEW_CHAT_WINDOW_SECONDS,
    ):
        raise RateLimited(
            "Too many new chats from your network. Please try again later.",
            retry_after=NEW_CHAT_WINDOW_SECONDS,
        )
    now = timezone.now()
    with tenant_context(tenant):
        if email:
            customer, new_customer = _customer_for_email(tenant=tenant, email=email, name=name)
        else:
            customer = Customer.objects.create(tenant=tenant, name=name or "Chat visitor")
            new_customer = True
        session = ChatSession.objects.create(
            tenant=tenant,
            token_hash=chat_token_hash(token),
            customer=customer,
            state=ChatSession.State.WAITING,
            last_customer_at=now,
        )
        ticket = ticket_create(
            tenant=tenant,
            customer=customer,
            subject=_subject_from(body),
            body=body,
            channel=Channel.CHAT,
            external_id=_external_id(session, "c", client_id),
            at=now,
            new_customer=new_customer,
        )
        session.ticket = ticket
        session.save(update_fields=["ticket"])
        message = Message.objects.for_tenant(tenant).filter(ticket=ticket).order_by("pk").first()
        _publish_list_changed(session, tenant=tenant)
    return ChatStarted(session=session, token=token, message=message, created=True)


def _customer_for_email(*, tenant: Tenant, email: str, name: str) -> tuple[Customer, bool]:
    customer = Customer.objects.for_tenant(tenant).filter(email=email).first()
    if customer is not None:
        if name and not customer.name:
            customer.name = name
            customer.save(update_fields=["name"])
        return customer, False
    return Customer.objects.create(tenant=tenant, email=email, name=name), True


def _continuable(ticket: Ticket | None) -> bool:
    return ticket is not None and ticket.status != Status.CLOSED and ticket.merged_into_id is None


def chat_customer_message(
    *, tenant: Tenant, session: ChatSession, body: str, client_id: str
) -> tuple[Message, bool]:
    """The customer writes in an existing chat. Returns (message, created); a resend of the same
    client id returns the stored message and creates nothing."""
    body = _clean_body(body)
    client_id = _clean_client_id(client_id)
    now = timezone.now()
    with tenant_context(tenant):
        session = _locked(tenant, session)
        external_id = _external_id(session, "c", client_id)
        existing = Message.objects.for_tenant(tenant).filter(external_id=external_id).first()
        if existing is not None:
            return existing, False
        if session.state == ChatSession.State.CONVERTED:
            raise ValidationError(
                "This chat became an email conversation: we will answer by email. "
                "Start a new chat to talk to us live."
            )
        if session.customer is None:
            session.customer = Customer.objects.create(tenant=tenant, name="Chat visitor")
        if _continuable(session.ticket):
            message = message_create(
                tenant=tenant,
                ticket=session.ticket,
                body=body,
                author_customer=session.customer,
                channel=Channel.CHAT,
                external_id=external_id,
                at=now,
            )
        else:  # the old ticket was closed or merged: this chat goes on in a new ticket
            session.ticket = ticket_create(
                tenant=tenant,
                customer=session.customer,
                subject=_subject_from(body),
                body=body,
                channel=Channel.CHAT,
                external_id=external_id,
                at=now,
            )
            message = (
                Message.objects.for_tenant(tenant).filter(ticket=session.ticket).order_by("pk")
            ).first()
        session.last_customer_at = now
        changed = ["last_customer_at", "ticket", "customer"]
        if session.state == ChatSession.State.ENDED:
            session.state = ChatSession.State.WAITING
            changed.append("state")
        session.save(update_fields=changed)
        if "state" in changed:
            _publish_state(session, tenant=tenant)
    return message, True


def chat_agent_message(
    *,
    tenant: Tenant,
    session: ChatSession,
    agent: User,
    body: str,
    client_id: str,
    is_internal: bool = False,
) -> tuple[Message, bool]:
    """An agent answers. The first public answer makes the chat active, binds the agent and, if
    the ticket has nobody, assigns it to them."""
    body = _clean_body(body)
    client_id = _clean_client_id(client_id)
    now = timezone.now()
    with tenant_context(tenant):
        session = _locked(tenant, session)
        external_id = _external_id(session, f"a{agent.pk}", client_id)
        existing = Message.objects.for_tenant(tenant).filter(external_id=external_id).first()
        if existing is not None:
            return existing, False
        if session.state not in (ChatSession.State.WAITING, ChatSession.State.ACTIVE):
            raise ValidationError(
                "This chat is over. Answer on its ticket instead: the customer gets it there."
            )
        if session.ticket is None:
            raise ValidationError("This chat has no conversation yet.")
        message = message_create(
            tenant=tenant,
            ticket=session.ticket,
            body=body,
            author_user=agent,
            is_internal=is_internal,
            channel=Channel.CHAT,
            external_id=external_id,
            at=now,
        )
        if not is_internal:
            session.last_agent_at = now
            changed = ["last_agent_at"]
            if session.state == ChatSession.State.WAITING:
                session.state = ChatSession.State.ACTIVE
                session.agent = agent
                changed += ["state", "agent"]
            session.save(update_fields=changed)
            if session.ticket.assignee_id is None:
                ticket_assign(
                    tenant=tenant, actor=agent, ticket=session.ticket, assignee=agent, at=now
                )
            if "state" in changed:
                event_record(
                    tenant=tenant,
                    ticket=session.ticket,
                    kind="chat.answered",
                    actor=agent,
                    data={"chat": str(session.public_id)},
                    at=now,
                )
                _publish_state(session, tenant=tenant)
    return message, True


def chat_convert_to_email(
    *, tenant: Tenant, session: ChatSession, email: str, name: str = ""
) -> ChatSession:
    """Nobody answered in time: the customer leaves an email address and the chat becomes an
    email ticket (answered by email from now on). A known address joins that customer's profile.
    The acknowledgement email (``IntakeSettings.auto_reply``) confirms the address and links the
    ticket's status page.
    """
    email = _clean_email(email)
    if not email:
        raise ValidationError({"email": "Enter your email address."})
    name = " ".join((name or "").split())[:200]
    now = timezone.now()
    with tenant_context(tenant):
        session = _locked(tenant, session)
        if session.state == ChatSession.State.CONVERTED:
            return session
        if session.state != ChatSession.State.WAITING:
            raise ValidationError("An agent is already answering this chat.")
        ticket = session.ticket
        if ticket is None:
            raise ValidationError("This chat has no conversation yet.")
        customer = _customer_take_email(
            tenant=tenant, customer=session.customer, email=email, name=name
        )
        if customer.pk != ticket.customer_id:
            previous = ticket.customer_id
            Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(customer=customer)
            Message.objects.for_tenant(tenant).filter(
                ticket=ticket, author_customer_id=previous
            ).update(author_customer=customer)
            ticket.customer = customer
        Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(
            channel=Channel.EMAIL, updated_at=now
        )
        ticket.channel = Channel.EMAIL
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="chat.converted",
            customer=customer,
            from_value=Channel.CHAT,
            to_value=Channel.EMAIL,
            data={"chat": str(session.public_id), "email": email},
            at=now,
        )
        session.customer = customer
        session.state = ChatSession.State.CONVERTED
        session.save(update_fields=["customer", "state"])
        _publish_state(session, tenant=tenant)
        if intake_settings_get(tenant=tenant).auto_reply:
            # The customer's first email: we have it, here is the reference and the status page.
            first = Message.objects.for_tenant(tenant).filter(ticket=ticket).order_by("pk").first()
            email_ack_queue(tenant=tenant, ticket=ticket, message=first)
    return session


def _customer_take_email(
    *, tenant: Tenant, customer: Customer | None, email: str, name: str
) -> Customer:
    """The profile that answers at ``email``: a known customer with that address (the
    anonymous chat profile stays, with its history), or the chat's own profile, which takes it."""
    known = Customer.objects.for_tenant(tenant).filter(email=email).first()
    if known is not None:
        if name and not known.name:
            known.name = name
            known.save(update_fields=["name"])
        return known
    if customer is None:
        return Customer.objects.create(tenant=tenant, email=email, name=name or "Chat visitor")
    customer.email = email
    if name and (not customer.name or customer.name == "Chat visitor"):
        customer.name = name
    customer.save(update_fields=["email", "name"])
    return customer


def chat_end(*, tenant: Tenant, session: ChatSession, actor: User | None = None) -> ChatSession:
    """The customer or an agent ends the chat. Writing again reopens it (waiting)."""
    with tenant_context(tenant):
        session = _locked(tenant, session)
        if session.state in (ChatSession.State.ENDED, ChatSession.State.CONVERTED):
            return session
        session.state = ChatSession.State.ENDED
        session.save(update_fields=["state"])
        if session.ticket is not None:
            event_record(
                tenant=tenant,
                ticket=session.ticket,
                kind="chat.ended",
                actor=actor,
                customer=None if actor else session.customer,
                data={"chat": str(session.public_id)},
            )
        _publish_state(session, tenant=tenant)
    return session


def chat_settings_update(*, tenant: Tenant, actor: User, chat_wait_seconds: int) -> IntakeSettings:
    """How long a chat waits for an agent before the widget offers to continue by email."""
    if (
        isinstance(chat_wait_seconds, bool)
        or not isinstance(chat_wait_seconds, int)
        or not 10 <= chat_wait_seconds <= MAX_WAIT_SECONDS
    ):
        raise ValidationError(
            {"chat_wait_seconds": f"Choose between 10 and {MAX_WAIT_SECONDS} seconds."}
        )
    with tenant_context(tenant):
        intake, _ = IntakeSettings.objects.select_for_update().get_or_create(tenant=tenant)
        intake.chat_wait_seconds = chat_wait_seconds
        intake.save(update_fields=["chat_wait_seconds"])
    return intake
