"""Live chat services: start, resend de-duplication, answers, email hand-over, end, settings."""

from __future__ import annotations

import secrets

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory
from tickets import selectors_chat as selectors
from tickets.models import (
    Channel,
    ChatSession,
    Customer,
    IntakeSettings,
    Message,
    OutboundEmail,
    Status,
    Ticket,
)
from tickets.services import chat as services
from tickets.services.core import message_create, ticket_set_status
from tickets.services.webform import RateLimited

pytestmark = pytest.mark.django_db


def start(tenant, body="Hi, my order is late", client_id="c-000001", **kw):
    return services.chat_start(tenant=tenant, body=body, client_id=client_id, **kw)


def test_chat_start_opens_a_chat_ticket_with_a_waiting_session(tenant):
    started = start(tenant, name="Ada")
    with tenant_context(tenant):
        session = ChatSession.objects.get()
        ticket = Ticket.objects.get()
        assert session.state == ChatSession.State.WAITING
        assert session.ticket == ticket and ticket.channel == Channel.CHAT
        assert ticket.subject == "Chat: Hi, my order is late"
        assert session.customer.name == "Ada" and session.customer.email == ""
        assert started.message.body_text == "Hi, my order is late"
        assert started.message.external_id.endswith(":c:c-000001")
        # Only the token's hash is stored; the token finds the session.
        assert session.token_hash != started.token and len(session.token_hash) == 64
        assert selectors.chat_session_get_by_token(tenant=tenant, token=started.token) == session


def test_chat_start_with_a_known_email_uses_that_customer(tenant):
    known = CustomerFactory(tenant=tenant, email="ada@example.com", name="")
    start(tenant, name="Ada", email="ADA@example.com ")
    with tenant_context(tenant):
        ticket = Ticket.objects.get()
        assert ticket.customer_id == known.pk
        assert Customer.objects.get(pk=known.pk).name == "Ada"


def test_a_resent_first_message_with_the_widgets_token_is_stored_once(tenant):
    token = secrets.token_hex(32)
    first = start(tenant, token=token)
    again = start(tenant, token=token)
    assert first.created and not again.created
    assert again.session.pk == first.session.pk and again.message.pk == first.message.pk
    with tenant_context(tenant):
        assert Message.objects.count() == 1 and ChatSession.objects.count() == 1


def test_customer_messages_are_deduplicated_by_client_id(tenant):
    started = start(tenant)
    one, created = services.chat_customer_message(
        tenant=tenant, session=started.session, body="Order 42", client_id="c-000002"
    )
    same, created_again = services.chat_customer_message(
        tenant=tenant, session=started.session, body="Order 42", client_id="c-000002"
    )
    assert created and not created_again and one.pk == same.pk
    with tenant_context(tenant):
        assert Message.objects.filter(ticket=started.session.ticket).count() == 2


@pytest.mark.parametrize(
    ("body", "client_id", "field"),
    [("", "c-000003", "body"), ("x" * 5001, "c-000003", "body"), ("ok", "bad id!", "id")],
)
def test_bad_messages_are_refused(tenant, body, client_id, field):
    started = start(tenant)
    with pytest.raises(ValidationError) as exc:
        services.chat_customer_message(
            tenant=tenant, session=started.session, body=body, client_id=client_id
        )
    assert field in exc.value.message_dict


def test_a_short_token_is_refused(tenant):
    with pytest.raises(ValidationError):
        start(tenant, token="short")


def test_first_agent_answer_activates_assigns_and_is_deduplicated(tenant, agent, admin_user):
    started = start(tenant)
    message, created = services.chat_agent_message(
        tenant=tenant, session=started.session, agent=agent, body="Hello!", client_id="a-000001"
    )
    again, created_again = services.chat_agent_message(
        tenant=tenant, session=started.session, agent=agent, body="Hello!", client_id="a-000001"
    )
    assert created and not created_again and message.pk == again.pk
    # Another agent's answer does not take the chat over.
    services.chat_agent_message(
        tenant=tenant, session=started.session, agent=admin_user, body="Hi", client_id="a-000001"
    )
    with tenant_context(tenant):
        session = ChatSession.objects.get()
        ticket = session.ticket
        assert (session.state, session.agent) == (ChatSession.State.ACTIVE, agent)
        assert ticket.assignee == agent and ticket.status == Status.OPEN
        assert ticket.first_response_at is not None
        assert ticket.events.filter(kind="chat.answered").count() == 1


