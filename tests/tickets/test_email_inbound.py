"""Inbound email through the real services: every corpus message lands where it should, once.

Messages are stored with ``inbound_email_receive`` and processed with ``inbound_email_process``
(what the task does), against the real database and storage (a temporary MEDIA_ROOT).
"""

from __future__ import annotations

import pytest
from django.core import mail

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory, TicketFactory
from tests.fixtures.email.build_corpus import (
    CORPUS,
    JANE_FIRST_ID,
    OUR_REPLY_ID,
    big_attachment,
    corpus_file,
    load,
)
from tickets import services
from tickets.models import (
    Attachment,
    Customer,
    InboundEmail,
    IntakeSettings,
    Message,
    OutboundEmail,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.services.merge import ticket_merge


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HELPDESK_EMAIL_DOMAIN = "acme.helpdesk.test"


@pytest.fixture
def support(tenant):
    with tenant_context(tenant):
        IntakeSettings.objects.create(tenant=tenant, support_address="support@acme.test")
    return tenant


def deliver(tenant, raw: bytes | str, source: str = "webhook") -> InboundEmail:
    """Receive and process a message as the webhook and its task would."""
    if isinstance(raw, str):
        raw = load(raw)
    inbound, created = services.inbound_email_receive(
        tenant=tenant, raw=raw, source=source, enqueue=False
    )
    if created and inbound.state == InboundEmail.State.RECEIVED:
        inbound = services.inbound_email_process(tenant=tenant, inbound=inbound)
    return inbound


def rows(tenant, model, **filters):
    with tenant_context(tenant):
        return list(model.objects.for_tenant(tenant).filter(**filters).order_by("pk"))


def ticket_numbered(tenant, number) -> Ticket:
    with tenant_context(tenant):
        return Ticket.objects.for_tenant(tenant).select_related("customer").get(number=number)


def messages_of(tenant, ticket) -> list[Message]:
    return rows(tenant, Message, ticket=ticket)


def our_reply_on(tenant, ticket, agent, message_id=OUR_REPLY_ID) -> OutboundEmail:
    """An agent replies on the ticket; the email we send has Message-ID ``message_id``."""
    services.message_create(tenant=tenant, ticket=ticket, author_user=agent, body="On our way.")
    with tenant_context(tenant):
        outbound = OutboundEmail.objects.for_tenant(tenant).filter(ticket=ticket).latest("pk")
        outbound.rfc_message_id = message_id
        outbound.save(update_fields=["rfc_message_id"])
    return outbound


# --- The corpus itself --------------------------------------------------------------------


def test_the_committed_corpus_is_what_the_script_builds():
    for name, build in CORPUS.items():
        assert corpus_file(name).read_bytes() == build(), f"rebuild {name}: see build_corpus.py"


# --- New tickets --------------------------------------------------------------------------


def test_a_new_mail_opens_a_ticket_for_a_new_customer_and_acknowledges_it(support, tenant):
    inbound = deliver(tenant, "plain_new")
    assert inbound.state == "processed"
    assert inbound.reason == "New ticket ACME-1."
    ticket = ticket_numbered(tenant, 1)
    assert inbound.ticket_id == ticket.pk
    assert (ticket.subject, ticket.channel, ticket.status) == ("Printer on fire", "email", "new")
    assert ticket.customer.email == "jane.doe@example.com"
    assert ticket.customer.name == "Jane Doe"
    (message,) = messages_of(tenant, ticket)
    assert inbound.message_id == message.pk
    assert message.external_id == JANE_FIRST_ID
    assert (message.author_type, message.channel) == ("customer", "email")
    assert message.body_text == (
        "Hello,\n\nthe printer on the second floor is on fire again. Could someone have a look?"
    )
    (ack,) = rows(tenant, OutboundEmail, ticket=ticket)
    assert (ack.kind, ack.to, ack.state) == ("ack", "jane.doe@example.com", "pending")
    assert ack.subject == "Received: Printer on fire [ACME-1]"


def test_a_known_customer_is_matched_case_insensitively(support, tenant):
    known = CustomerFactory(tenant=tenant, email="jane.doe@example.com", name="Jane D.")
    deliver(tenant, "plain_new")  # From: Jane.Doe@Example.COM
    assert ticket_numbered(tenant, 1).customer_id == known.pk
    assert len(rows(tenant, Customer)) == 1


def test_the_raw_source_is_kept_on_the_inbound_row(support, tenant):
    inbound = deliver(tenant, "gmail_reply")
    with inbound.raw.open("rb") as handle:
        assert handle.read() == load("gmail_reply")
    assert inbound.size == len(load("gmail_reply"))
    assert inbound.source == "webhook"


@pytest.mark.parametrize(
    ("name", "subject", "body_part"),
    [
        ("multipart_alternative_qp", "Commande arrivée cassée", "arrivée cassée 😢"),
        ("html_only_base64", "Refund request", "Order #9911 was charged twice."),
        ("latin1_subject", "Rechnung für März doppelt", "meine Rechnung für März ist doppelt"),
        ("utf8_subject_b64", "订单 #77 还没到 📦", "订单 #77 还没到。"),
        ("broken_headers", "(no subject)", "Café au lait please."),
        ("no_message_id", "Sent from an old script", "has no Message-ID header"),
        ("forwarded_message", "Fwd: Contract question", "see the attached mail"),
    ],
)
def test_each_encoding_lands_as_a_readable_new_ticket(support, tenant, name, subject, body_part):
    inbound = deliver(tenant, name)
    assert inbound.state == "processed", inbound.reason
    ticket = ticket_numbered(tenant, 1)
    assert ticket.subject == subject
    (message,) = messages_of(tenant, ticket)
    assert body_part in message.body_text
    assert "<" not in message.body_text or name == "forwarded_message"


# --- Each message lands once --------------------------------------------------------------

EXPECTED = {
    # name: (state, tickets created)
    "plain_new": ("processed", 1),
    "gmail_reply": ("processed", 1),  # alone: its parent is unknown, so a new ticket
    "outlook_reply": ("processed", 1),
    "subject_reference_reply": ("processed", 1),
    "subject_reference_stranger": ("processed", 1),
    "multipart_alternative_qp": ("processed", 1),
    "html_only_base64": ("processed", 1),
    "latin1_subject": ("processed", 1),
    "utf8_subject_b64": ("processed", 1),
    "attachments_inline": ("processed", 1),
    "forwarded_message": ("processed", 1),
    "auto_reply_ooo": ("ignored", 0),
    "auto_reply_xautoreply": ("ignored", 0),
    "bulk_newsletter": ("ignored", 0),
    "bounce_dsn": ("ignored", 0),
    "own_mail": ("ignored", 0),
    "no_message_id": ("processed", 1),
    "broken_headers": ("processed", 1),
    "no_sender": ("rejected", 0),
}


def test_the_expectations_cover_the_whole_corpus():
    assert set(EXPECTED) == set(CORPUS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_corpus_message_lands_where_it_should_once(support, tenant, name):
    state, tickets = EXPECTED[name]
    first = deliver(tenant, name)
    again = deliver(tenant, name)
    assert again.pk == first.pk
    assert first.state == state, first.reason
    assert first.reason
    assert len(rows(tenant, InboundEmail)) == 1
    assert len(rows(tenant, Ticket)) == tickets
    assert len(rows(tenant, Message)) == tickets
    if tickets:
        assert rows(tenant, Message)[0].external_id == first.rfc_message_id
    else:
        assert first.ticket_id is None and first.message_id is None
        assert rows(tenant, OutboundEmail) == []  # noise never gets an answer


# --- Threading ----------------------------------------------------------------------------


def test_a_gmail_reply_joins_by_the_message_id_we_received(support, tenant):
    deliver(tenant, "plain_new")
    inbound = deliver(tenant, "gmail_reply")
    ticket = ticket_numbered(tenant, 1)
    assert inbound.ticket_id == ticket.pk
    assert inbound.reason == "Reply added to ACME-1."
    _first, reply = messages_of(tenant, ticket)
    assert reply.body_text == (
        "It's smoking less now, but the paper tray is stuck \u2013 can you send a technician?"
    )
    assert len(rows(tenant, Ticket)) == 1
    assert [o.kind for o in rows(tenant, OutboundEmail)] == ["ack"]  # replies are not acked


def test_an_outlook_reply_joins_by_the_message_id_we_sent(support, tenant, agent):
    jane = CustomerFactory(tenant=tenant, email="jane.doe@example.com")
    ticket = TicketFactory(tenant=tenant, customer=jane, subject="Printer on fire")
    TicketFactory(tenant=tenant)  # another ticket, number 2
    our_reply_on(tenant, ticket, agent)
    inbound = deliver(tenant, "outlook_reply")
    assert inbound.ticket_id == ticket.pk
    reply = messages_of(tenant, ticket)[-1]
    assert reply.author_customer_id == jane.pk
    assert reply.body_text == "The technician was here, all fixed. You can close the ticket."
    assert "Kind regards" not in reply.body_text and "From: Acme Support" not in reply.body_text


def test_a_reply_without_threading_headers_joins_by_the_subject_reference(support, tenant):
    deliver(tenant, "plain_new")
    inbound = deliver(tenant, "subject_reference_reply")
    assert inbound.ticket_id == ticket_numbered(tenant, 1).pk
    assert messages_of(tenant, inbound.ticket)[-1].body_text == (
        "One more thing: the toner is empty too."
    )


def test_a_stranger_quoting_a_reference_gets_a_ticket_of_their_own(support, tenant):
    deliver(tenant, "plain_new")
    inbound = deliver(tenant, "subject_reference_stranger")
    jane_ticket = ticket_numbered(tenant, 1)
    assert inbound.ticket_id != jane_ticket.pk
    assert len(messages_of(tenant, jane_ticket)) == 1
    assert ticket_numbered(tenant, 2).customer.email == "mallory@evil.example"


def test_a_reply_reopens_a_solved_ticket(support, tenant, agent):
    deliver(tenant, "plain_new")
    ticket = ticket_numbered(tenant, 1)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=Status.SOLVED)
    deliver(tenant, "gmail_reply")
    ticket = ticket_numbered(tenant, 1)
    assert ticket.status == Status.OPEN and ticket.reopen_count == 1


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(support, tenant, agent):
    deliver(tenant, "plain_new")
    ticket = ticket_numbered(tenant, 1)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=Status.CLOSED)
    inbound = deliver(tenant, "gmail_reply")
    assert inbound.ticket_id == ticket_numbered(tenant, 2).pk
    assert ticket_numbered(tenant, 2).subject == "Re: Printer on fire"


