"""Outbound email: agent replies and acknowledgements, sent by the task through Django's email
backend (locmem in tests), with threading headers, retries and failures visible on the ticket."""

from __future__ import annotations

import smtplib
import time
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory, TicketFactory
from tests.fixtures.email.build_corpus import JANE_FIRST_ID, load
from tickets import services
from tickets.models import Channel, InboundEmail, Message, OutboundEmail, TicketEvent
from tickets.selectors_status import status_link_active_for
from tickets.services.email_out import RETRY_COUNTDOWNS
from tickets.services.status import status_link_rotate
from tickets.tasks import outbound_email_send_task
from tickets.tasks.email import EmailSendFailed

SENT: list = []


class FailingBackend(BaseEmailBackend):
    """An SMTP server that refuses everything (what leaves the process is what we fake)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"jane.doe@example.com": (550, b"mailbox full")})


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HELPDESK_EMAIL_DOMAIN = "acme.helpdesk.test"


def rows(tenant, model, **filters):
    with tenant_context(tenant):
        return list(model.objects.for_tenant(tenant).filter(**filters).order_by("pk"))


def receive(tenant, raw: bytes) -> InboundEmail:
    inbound, _ = services.inbound_email_receive(
        tenant=tenant, raw=raw, source="webhook", enqueue=False
    )
    return services.inbound_email_process(tenant=tenant, inbound=inbound)


@pytest.fixture
def email_ticket(tenant):
    """Jane's ticket ACME-1, opened by her email (its acknowledgement is queued, not sent)."""
    services.intake_email_settings_update(
        tenant=tenant, actor=None, support_address="support@acme.test", auto_reply=True
    )
    return receive(tenant, load("plain_new")).ticket


def reply(tenant, ticket, agent, body="Please unplug it.", **kwargs) -> Message:
    return services.message_create(
        tenant=tenant, ticket=ticket, author_user=agent, body=body, **kwargs
    )


def send_all(tenant) -> list[dict]:
    return [
        outbound_email_send_task(tenant.pk, row.pk)
        for row in rows(tenant, OutboundEmail, state="pending")
    ]


def test_an_agent_reply_becomes_a_threaded_email_with_text_and_html(
    tenant, agent, email_ticket, django_capture_on_commit_callbacks
):
    agent.full_name = "Dana Scully"
    agent.save(update_fields=["full_name"])
    send_all(tenant)  # the acknowledgement goes out first
    (ack_mail,) = mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(tenant, email_ticket, agent, body="Please unplug it <now>.")
    assert len(mail.outbox) == 2
    sent = mail.outbox[-1]
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    assert (outbound.state, outbound.attempts, outbound.message_id) == ("sent", 1, message.pk)
    assert outbound.sent_at is not None
    assert sent.to == ["jane.doe@example.com"]
    assert sent.from_email == "Acme <support@acme.test>"
    assert sent.reply_to == ["support@acme.test"]
    assert sent.subject == "Re: Printer on fire [ACME-1]"
    headers = sent.extra_headers
    assert headers["Message-ID"] == outbound.rfc_message_id
    assert outbound.rfc_message_id.endswith("@acme.helpdesk.test>")
    assert headers["In-Reply-To"] == JANE_FIRST_ID
    assert headers["References"] == f"{JANE_FIRST_ID} {ack_mail.extra_headers['Message-ID']}"
    assert headers["X-Helpdesk-Ticket"] == "ACME-1"
    assert "Auto-Submitted" not in headers  # a person wrote it
    assert "Please unplug it <now>." in sent.body
    assert "Dana, Acme" in sent.body and "[ACME-1]" in sent.body
    ((html, mimetype),) = sent.alternatives
    assert mimetype == "text/html"
    assert "Please unplug it &lt;now&gt;." in html  # the sanitised HTML of the message
    parsed = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"].strip() == outbound.rfc_message_id


def test_the_acknowledgement_is_marked_automatic_so_nobody_answers_it(tenant, email_ticket):
    (result,) = send_all(tenant)
    assert result["state"] == "sent"
    (ack,) = mail.outbox
    assert ack.subject == "Received: Printer on fire [ACME-1]"
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["X-Auto-Response-Suppress"] == "All"
    assert ack.extra_headers["In-Reply-To"] == JANE_FIRST_ID
    assert "opened ticket ACME-1" in ack.body and "Hello Jane," in ack.body


