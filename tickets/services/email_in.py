"""Inbound email: every message is stored first, then processed into the right ticket, once.

Paths in: the per-tenant webhook (``tickets.api.email``), IMAP mailboxes polled by beat
(``mailbox_poll``) and imports of mbox files or .eml folders (``manage.py email_import``). All of
them call ``inbound_email_receive``, which stores the raw source as an ``InboundEmail``
(de-duplicated by Message-ID: the same message twice is stored once) and queues
``inbound_email_process``. Processing is idempotent: only a ``received`` row is processed.

What becomes of a message is recorded on its row (``state`` and ``reason``):

- ``processed``: a new ticket, or a new message on the ticket it replies to. Threading: the
  In-Reply-To/References ids against the Message-IDs we sent (``OutboundEmail``) and received
  (``Message.external_id``), then the ``[ACME-1042]`` reference in the subject when the sender
  is that ticket's customer; a reply to a closed ticket opens a follow-up ticket. The visible body
  has quoted history and signatures stripped; the raw source stays on the row.
- ``ignored``: noise (auto-replies, bounces, our own mail). A bounce of a mail we sent marks that
  ``OutboundEmail`` failed and adds ``email.bounced`` to the ticket's timeline.
- ``rejected``: too large (``HELPDESK_EMAIL_MAX_BYTES``, the source is not kept), no usable
  sender, or over the per-sender rate limit.
- ``failed``: an unexpected error; an admin can process it again from the mailboxes page.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.email import selectors
from tickets.email.attachments import attachment_refusal, megabytes, storage_name
from tickets.email.imap import ImapError, ImapSession
from tickets.email.noise import Noise, classify_noise, is_unanswerable_address
from tickets.email.parse import (
    ParsedAttachment,
    ParsedEmail,
    parse_email,
    parse_headers,
    synthetic_message_id,
)
from tickets.email.ratelimit import sender_allowance_take
from tickets.email.references import subject_reference
from tickets.email.reply import visible_body
from tickets.events import event_record
from tickets.models import (
    Attachment,
    Channel,
    InboundEmail,
    IntakeSettings,
    Mailbox,
    Message,
    OutboundEmail,
    Status,
    Ticket,
)
from tickets.services.core import customer_get_or_create, message_create, ticket_create
from tickets.services.email_out import OUTBOUND_STALE_AFTER, email_ack_queue

logger = logging.getLogger(__name__)

SOURCES = ("webhook", "imap", "import")
REASON_MAX = 300
BODY_MAX = 200_000
# Received rows older than this are processed again by the sweeper (their task was lost).
STALE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500

State = InboundEmail.State


# --- Store first --------------------------------------------------------------------------


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown inbound email source {source!r}")


def inbound_email_receive(
    *, tenant: Tenant, raw: bytes, source: str, enqueue: bool = True
) -> tuple[InboundEmail, bool]:
    """Store a raw RFC 5322 message and queue its processing (after commit).

    Returns ``(row, created)``; a message whose Message-ID is already stored returns the existing
    row and ``created=False``, storing nothing. A message without a Message-ID gets a stable
    stand-in derived from its bytes, so posting the same bytes twice is still stored once.
    Oversized messages are refused (recorded, source not kept): see ``inbound_email_refuse``.
    """
    from tickets.tasks.email import inbound_email_process_task  # tasks import the services

    _check_source(source)
    if not raw or not raw.strip():
        raise ValidationError({"raw": "The message is empty."})
    if len(raw) > settings.HELPDESK_EMAIL_MAX_BYTES:
        return inbound_email_refuse_oversized(
            tenant=tenant, head=raw[:65536], size=len(raw), source=source
        )
    headers = parse_headers(raw)
    message_id = headers.message_id or synthetic_message_id(raw)
    # The insert is the duplicate check (the unique Message-ID per tenant): one round trip fewer
    # on the hot path than looking first. A duplicate rolls back this scope's savepoint only.
    try:
        with tenant_context(tenant):
            inbound = InboundEmail(
                tenant=tenant,
                rfc_message_id=message_id,
                source=source,
                size=len(raw),
                sender=headers.sender[:320],
                subject=headers.subject[:500],
            )
            inbound.raw.save(f"{uuid.uuid4().hex}.eml", ContentFile(raw), save=False)
            try:
                inbound.save()
            except IntegrityError:
                inbound.raw.delete(save=False)
                raise
            if enqueue:
                inbound_email_process_task.delay_on_commit(tenant.pk, inbound.pk)
    except IntegrityError:
        with tenant_context(tenant):
            existing = selectors.inbound_email_get_by_message_id(
                tenant=tenant, message_id=message_id
            )
        if existing is None:
            raise
        return existing, False
    return inbound, True


def inbound_email_refuse_oversized(
    *, tenant: Tenant, head: bytes, size: int, source: str
) -> tuple[InboundEmail, bool]:
    """Record a message over ``HELPDESK_EMAIL_MAX_BYTES`` as rejected, from its head alone."""
    _check_source(source)
    headers = parse_headers(head)
    limit = settings.HELPDESK_EMAIL_MAX_BYTES
    reason = f"Too large: the message is {megabytes(size)}; the limit is {megabytes(limit)}."
    with tenant_context(tenant):
        existing = selectors.inbound_email_get_by_message_id(
            tenant=tenant, message_id=headers.message_id
        )
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                inbound = InboundEmail.objects.create(
                    tenant=tenant,
                    rfc_message_id=headers.message_id,
                    source=source,
                    size=min(size, 2**31 - 1),
                    sender=headers.sender[:320],
                    subject=headers.subject[:500],
                    state=State.REJECTED,
                    reason=reason,
                )
        except IntegrityError:
            existing = selectors.inbound_email_get_by_message_id(
                tenant=tenant, message_id=headers.message_id
            )
            if existing is None:
                raise
            return existing, False
    logger.info("inbound email refused in tenant %s: %s", tenant.pk, reason)
    return inbound, True


# --- Process ------------------------------------------------------------------------------


@dataclass
class _Outcome:
    state: str
    reason: str = ""
    ticket: Ticket | None = None
    message: Message | None = None
    notes: list[str] = field(default_factory=list)


def inbound_email_process(
    *,
    tenant: Tenant,
    inbound: InboundEmail,
    rate_limit: bool | None = None,
    acknowledge: bool | None = None,
) -> InboundEmail:
    """Turn a ``received`` row into a ticket or a reply, or record why not. Runs once per row.

    ``rate_limit`` and ``acknowledge`` default to on, and to off for imports (a migration brings
    many mails from one sender and must not write to customers).
    """
    with tenant_context(tenant):
        row = (
            InboundEmail.objects.for_tenant(tenant)
            .select_for_update()
            .filter(pk=inbound.pk)
            .first()
        )
        if row is None or row.state != State.RECEIVED:
            return row or inbound
        is_import = row.source == "import"
        try:
            with transaction.atomic():
                outcome = _process(
                    tenant=tenant,
                    inbound=row,
                    rate_limit=not is_import if rate_limit is None else rate_limit,
                    acknowledge=not is_import if acknowledge is None else acknowledge,
                )
        except Exception as exc:
            logger.exception("inbound email %s of tenant %s failed", row.pk, tenant.pk)
            outcome = _Outcome(State.FAILED, f"{type(exc).__name__}: {exc}")
        row.state = outcome.state
        row.reason = "; ".join(filter(None, [outcome.reason, *outcome.notes]))[:REASON_MAX]
        row.ticket = outcome.ticket
        row.message = outcome.message
        row.save(update_fields=["state", "reason", "ticket", "message"])
    return row


def _read_raw(inbound: InboundEmail) -> bytes | None:
    if not inbound.raw:
        return None
    try:
        with inbound.raw.open("rb") as handle:
            return handle.read()
    except OSError:
        return None


def _process(
    *, tenant: Tenant, inbound: InboundEmail, rate_limit: bool, acknowledge: bool
) -> _Outcome:
    raw = _read_raw(inbound)
    if raw is None:
        return _Outcome(State.FAILED, "The stored source of this message is missing.")
    parsed = parse_email(raw)
    intake = selectors.intake_settings_get(tenant=tenant)
    noise = classify_noise(parsed, own_addresses=selectors.own_addresses(tenant=tenant))
    if noise is None and _is_our_message_id(tenant=tenant, message_id=parsed.message_id):
        noise = Noise("own", "our own outgoing mail (its Message-ID is one we sent)")
    if noise is not None:
        if noise.kind == "bounce":
            _record_bounce(tenant=tenant, parsed=parsed)
        return _Outcome(State.IGNORED, f"Ignored: {noise.reason}.")
    if not parsed.sender:
        return _Outcome(State.REJECTED, "No sender: the From header is missing or unreadable.")
    message_id = inbound.rfc_message_id
    duplicate = Message.objects.for_tenant(tenant).filter(external_id=message_id).first()
    if duplicate is not None:
        return _Outcome(
            State.IGNORED,
            "Already in the conversation (same Message-ID).",
            ticket=duplicate.ticket,
            message=duplicate,
        )
    if rate_limit and not sender_allowance_take(tenant_id=tenant.pk, sender=parsed.sender):
        minutes = max(1, settings.HELPDESK_EMAIL_RATE_WINDOW // 60)
        return _Outcome(
            State.REJECTED,
            f"Rate limit: more than {settings.HELPDESK_EMAIL_RATE_LIMIT} messages from "
            f"{parsed.sender} in {minutes} minutes.",
        )

    ticket = _thread(tenant=tenant, parsed=parsed)
    customer, new_customer = customer_get_or_create(
        tenant=tenant, email=parsed.sender, name=parsed.sender_name
    )
    at = _sent_at(parsed) if inbound.source == "import" else None
    body = _body(parsed)
    if ticket is not None:
        message = message_create(
            tenant=tenant,
            ticket=ticket,
            body=body,
            author_customer=customer,
            channel=Channel.EMAIL,
            external_id=message_id,
            at=at,
        )
        created = False
    else:
        ticket = ticket_create(
            tenant=tenant,
            customer=customer,
            subject=parsed.subject or "(no subject)",
            body=body,
            channel=Channel.EMAIL,
            external_id=message_id,
            at=at,
            new_customer=new_customer,
        )
        message = Message.objects.for_tenant(tenant).get(external_id=message_id)
        created = True
    notes = _store_attachments(tenant=tenant, message=message, attachments=parsed.attachments)
    if created and acknowledge and intake.auto_reply and not is_unanswerable_address(parsed.sender):
        email_ack_queue(tenant=tenant, ticket=ticket, message=message)
    reference = ticket.reference_with(tenant.reference_prefix)
    reason = f"New ticket {reference}." if created else f"Reply added to {reference}."
    return _Outcome(State.PROCESSED, reason, ticket=ticket, message=message, notes=notes)


def _is_our_message_id(*, tenant: Tenant, message_id: str) -> bool:
    return bool(message_id) and (
        OutboundEmail.objects.for_tenant(tenant).filter(rfc_message_id=message_id).exists()
    )


def _thread(*, tenant: Tenant, parsed: ParsedEmail) -> Ticket | None:
    """The open ticket this mail continues, or None for a new ticket."""
    ticket = selectors.ticket_for_message_ids(tenant=tenant, message_ids=parsed.thread_ids)
    if ticket is None:
        number = subject_reference(parsed.subject, tenant.reference_prefix)
        candidate = selectors.ticket_by_number(tenant=tenant, number=number) if number else None
        # A subject reference is guessable: it only threads mail from the ticket's own customer.
        if candidate is not None and candidate.customer.email.lower() == parsed.sender:
            ticket = candidate
    if ticket is not None and ticket.status == Status.CLOSED:
        return None  # closed is final: writing again opens a follow-up ticket
    return ticket


def _sent_at(parsed: ParsedEmail) -> datetime | None:
    """The Date header for imported history (never in the future)."""
    if parsed.date is None:
        return None
    return min(parsed.date, timezone.now())


def _body(parsed: ParsedEmail) -> str:
    text = parsed.text.strip()
    body = visible_body(text)[:BODY_MAX].strip()
    if body:
        return body
    names = ", ".join(a.filename for a in parsed.attachments[:10])
    return f"(No text; attachments: {names})" if names else "(No text)"


def _store_attachments(
    *, tenant: Tenant, message: Message, attachments: list[ParsedAttachment]
) -> list[str]:
    """Store what the policy allows through Django's storage API; return notes on the rest."""
    kept = 0
    skipped = []
    for attachment in attachments:
        refusal = attachment_refusal(attachment, kept_so_far=kept)
        if refusal:
            skipped.append(refusal)
            continue
        Attachment.objects.create(
            tenant=tenant,
            message=message,
            file=ContentFile(attachment.payload, name=storage_name(attachment.filename)),
            filename=attachment.filename[:255],
            content_type=attachment.content_type[:100],
            size=attachment.size,
            content_id=attachment.content_id[:255],
            is_inline=attachment.is_inline,
        )
        kept += 1
    return [f"Attachment not kept: {note}" for note in skipped]


