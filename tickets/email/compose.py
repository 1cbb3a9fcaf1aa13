"""Build outbound email (agent replies, acknowledgements): subject, threading headers, parts."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from tickets.email.references import strip_reply_prefixes, with_reference

# RFC 5322 recommends keeping the first and the most recent ids when References grows long.
REFERENCES_MAX = 20


def new_message_id(reference: str) -> str:
    """A fresh Message-ID in our own domain, e.g. ``<1718...ACME-1042@helpdesk.example>``."""
    return make_msgid(idstring=reference, domain=settings.HELPDESK_EMAIL_DOMAIN)


def reply_subject(ticket_subject: str, reference: str) -> str:
    return with_reference(f"Re: {strip_reply_prefixes(ticket_subject)}", reference)


def ack_subject(ticket_subject: str, reference: str) -> str:
    return with_reference(f"Received: {strip_reply_prefixes(ticket_subject)}", reference)


def references_header(message_ids: list[str]) -> str:
    ids = list(dict.fromkeys(message_ids))
    if len(ids) > REFERENCES_MAX:
        ids = [ids[0], *ids[-(REFERENCES_MAX - 1) :]]
    return " ".join(ids)


@dataclass(frozen=True)
class Outgoing:
    """Everything needed to build one outbound email."""

    message_id: str
    to: str
    subject: str
    from_address: str
    from_name: str
    reference: str
    kind: str  # "reply" or "ack"
    text: str  # the agent's reply, or the acknowledgement's text
    html: str  # the agent's reply as sanitised HTML ("" for acknowledgements)
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    tenant_name: str = ""
    agent_name: str = ""
    status_url: str = ""  # the ticket's live status page, in every email to the customer


def build_email(out: Outgoing, *, connection=None) -> EmailMultiAlternatives:
    """A text + HTML email with our threading and loop-protection headers."""
    context = {"out": out}
    text = render_to_string("tickets/email/outbound.txt", context)
    html = render_to_string("tickets/email/outbound.html", context)
    headers = {
        "Message-ID": out.message_id,
        "X-Helpdesk-Ticket": out.reference,
        # Ask Exchange and friends not to send out-of-office replies to us.
        "X-Auto-Response-Suppress": "All",
    }
    if out.in_reply_to:
        headers["In-Reply-To"] = out.in_reply_to
    if out.references:
        headers["References"] = references_header(list(out.references))
    if out.kind != "reply":
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: never answer this
    message = EmailMultiAlternatives(
        subject=out.subject,
        body=text,
        from_email=formataddr((out.from_name, out.from_address)),
        to=[out.to],
        reply_to=[out.from_address],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message