def status_token(tenant, ticket) -> str:
    with tenant_context(tenant):
        link = status_link_active_for(tenant=tenant, ticket_id=ticket.pk)
    return link.token


def test_every_email_to_the_customer_links_the_tickets_status_page(
    client, tenant, agent, email_ticket, django_capture_on_commit_callbacks, settings
):
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    send_all(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        reply(tenant, email_ticket, agent)
    ack, answer = mail.outbox
    url = f"https://help.acme.test/status/{status_token(tenant, email_ticket)}/"
    for sent in (ack, answer):
        assert f"See where your request stands, any time: {url}" in sent.body
        ((html, _),) = sent.alternatives
        assert f'<a href="{url}"' in html
    # The link opens this ticket's page, with no sign-in.
    page = client.get(url.removeprefix("https://help.acme.test"))
    assert page.status_code == 200 and "Printer on fire" in page.content.decode()


def test_after_the_link_is_replaced_emails_carry_the_new_one_only(
    tenant, agent, email_ticket, django_capture_on_commit_callbacks
):
    old = status_token(tenant, email_ticket)
    status_link_rotate(tenant=tenant, actor=agent, ticket=email_ticket)
    new = status_token(tenant, email_ticket)
    with django_capture_on_commit_callbacks(execute=True):
        reply(tenant, email_ticket, agent)
    sent = mail.outbox[-1]
    assert sent.subject.startswith("Re: ")
    assert f"/status/{new}/" in sent.body and old not in sent.body
    assert old not in sent.alternatives[0][0]


def test_a_customer_reply_to_our_email_lands_on_the_ticket(tenant, agent, email_ticket):
    reply(tenant, email_ticket, agent)
    send_all(tenant)
    ours = mail.outbox[-1]
    answer = (
        f"From: Jane Doe <jane.doe@example.com>\r\nTo: support@acme.test\r\n"
        f"Subject: Re: {ours.subject}\r\nMessage-ID: <jane-answer-2@example.com>\r\n"
        f"In-Reply-To: {ours.extra_headers['Message-ID']}\r\n"
        f"References: {ours.extra_headers['References']} {ours.extra_headers['Message-ID']}\r\n"
        "\r\nDone, it works again.\r\n\r\n"
        "On Mon, 10 Jun 2024 at 12:40, Acme <support@acme.test> wrote:\r\n> Please unplug it.\r\n"
    ).encode()
    inbound = receive(tenant, answer)
    assert inbound.ticket_id == email_ticket.pk
    assert rows(tenant, Message, ticket=email_ticket)[-1].body_text == "Done, it works again."


@pytest.mark.parametrize(
    "case",
    ["internal note", "web ticket", "no customer email", "no-reply customer", "backfilled"],
)
def test_no_email_is_sent_when_it_should_not_be(tenant, agent, case):
    from django.utils import timezone

    customer = CustomerFactory(
        tenant=tenant,
        email={"no customer email": "", "no-reply customer": "noreply@shop.example"}.get(
            case, "c@example.com"
        ),
    )
    ticket = TicketFactory(
        tenant=tenant,
        customer=customer,
        channel=Channel.WEB if case == "web ticket" else Channel.EMAIL,
    )
    reply(
        tenant,
        ticket,
        agent,
        is_internal=case == "internal note",
        at=timezone.now() if case == "backfilled" else None,
    )
    assert rows(tenant, OutboundEmail) == []


def test_running_the_task_twice_sends_once(tenant, agent, email_ticket):
    reply(tenant, email_ticket, agent)
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    first = outbound_email_send_task(tenant.pk, outbound.pk)
    second = outbound_email_send_task(tenant.pk, outbound.pk)
    assert (first["sent"], second["sent"], second["state"]) == (True, False, "sent")
    assert [m.subject for m in mail.outbox].count("Re: Printer on fire [ACME-1]") == 1


def test_the_task_only_sees_its_own_tenants_emails(tenant, other_tenant, agent, email_ticket):
    reply(tenant, email_ticket, agent)
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    assert outbound_email_send_task(other_tenant.pk, outbound.pk)["state"] == "missing"
    assert rows(tenant, OutboundEmail, pk=outbound.pk)[0].state == "pending"


def test_failed_sends_are_retried_with_backoff_then_shown_on_the_ticket(
    tenant, agent, email_ticket, settings
):
    settings.EMAIL_BACKEND = "tests.tickets.test_email_outbound.FailingBackend"
    reply(tenant, email_ticket, agent)
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    countdowns = []
    for attempt in range(1, 5):
        with pytest.raises(EmailSendFailed) as failure:
            outbound_email_send_task(tenant.pk, outbound.pk)
        countdowns.append(failure.value.retry_in)
        (row,) = rows(tenant, OutboundEmail, pk=outbound.pk)
        assert (row.state, row.attempts) == ("pending", attempt)
        assert "SMTPRecipientsRefused" in row.last_error
    assert countdowns == list(RETRY_COUNTDOWNS) == [60, 300, 1800, 7200]
    assert rows(tenant, TicketEvent, kind="email.failed") == []

    result = outbound_email_send_task(tenant.pk, outbound.pk)  # the fifth and last attempt
    assert (result["state"], result["retry_in"]) == ("failed", None)
    (row,) = rows(tenant, OutboundEmail, pk=outbound.pk)
    assert (row.state, row.attempts) == ("failed", 5)
    assert "gave up after 5 attempts" in row.last_error
    (event,) = rows(tenant, TicketEvent, ticket=email_ticket, kind="email.failed")
    assert event.to_value == "jane.doe@example.com" and not event.is_public
    assert event.data["kind"] == "reply" and "mailbox full" in event.data["error"]
    assert mail.outbox == []


def test_the_ticket_page_shows_a_failed_send(client, tenant, agent, email_ticket, settings):
    settings.EMAIL_BACKEND = "tests.tickets.test_email_outbound.FailingBackend"
    reply(tenant, email_ticket, agent)
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    outbound_email_send_task.apply(args=(tenant.pk, outbound.pk)).get()
    client.force_login(agent)
    page = client.get(f"/t/acme/tickets/{email_ticket.number}/").content.decode()
    assert "Email to jane.doe@example.com could not be sent" in page
    assert "mailbox full" in page and "<strong>email.failed" not in page


def test_in_process_runs_fail_at_once_and_never_retry_inline(tenant, agent, email_ticket, settings):
    settings.EMAIL_BACKEND = "tests.tickets.test_email_outbound.FailingBackend"
    reply(tenant, email_ticket, agent)
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    result = outbound_email_send_task.apply(args=(tenant.pk, outbound.pk)).get()
    assert result["state"] == "failed"
    (row,) = rows(tenant, OutboundEmail, pk=outbound.pk)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "not retried: no task worker" in row.last_error
    assert len(rows(tenant, TicketEvent, kind="email.failed")) == 1


def test_a_failing_mail_server_does_not_fail_the_agents_reply(
    tenant, agent, email_ticket, settings, client, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.tickets.test_email_outbound.FailingBackend"
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/t/acme/tickets/{email_ticket.number}/reply/", {"body": "Hello Jane"}
        )
    assert response.status_code == 302
    assert rows(tenant, Message, ticket=email_ticket)[-1].body_text == "Hello Jane"
    (outbound,) = rows(tenant, OutboundEmail, kind="reply")
    assert outbound.state == "failed"
    assert len(rows(tenant, TicketEvent, ticket=email_ticket, kind="email.failed")) == 1


def test_the_sweeper_sends_what_was_never_attempted(
    tenant, agent, email_ticket, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    reply(tenant, email_ticket, agent)
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.email_sweep(tenant=tenant, now=timezone.now() + timedelta(minutes=11))
    assert counts == {"inbound": 0, "outbound": 2}
    assert {o.state for o in rows(tenant, OutboundEmail)} == {"sent"}
    assert len(mail.outbox) == 2


@pytest.mark.redis_only
def test_a_real_worker_sends_a_reply_posted_through_the_api(
    real_celery_worker, tenant, agent, api_client_for
):
    customer = CustomerFactory(tenant=tenant, email="worker@example.com")
    ticket = TicketFactory(tenant=tenant, customer=customer, subject="Via the worker")
    response = api_client_for(agent).post(
        f"/api/v1/t/acme/tickets/{ticket.public_id}/messages/",
        {"body": "Sent by a worker"},
        format="json",
    )
    assert response.status_code == 201
    deadline = time.monotonic() + 30
    while not rows(tenant, OutboundEmail, state="sent"):
        assert time.monotonic() < deadline, "the worker did not send the reply"
        time.sleep(0.1)
    (sent,) = mail.outbox
    assert sent.to == ["worker@example.com"]
    assert sent.subject == f"Re: Via the worker [ACME-{ticket.number}]"
    assert "Sent by a worker" in sent.body