def test_a_reply_to_a_merged_ticket_lands_on_the_survivor(support, tenant, agent):
    deliver(tenant, "plain_new")
    source = ticket_numbered(tenant, 1)
    target = TicketFactory(tenant=tenant, customer=source.customer)
    ticket_merge(tenant=tenant, actor=agent, source=source, target=target)
    inbound = deliver(tenant, "gmail_reply")
    assert inbound.ticket_id == target.pk


def test_threading_never_crosses_tenants(support, tenant, other_tenant):
    deliver(tenant, "plain_new")
    # The same customer writes to Globex, replying in the same thread and quoting ACME's reference.
    for name in ("plain_new", "gmail_reply", "subject_reference_reply"):
        inbound = deliver(other_tenant, name)
        assert inbound.state == "processed"
        assert inbound.ticket.tenant_id == other_tenant.pk
    assert (
        len(rows(tenant, Ticket)) == 1 and len(messages_of(tenant, ticket_numbered(tenant, 1))) == 1
    )
    globex_ticket = ticket_numbered(other_tenant, 1)
    # Globex threads its own copy of the first message; the reference [ACME-1] means nothing there.
    assert len(messages_of(other_tenant, globex_ticket)) == 2
    assert len(rows(other_tenant, Ticket)) == 2


# --- Noise --------------------------------------------------------------------------------


