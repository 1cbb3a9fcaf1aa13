"""Writes of the public contact form: a customer's message becomes a web ticket, with attachments.

Spam protection has two layers: the form's honeypot field (checked by the view, which then
pretends success and calls nothing) and a per-address rate limit here, counted in the cache so it
holds across processes when the cache is Redis.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.urls import NoReverseMatch

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Attachment, Channel, Message, Priority, StatusLink, Ticket
from tickets.services.core import customer_get_or_create, ticket_check, ticket_store

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
# What customers may attach: extension -> the content type we store (the browser's is ignored).
ALLOWED_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
}
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}


class RateLimited(Exception):
    """Too many submissions from one address; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def client_address(*, remote_addr: str, forwarded_for: str = "") -> str:
    """The client's IP address. Behind ``HELPDESK_TRUSTED_PROXY_HOPS`` reverse proxies, the
    address the nearest trusted proxy saw (taken from the right of X-Forwarded-For, which a
    client cannot forge past the proxies)."""
    hops = settings.HELPDESK_TRUSTED_PROXY_HOPS
    candidate = remote_addr or ""
    if hops > 0 and forwarded_for:
        chain = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if chain:
            candidate = chain[-hops] if len(chain) >= hops else chain[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return "unknown"


def rate_limit_hit(*, key: str, limit: int, window: int) -> bool:
    """Count one hit on ``key``; True when the limit for the window is exceeded."""
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        count = 1
    return count > limit


@dataclass(frozen=True)
class CleanAttachment:
    upload: UploadedFile
    filename: str
    content_type: str
    size: int


def attachments_validate(files: Iterable[UploadedFile]) -> list[CleanAttachment]:
    """Check count, sizes and types; the stored type comes from the extension and the content."""
    files = list(files)
    if len(files) > MAX_FILES:
        raise ValidationError({"attachments": f"Attach at most {MAX_FILES} files."})
    clean, total = [], 0
    for upload in files:
        name = os.path.basename((upload.name or "").replace("\\", "/")).strip()[:200] or "file"
        size = upload.size or 0
        total += size
        ext = os.path.splitext(name)[1].lower()
        content_type = ALLOWED_TYPES.get(ext)
        if content_type is None:
            allowed = ", ".join(sorted({e.lstrip(".") for e in ALLOWED_TYPES}))
            raise ValidationError(
                {"attachments": f"{name}: this type of file cannot be attached (use {allowed})."}
            )
        if size == 0:
            raise ValidationError({"attachments": f"{name} is empty."})
        if size > MAX_FILE_BYTES:
            raise ValidationError(
                {"attachments": f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB."}
            )
        upload.seek(0)
        head = upload.read(8192)
        upload.seek(0)
        if not _content_matches(content_type, head):
            raise ValidationError(
                {"attachments": f"{name} does not look like a {ext.lstrip('.')} file."}
            )
        clean.append(CleanAttachment(upload, name, content_type, size))
    if total > MAX_TOTAL_BYTES:
        raise ValidationError(
            {
                "attachments": f"Attachments add up to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB."
            }
        )
    return clean


def _content_matches(content_type: str, head: bytes) -> bool:
    if content_type in _MAGIC:
        return head.startswith(_MAGIC[content_type])
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return b"\x00" not in head  # text: no binary content


def attachment_store(
    *, tenant: Tenant, message: Message, attachment: CleanAttachment
) -> Attachment:
    """Store one checked upload on ``message`` under a random name (the original is kept as
    ``filename``)."""
    ext = mimetypes.guess_extension(attachment.content_type) or ""
    if attachment.content_type == "image/jpeg":
        ext = ".jpg"
    stored = Attachment(
        tenant=tenant,
        message=message,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
    )
    with tenant_context(tenant):
        if message.tenant_id != tenant.pk:
            raise ValidationError("Message belongs to another tenant.")
        stored.file.save(f"{uuid.uuid4().hex}{ext}", attachment.upload, save=False)
        stored.save()
    return stored


@dataclass(frozen=True)
class WebformResult:
    ticket: Ticket
    reference: str
    status_url: str  # the ticket's live status page ("" when status pages are not available)


def _status_url(link: StatusLink) -> str:
    try:
        from tickets.services.status import status_link_address
    except ImportError:  # status pages not installed
        return ""
    try:
        return status_link_address(link)
    except NoReverseMatch:  # status pages not routed
        return ""


def webform_submit(
    *,
    tenant: Tenant,
    name: str,
    email: str,
    subject: str,
    message: str,
    attachments: Iterable[UploadedFile] = (),
    client_ip: str,
) -> WebformResult:
    """Open a web ticket from the contact form, with its status-page link. Raises
    ``RateLimited`` past the per-address limit, ``ValidationError`` for bad input; stores
    nothing in either case."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": "Enter a valid email address."}) from exc
    if not (subject or "").strip():
        raise ValidationError({"subject": "A subject is required."})
    if not (message or "").strip():
        raise ValidationError({"message": "Write your message."})
    files = attachments_validate(attachments)
    limit = settings.HELPDESK_WEBFORM_MAX_PER_IP
    window = settings.HELPDESK_WEBFORM_WINDOW_SECONDS
    if rate_limit_hit(key=f"webform:{tenant.pk}:{client_ip}", limit=limit, window=window):
        raise RateLimited(
            "You have sent several messages in a short time. Please wait a few minutes and "
            "try again; we have your earlier messages.",
            retry_after=window,
        )
    subject, body = subject.strip()[:250], message.strip()
    ticket_check(subject=subject, body=body, channel=Channel.WEB, priority=Priority.NORMAL)
    # One savepoint for the whole use case (customer, ticket, attachments): the ticket is stored
    # by ``ticket_create``'s body, in this scope, and its status link comes back with it.
    with tenant_context(tenant):
        customer, created = customer_get_or_create(
            tenant=tenant, email=email, name=(name or "").strip()[:200]
        )
        if not created and not customer.name and name.strip():
            customer.name = name.strip()[:200]
            customer.save(update_fields=["name"])
        stored = ticket_store(
            tenant=tenant,
            customer=customer,
            subject=subject,
            body=body,
            channel=Channel.WEB,
            new_customer=created,
        )
        for attachment in files:
            attachment_store(tenant=tenant, message=stored.message, attachment=attachment)
        status_url = _status_url(stored.link)
    return WebformResult(
        ticket=stored.ticket,
        reference=stored.ticket.reference_with(tenant.reference_prefix),
        status_url=status_url,
    )