def test_an_internal_note_does_not_answer_the_chat(tenant, agent):
    started = start(tenant)
    services.chat_agent_message(
        tenant=tenant,
        session=started.session,
        agent=agent,
        body="VIP customer",
        client_id="a-000002",
        is_internal=True,
    )
    with tenant_context(tenant):
        assert ChatSession.objects.get().state == ChatSession.State.WAITING
        visible = selectors.chat_messages_after(
            tenant=tenant, ticket_id=started.session.ticket_id, cursor=0
        )
        assert [m.body_text for m in visible] == ["Hi, my order is late"]


def test_a_non_member_cannot_answer(tenant, other_agent):
    started = start(tenant)
    with pytest.raises(ValidationError):
        services.chat_agent_message(
            tenant=tenant,
            session=started.session,
            agent=other_agent,
            body="x",
            client_id="a-000003",
        )


def test_convert_to_email_turns_the_chat_into_an_email_ticket(tenant):
    started = start(tenant, name="Ada")
    session = services.chat_convert_to_email(
        tenant=tenant, session=started.session, email="Ada@Example.com"
    )
    assert session.state == ChatSession.State.CONVERTED
    with tenant_context(tenant):
        ticket = Ticket.objects.get()
        assert ticket.channel == Channel.EMAIL
        assert ticket.customer.email == "ada@example.com" and ticket.customer.name == "Ada"
        assert ticket.events.filter(kind="chat.converted", to_value="email").exists()
    with pytest.raises(ValidationError):
        services.chat_customer_message(
            tenant=tenant, session=session, body="hello?", client_id="c-000009"
        )
    # Converting twice is harmless.
    services.chat_convert_to_email(tenant=tenant, session=session, email="ada@example.com")