def test_auto_replies_to_our_mail_never_reach_the_ticket_nor_get_answered(support, tenant, agent):
    deliver(tenant, "plain_new")
    ticket = ticket_numbered(tenant, 1)
    our_reply_on(tenant, ticket, agent)
    inbound = deliver(tenant, "auto_reply_ooo")
    assert inbound.state == "ignored"
    assert "Auto-Submitted: auto-replied" in inbound.reason
    assert len(messages_of(tenant, ticket)) == 2  # Jane's mail and our reply, nothing else
    assert [o.kind for o in rows(tenant, OutboundEmail)] == ["ack", "reply"]


def test_a_bounce_of_our_reply_marks_it_failed_on_the_ticket(support, tenant, agent):
    deliver(tenant, "plain_new")
    ticket = ticket_numbered(tenant, 1)
    outbound = our_reply_on(tenant, ticket, agent)
    inbound = deliver(tenant, "bounce_dsn")
    assert inbound.state == "ignored" and "delivery-status" in inbound.reason
    (row,) = rows(tenant, OutboundEmail, pk=outbound.pk)
    assert row.state == "failed"
    assert row.last_error == "Bounced: Undelivered Mail Returned to Sender"
    (event,) = rows(tenant, TicketEvent, ticket=ticket, kind="email.bounced")
    assert event.to_value == "jane.doe@example.com" and event.is_public is False