def _record_bounce(*, tenant: Tenant, parsed: ParsedEmail) -> None:
    """A bounce of a mail we sent: mark it failed and say so on the ticket's timeline."""
    ids = [*parsed.reported_message_ids, *parsed.thread_ids]
    outbound = selectors.outbound_email_for_message_ids(tenant=tenant, message_ids=ids)
    if outbound is None:
        return
    summary = f"Bounced: {parsed.subject or 'delivery failed'}"[:500]
    OutboundEmail.objects.for_tenant(tenant).filter(pk=outbound.pk).update(
        state=OutboundEmail.State.FAILED, last_error=summary
    )
    event_record(
        tenant=tenant,
        ticket=outbound.ticket,
        kind="email.bounced",
        to_value=outbound.to[:200],
        data={"kind": outbound.kind, "subject": outbound.subject[:200], "error": summary[:300]},
        is_public=False,
    )


def inbound_email_retry(*, tenant: Tenant, actor: User | None, inbound: InboundEmail) -> None:
    """Process a failed, rejected or ignored message again (rate limit off: a person decided)."""
    from tickets.tasks.email import inbound_email_process_task

    with tenant_context(tenant):
        row = (
            InboundEmail.objects.for_tenant(tenant)
            .select_for_update()
            .filter(pk=inbound.pk)
            .first()
        )
        if row is None:
            raise ValidationError("That message no longer exists.")
        if row.state in {State.RECEIVED, State.PROCESSED}:
            raise ValidationError("This message is already processed or queued.")
        if not row.raw:
            raise ValidationError("The source of this message was not kept (it was too large).")
        row.state, row.reason = State.RECEIVED, ""
        row.save(update_fields=["state", "reason"])
        inbound_email_process_task.apply_async_on_commit((tenant.pk, row.pk), {"rate_limit": False})
    logger.info("inbound email %s of tenant %s retried by %s", row.pk, tenant.pk, actor)


