"""What customers send, over HTTP to a running web process: a ticket through the API, the help
centre's contact form, a raw email through the inbound webhook, a batch of journey events."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from email.utils import formatdate

import requests

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def raw_email(*, sender: str, subject: str, body: str, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@acme.test"
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    message.set_content(body)
    return message.as_bytes()


def api_ticket(
    base: str, slug: str, key: str, *, email: str, subject: str, body: str
) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/t/{slug}/tickets/",
        json={"subject": subject, "body": body, "customer_email": email},
        headers={"Authorization": f"Api-Key {key}"},
        timeout=30,
    )


def web_form(base: str, slug: str, *, email: str, subject: str, message: str) -> requests.Response:
    """GET the contact form (CSRF cookie and token), then POST it; answers the POST."""
    session = requests.Session()
    url = f"{base}/t/{slug}/help/contact/"
    page = session.get(url, timeout=30)
    page.raise_for_status()
    token = CSRF_INPUT.search(page.text)
    assert token, "the contact form carries no CSRF token"
    return session.post(
        url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "name": "Casey Customer",
            "email": email,
            "subject": subject,
            "message": message,
            "website": "",
        },
        headers={"Referer": url},
        allow_redirects=False,
        timeout=30,
    )


def email_webhook(base: str, slug: str, key: str, raw: bytes) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/t/{slug}/email/inbound/",
        data=raw,
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "message/rfc822"},
        timeout=30,
    )


def events_batch(base: str, slug: str, key: str, events: list[dict]) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/t/{slug}/events/",
        json={"events": events},
        headers={"Authorization": f"Api-Key {key}"},
        timeout=30,
    )