def test_mail_carrying_a_message_id_we_sent_is_our_own(support, tenant, agent):
    deliver(tenant, "plain_new")
    outbound = our_reply_on(tenant, ticket_numbered(tenant, 1), agent)
    raw = (
        f"From: someone@example.com\r\nMessage-ID: {outbound.rfc_message_id}\r\n"
        "Subject: copy\r\n\r\nA copy of our reply, relayed back to us.\r\n"
    ).encode()
    inbound = deliver(tenant, raw)
    assert inbound.state == "ignored" and "our own outgoing mail" in inbound.reason


def test_no_acknowledgement_for_no_reply_senders_or_when_switched_off(support, tenant):
    raw = (
        b"From: Shop <noreply@shop.example>\r\nMessage-ID: <order-1@shop.example>\r\n"
        b"Subject: Your order\r\n\r\nThanks for your order.\r\n"
    )
    assert deliver(tenant, raw).state == "processed"
    services.intake_email_settings_update(
        tenant=tenant, actor=None, support_address="support@acme.test", auto_reply=False
    )
    assert deliver(tenant, "plain_new").state == "processed"
    assert rows(tenant, OutboundEmail) == []


def test_the_per_sender_rate_limit_stops_a_flood(support, tenant, other_tenant, settings):
    settings.HELPDESK_EMAIL_RATE_LIMIT = 3

    def flood(target, sender, count):
        return [
            deliver(
                target,
                f"From: {sender}\r\nMessage-ID: <flood-{sender}-{i}@x>\r\n"
                f"Subject: Flood {i}\r\n\r\nMessage {i}\r\n".encode(),
            ).state
            for i in range(count)
        ]

    assert flood(tenant, "loop@example.com", 5) == ["processed"] * 3 + ["rejected"] * 2
    assert flood(tenant, "calm@example.com", 1) == ["processed"]
    assert flood(other_tenant, "loop@example.com", 1) == ["processed"]
    rejected = rows(tenant, InboundEmail, state="rejected")
    assert "Rate limit: more than 3 messages from loop@example.com" in rejected[0].reason
    assert len(rows(tenant, Ticket)) == 4


def test_a_message_without_sender_is_rejected_with_a_reason(support, tenant):
    inbound = deliver(tenant, "no_sender")
    assert inbound.state == "rejected"
    assert inbound.reason == "No sender: the From header is missing or unreadable."


# --- Attachments and size -----------------------------------------------------------------


def test_attachments_are_stored_with_inline_images_and_blocked_types_left_out(support, tenant):
    inbound = deliver(tenant, "attachments_inline")
    assert inbound.state == "processed"
    assert "invoice-viewer.exe: blocked file type" in inbound.reason
    stored = {a.filename: a for a in rows(tenant, Attachment, message_id=inbound.message_id)}
    assert set(stored) == {"screenshot.png", "Rechnung März.pdf", "evil.html"}
    shot = stored["screenshot.png"]
    assert (shot.is_inline, shot.content_id, shot.size) == (True, "error-shot@example.net", 70)
    with stored["Rechnung März.pdf"].file.open("rb") as handle:
        assert handle.read().startswith(b"%PDF")
    assert not stored["Rechnung März.pdf"].file.name.endswith("März.pdf")  # random stored name