def test_a_chat_that_became_email_is_acknowledged_then_answered_by_threaded_email(
    tenant, agent, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    started = start(tenant, name="Ada")
    services.chat_customer_message(
        tenant=tenant, session=started.session, body="Still there?", client_id="c-000002"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.chat_convert_to_email(
            tenant=tenant, session=started.session, email="ada@example.com"
        )
    (ack,) = mail.outbox
    assert ack.to == ["ada@example.com"]
    assert ack.subject == "Received: Chat: Hi, my order is late [ACME-1]"
    assert "opened ticket ACME-1" in ack.body and "https://help.acme.test/status/" in ack.body
    assert "In-Reply-To" not in ack.extra_headers  # chat messages have no Message-ID
    with tenant_context(tenant):
        ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        message_create(tenant=tenant, ticket=ticket, author_user=agent, body="Found it.")
    answer = mail.outbox[-1]
    assert answer.to == ["ada@example.com"] and "Found it." in answer.body
    assert answer.extra_headers["In-Reply-To"] == ack.extra_headers["Message-ID"]
    assert answer.extra_headers["References"] == ack.extra_headers["Message-ID"]
    # Converting again sends nothing more.
    services.chat_convert_to_email(tenant=tenant, session=started.session, email="ada@example.com")
    with tenant_context(tenant):
        assert OutboundEmail.objects.filter(kind="ack").count() == 1


def test_no_acknowledgement_of_a_converted_chat_when_switched_off(tenant):
    with tenant_context(tenant):
        IntakeSettings.objects.create(tenant=tenant, auto_reply=False)
    started = start(tenant)
    services.chat_convert_to_email(tenant=tenant, session=started.session, email="ada@example.com")
    with tenant_context(tenant):
        assert not OutboundEmail.objects.exists()


def test_convert_to_a_known_email_moves_the_conversation_to_that_profile(tenant):
    known = CustomerFactory(tenant=tenant, email="grace@navy.test")
    started = start(tenant)
    services.chat_convert_to_email(tenant=tenant, session=started.session, email="grace@navy.test")
    with tenant_context(tenant):
        ticket = Ticket.objects.get()
        assert ticket.customer_id == known.pk
        assert Message.objects.get(ticket=ticket).author_customer_id == known.pk
        assert ChatSession.objects.get().customer_id == known.pk


def test_convert_is_refused_once_an_agent_answered_and_needs_an_email(tenant, agent):
    started = start(tenant)
    with pytest.raises(ValidationError):
        services.chat_convert_to_email(tenant=tenant, session=started.session, email="nope")
    services.chat_agent_message(
        tenant=tenant, session=started.session, agent=agent, body="Hi", client_id="a-000004"
    )
    with pytest.raises(ValidationError):
        services.chat_convert_to_email(tenant=tenant, session=started.session, email="a@b.test")


def test_end_then_writing_again_reopens_the_same_chat(tenant, agent):
    started = start(tenant)
    services.chat_end(tenant=tenant, session=started.session, actor=agent)
    with pytest.raises(ValidationError):
        services.chat_agent_message(
            tenant=tenant, session=started.session, agent=agent, body="x", client_id="a-000005"
        )
    services.chat_customer_message(
        tenant=tenant, session=started.session, body="One more thing", client_id="c-000010"
    )
    with tenant_context(tenant):
        session = ChatSession.objects.get()
        assert session.state == ChatSession.State.WAITING
        assert Ticket.objects.count() == 1


def test_a_closed_ticket_is_not_reused_the_chat_goes_on_in_a_new_one(tenant, agent):
    started = start(tenant)
    ticket_set_status(
        tenant=tenant, actor=agent, ticket=started.session.ticket, status=Status.SOLVED
    )
    ticket_set_status(
        tenant=tenant, actor=agent, ticket=started.session.ticket, status=Status.CLOSED
    )
    message, _ = services.chat_customer_message(
        tenant=tenant, session=started.session, body="Back again", client_id="c-000011"
    )
    with tenant_context(tenant):
        session = ChatSession.objects.get()
        assert Ticket.objects.count() == 2
        assert session.ticket_id == message.ticket_id != started.session.ticket_id


def test_tokens_do_not_cross_tenants(tenant, other_tenant):
    started = start(tenant)
    with tenant_context(other_tenant):
        assert selectors.chat_session_get_by_token(tenant=other_tenant, token=started.token) is None
    # Starting at B with A's token opens a new chat at B: A's chat is untouched.
    theirs = start(other_tenant, token=started.token, client_id="c-000012")
    assert theirs.created and theirs.session.tenant_id == other_tenant.pk
    with tenant_context(tenant):
        assert Message.objects.count() == 1


def test_new_chats_are_rate_limited_per_address(tenant, settings):
    settings.HELPDESK_CHAT_NEW_PER_IP = 2
    start(tenant, client_ip="192.0.2.1")
    start(tenant, client_ip="192.0.2.1")
    with pytest.raises(RateLimited):
        start(tenant, client_ip="192.0.2.1")
    start(tenant, client_ip="192.0.2.2")


def test_chat_settings_update(tenant, admin_user):
    with tenant_context(tenant):
        assert selectors.chat_wait_seconds(tenant=tenant) == 120
    services.chat_settings_update(tenant=tenant, actor=admin_user, chat_wait_seconds=45)
    with tenant_context(tenant):
        assert IntakeSettings.objects.get().chat_wait_seconds == 45
        assert selectors.chat_wait_seconds(tenant=tenant) == 45
    for bad in (5, 99999, "30", True):
        with pytest.raises(ValidationError):
            services.chat_settings_update(tenant=tenant, actor=admin_user, chat_wait_seconds=bad)


def test_offer_email_countdown(tenant):
    from datetime import timedelta

    started = start(tenant)
    session = started.session
    assert (
        selectors.chat_offer_email_in(session=session, wait_seconds=60, now=session.started_at)
        == 60
    )
    later = session.started_at + timedelta(seconds=75)
    assert selectors.chat_offer_email_in(session=session, wait_seconds=60, now=later) == 0
    session.state = ChatSession.State.ACTIVE
    assert selectors.chat_offer_email_in(session=session, wait_seconds=60) is None


def test_a_new_message_travels_with_what_each_audience_saw_before_it(tenant, agent):
    started = start(tenant)
    first = started.message
    note, _ = services.chat_agent_message(
        tenant=tenant,
        session=started.session,
        agent=agent,
        body="VIP",
        client_id="a-000010",
        is_internal=True,
    )
    answer, _ = services.chat_agent_message(
        tenant=tenant, session=started.session, agent=agent, body="On it", client_id="a-000011"
    )
    with tenant_context(tenant):
        of_note = selectors.chat_delivery(tenant=tenant, message=note)
        of_answer = selectors.chat_delivery(tenant=tenant, message=answer)
    assert of_note["public"] is None and of_note["staff"]["internal"] is True
    assert (of_answer["staff_after"], of_answer["public_after"]) == (note.pk, first.pk)
    assert of_answer["public"]["name"] == agent.first_name and "internal" not in of_answer["public"]
    assert of_answer["staff"] == selectors.chat_message_payload(answer, for_staff=True)