# --- Sweeper ------------------------------------------------------------------------------


def email_sweep(*, tenant: Tenant, now: datetime | None = None) -> dict[str, int]:
    """Queue again what a lost task left behind: received mail and never-attempted sends."""
    from tickets.tasks.email import inbound_email_process_task, outbound_email_send_task

    now = now or timezone.now()
    with tenant_context(tenant):
        inbound_ids = list(
            InboundEmail.objects.for_tenant(tenant)
            .filter(state=State.RECEIVED, received_at__lt=now - STALE_AFTER)
            .order_by("received_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        outbound_ids = list(
            OutboundEmail.objects.for_tenant(tenant)
            .filter(
                state=OutboundEmail.State.PENDING,
                attempts=0,
                created_at__lt=now - OUTBOUND_STALE_AFTER,
            )
            .order_by("created_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        for pk in inbound_ids:
            inbound_email_process_task.delay_on_commit(tenant.pk, pk)
        for pk in outbound_ids:
            outbound_email_send_task.delay_on_commit(tenant.pk, pk)
    return {"inbound": len(inbound_ids), "outbound": len(outbound_ids)}


# --- Settings and mailboxes ---------------------------------------------------------------


def intake_email_settings_update(
    *, tenant: Tenant, actor: User | None, support_address: str, auto_reply: bool
) -> IntakeSettings:
    """The support address (replies come from it) and whether new tickets are acknowledged."""
    support_address = (support_address or "").strip().lower()
    with tenant_context(tenant):
        intake, _ = IntakeSettings.objects.get_or_create(tenant=tenant)
        intake.support_address = support_address
        intake.auto_reply = bool(auto_reply)
        intake.full_clean(exclude=["tenant", "inbound_secret"])
        intake.save(update_fields=["support_address", "auto_reply"])
    return intake


def inbound_secret_rotate(*, tenant: Tenant, actor: User | None) -> str:
    """A new signing secret for the inbound webhook (the old one stops working). Show it once."""
    secret = secrets.token_hex(32)
    with tenant_context(tenant):
        intake, _ = IntakeSettings.objects.get_or_create(tenant=tenant)
        intake.inbound_secret = secret
        intake.save(update_fields=["inbound_secret"])
        audit_record(
            tenant=tenant,
            action="inbound_secret_rotated",
            actor=actor if isinstance(actor, User) else None,
            target="inbound email webhook",
        )
    logger.info("inbound email secret of tenant %s rotated by %s", tenant.pk, actor)
    return secret


_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def _clean_host(host: str) -> str:
    host = (host or "").strip().rstrip(".").lower()
    if not _HOST.match(host):
        raise ValidationError({"host": "Enter a host name such as imap.example.com."})
    if settings.IS_PRODUCTION:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES) or (ip and not ip.is_global):
            raise ValidationError({"host": "The mail server must be a public internet host."})
    return host


def _clean_mailbox_fields(fields: dict) -> dict:
    cleaned = dict(fields)
    if "host" in cleaned:
        cleaned["host"] = _clean_host(cleaned["host"])
    if "port" in cleaned:
        port = cleaned["port"]
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValidationError({"port": "Enter a port between 1 and 65535."})
    for name, limit in (("username", 200), ("folder", 100), ("password", 500)):
        if name in cleaned:
            value = (cleaned[name] or "").strip() if name != "password" else cleaned[name] or ""
            if not value:
                raise ValidationError({name: "This field is required."})
            if len(value) > limit:
                raise ValidationError({name: f"At most {limit} characters."})
            cleaned[name] = value
    return cleaned


def mailbox_create(
    *,
    tenant: Tenant,
    actor: User | None,
    host: str,
    username: str,
    password: str,
    port: int = 993,
    folder: str = "INBOX",
    use_tls: bool = True,
) -> Mailbox:
    """Add an IMAP mailbox; the next poll (within a minute) starts reading it."""
    fields = _clean_mailbox_fields(
        {"host": host, "port": port, "username": username, "password": password, "folder": folder}
    )
    with tenant_context(tenant):
        if (
            Mailbox.objects.for_tenant(tenant)
            .filter(host=fields["host"], username=fields["username"], folder=fields["folder"])
            .exists()
        ):
            raise ValidationError({"username": "This mailbox and folder are already polled."})
        mailbox = Mailbox.objects.create(tenant=tenant, use_tls=bool(use_tls), **fields)
    logger.info("mailbox %s added in tenant %s by %s", mailbox.pk, tenant.pk, actor)
    return mailbox


def mailbox_update(*, tenant: Tenant, actor: User | None, mailbox: Mailbox, **fields) -> Mailbox:
    """Change host, port, username, password, folder, use_tls or is_active."""
    allowed = {"host", "port", "username", "password", "folder", "use_tls", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Cannot update {sorted(unknown)}")
    fields = _clean_mailbox_fields(fields)
    with tenant_context(tenant):
        if mailbox.tenant_id != tenant.pk:
            raise ValidationError("Mailbox belongs to another tenant.")
        row = Mailbox.objects.for_tenant(tenant).select_for_update().get(pk=mailbox.pk)
        for key, value in fields.items():
            setattr(row, key, bool(value) if key in {"use_tls", "is_active"} else value)
        if {"host", "username", "folder"} & set(fields):
            row.last_uid, row.uid_validity = 0, None  # another mailbox: start from its beginning
            fields = {**fields, "last_uid": 0, "uid_validity": None}
        if {"is_active", "host", "port", "username", "password", "use_tls", "folder"} & set(fields):
            row.last_error = ""
            fields["last_error"] = ""
        try:
            with transaction.atomic():
                row.save(update_fields=sorted(fields))
        except IntegrityError as exc:
            raise ValidationError(
                {"username": "This mailbox and folder are already polled."}
            ) from exc
    return row


def mailbox_delete(*, tenant: Tenant, actor: User | None, mailbox: Mailbox) -> None:
    with tenant_context(tenant):
        if mailbox.tenant_id != tenant.pk:
            raise ValidationError("Mailbox belongs to another tenant.")
        Mailbox.objects.for_tenant(tenant).filter(pk=mailbox.pk).delete()
    logger.info("mailbox %s deleted in tenant %s by %s", mailbox.pk, tenant.pk, actor)


@dataclass(frozen=True)
class PollOutcome:
    mailbox: int
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    error: str = ""
    skipped: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def mailbox_poll(*, tenant: Tenant, mailbox: Mailbox, now: datetime | None = None) -> PollOutcome:
    """Fetch the mailbox's new messages (by UID, at most ``HELPDESK_IMAP_BATCH``) and store them.

    A changed UIDVALIDITY starts over from the first message (Message-IDs keep it exactly-once).
    Connection and protocol errors are recorded on the mailbox, never raised: beat polls again.
    """
    now = now or timezone.now()
    with tenant_context(tenant):
        row = (
            Mailbox.objects.for_tenant(tenant)
            .select_for_update(skip_locked=True)
            .filter(pk=mailbox.pk)
            .first()
        )
        if row is None:
            return PollOutcome(mailbox=mailbox.pk, skipped="missing or being polled")
        if not row.is_active:
            return PollOutcome(mailbox=row.pk, skipped="paused")
        counts = {"fetched": 0, "stored": 0, "duplicates": 0, "refused": 0}
        error = ""
        try:
            with ImapSession(
                host=row.host,
                port=row.port,
                username=row.username,
                password=row.password,
                use_tls=row.use_tls,
            ) as imap:
                validity = imap.select(row.folder)
                if row.uid_validity != validity:
                    row.uid_validity, row.last_uid = validity, 0
                for fetched in imap.fetch_new(
                    last_uid=row.last_uid,
                    limit=settings.HELPDESK_IMAP_BATCH,
                    max_bytes=settings.HELPDESK_EMAIL_MAX_BYTES,
                ):
                    counts["fetched"] += 1
                    if not fetched.complete:
                        _, created = inbound_email_refuse_oversized(
                            tenant=tenant, head=fetched.raw, size=fetched.size, source="imap"
                        )
                        counts["refused" if created else "duplicates"] += 1
                    elif fetched.raw.strip():
                        _, created = inbound_email_receive(
                            tenant=tenant, raw=fetched.raw, source="imap"
                        )
                        counts["stored" if created else "duplicates"] += 1
                    row.last_uid = fetched.uid
        except ImapError as exc:
            error = str(exc)[:1000]
            logger.info("mailbox %s of tenant %s: %s", row.pk, tenant.pk, error)
        row.last_error = error
        row.last_polled_at = now
        row.save(update_fields=["uid_validity", "last_uid", "last_error", "last_polled_at"])
    return PollOutcome(mailbox=row.pk, error=error, **counts)