def test_a_20_mb_attachment_over_the_default_limit_is_refused_with_a_reason(support, tenant):
    raw = big_attachment(20)  # base64 makes the message about 27 MB
    inbound = deliver(tenant, raw)
    assert inbound.state == "rejected"
    assert inbound.reason == "Too large: the message is 27.4 MB; the limit is 25.0 MB."
    assert not inbound.raw  # the source is not kept
    assert inbound.sender == "big@example.com" and inbound.subject == "Scanned contract (20 MB)"
    assert rows(tenant, Ticket) == []
    assert deliver(tenant, raw).pk == inbound.pk  # and it is recorded once


def test_a_20_mb_attachment_under_a_raised_limit_is_stored(support, tenant, settings):
    settings.HELPDESK_EMAIL_MAX_BYTES = 30 * 1024 * 1024
    inbound = deliver(tenant, big_attachment(20))
    assert inbound.state == "processed", inbound.reason
    (attachment,) = rows(tenant, Attachment)
    assert (attachment.filename, attachment.size) == ("contract-scan.pdf", 20 * 1024 * 1024)
    assert attachment.file.size == 20 * 1024 * 1024


# --- Robustness ---------------------------------------------------------------------------


def test_processing_runs_once_per_row(support, tenant):
    inbound, _ = services.inbound_email_receive(
        tenant=tenant, raw=load("plain_new"), source="webhook", enqueue=False
    )
    services.inbound_email_process(tenant=tenant, inbound=inbound)
    services.inbound_email_process(tenant=tenant, inbound=inbound)
    assert len(rows(tenant, Message)) == 1


def test_a_missing_source_fails_with_a_reason_and_can_be_retried(support, tenant):
    inbound, _ = services.inbound_email_receive(
        tenant=tenant, raw=load("plain_new"), source="webhook", enqueue=False
    )
    inbound.raw.storage.delete(inbound.raw.name)
    inbound = services.inbound_email_process(tenant=tenant, inbound=inbound)
    assert (inbound.state, inbound.reason) == (
        "failed",
        "The stored source of this message is missing.",
    )
    with pytest.raises(Exception, match="already processed"):
        services.inbound_email_retry(
            tenant=tenant, actor=None, inbound=deliver(tenant, "gmail_reply")
        )


def test_a_rejected_message_can_be_processed_again_without_the_rate_limit(
    support, tenant, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_EMAIL_RATE_LIMIT = 1
    deliver(tenant, "plain_new")
    rejected = deliver(tenant, "gmail_reply")  # same sender: over the limit of 1
    assert rejected.state == "rejected"
    with django_capture_on_commit_callbacks(execute=True):
        services.inbound_email_retry(tenant=tenant, actor=None, inbound=rejected)
    (row,) = rows(tenant, InboundEmail, pk=rejected.pk)
    assert row.state == "processed" and row.ticket_id == ticket_numbered(tenant, 1).pk


def test_the_webhook_path_queues_processing_after_commit(
    support, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _, created = services.inbound_email_receive(
            tenant=tenant, raw=load("plain_new"), source="webhook"
        )
    assert created and len(callbacks) >= 1
    (row,) = rows(tenant, InboundEmail)
    assert row.state == "processed"
    assert len(mail.outbox) == 1  # the acknowledgement, sent by its own task after commit
    assert mail.outbox[0].to == ["jane.doe@example.com"]


def test_the_sweeper_requeues_mail_whose_task_was_lost(
    support, tenant, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    services.inbound_email_receive(
        tenant=tenant, raw=load("plain_new"), source="webhook", enqueue=False
    )
    assert services.email_sweep(tenant=tenant) == {"inbound": 0, "outbound": 0}  # too recent
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.email_sweep(tenant=tenant, now=timezone.now() + timedelta(minutes=6))
    assert counts == {"inbound": 1, "outbound": 0}
    assert rows(tenant, InboundEmail)[0].state == "processed"
