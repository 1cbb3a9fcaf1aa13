"""Merging duplicate tickets, and spotting a customer's repeat contacts on the same topic."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.events import event_record
from tickets.models import Message, Status, Ticket, TicketEvent, TicketTag

REPEAT_WINDOW = timedelta(days=7)
REPEAT_SIMILARITY = 0.34
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "cannot",
        "can't",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "i'm",
        "in",
        "is",
        "it",
        "its",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "re",
        "fw",
        "fwd",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "why",
        "with",
        "you",
        "your",
        "still",
        "again",
        "help",
        "issue",
        "problem",
        "question",
    ]
)


def _topic_words(text: str) -> set[str]:
    words = {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w for w in words}


def topic_similarity(a: str, b: str) -> float:
    wa, wb = _topic_words(a), _topic_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def repeat_candidate(
    *,
    tenant: Tenant,
    customer_id: int,
    subject: str,
    body: str,
    at: datetime,
    window: timedelta = REPEAT_WINDOW,
    exclude_pk: int | None = None,
) -> Ticket | None:
    """The same customer's most recent ticket within ``window`` before ``at`` whose subject is on
    the topic of ``subject`` and ``body`` (one query; call inside the tenant's scope)."""
    earlier = (
        Ticket.objects.for_tenant(tenant)
        .filter(
            customer_id=customer_id,
            created_at__gte=at - window,
            created_at__lte=at,
            merged_into=None,
        )
        .exclude(pk=exclude_pk)
        .only("pk", "number", "subject", "created_at")
        .order_by("-created_at")[:20]
    )
    text = f"{subject} {body}"
    for candidate in earlier:
        if (
            topic_similarity(text, candidate.subject) >= REPEAT_SIMILARITY
            or topic_similarity(subject, candidate.subject) >= REPEAT_SIMILARITY
        ):
            return candidate
    return None


def repeat_record(*, tenant: Tenant, ticket: Ticket, earlier: Ticket) -> None:
    """The timeline entry for a ticket found to repeat ``earlier`` (staff only)."""
    event_record(
        tenant=tenant,
        ticket=ticket,
        kind="ticket.repeat_detected",
        to_value=str(earlier.number),
        data={"repeat_of": earlier.number},
        is_public=False,
        at=ticket.created_at,
    )


def ticket_repeat_detect(
    *, tenant: Tenant, ticket: Ticket, window: timedelta = REPEAT_WINDOW
) -> Ticket | None:
    """Link an existing ``ticket`` to the same customer's most recent ticket on the same topic
    within ``window`` (the repeat-ticket metric counts these). Returns that earlier ticket or
    None. New tickets are linked as they are created (``core.ticket_store``); this serves
    tickets stored before that, or by other means."""
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)
        if ticket.repeat_of_id is not None:  # linked already (at creation, or before)
            return Ticket.objects.for_tenant(tenant).get(pk=ticket.repeat_of_id)
        first = Message.objects.for_tenant(tenant).filter(ticket=ticket).order_by("id").first()
        candidate = repeat_candidate(
            tenant=tenant,
            customer_id=ticket.customer_id,
            subject=ticket.subject,
            body=first.body_text if first else "",
            at=ticket.created_at,
            window=window,
            exclude_pk=ticket.pk,
        )
        if candidate is not None:
            ticket.repeat_of = candidate
            ticket.save(update_fields=["repeat_of"])
            repeat_record(tenant=tenant, ticket=ticket, earlier=candidate)
    return candidate


def ticket_merge(
    *, tenant: Tenant, actor: User, source: Ticket, target: Ticket, at: datetime | None = None
) -> Ticket:
    """Merge ``source`` into ``target``: messages and events move, tags join, ``source`` is closed
    and points to the survivor."""
    now = at or timezone.now()
    with tenant_context(tenant):
        if source.pk == target.pk:
            raise ValidationError("A ticket cannot be merged into itself.")
        locked = {
            t.pk: t
            for t in Ticket.objects.for_tenant(tenant)
            .select_for_update()
            .filter(pk__in=[source.pk, target.pk])
        }
        if len(locked) != 2:
            raise ValidationError("Ticket not found.")
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id or target.merged_into_id:
            raise ValidationError("One of these tickets was already merged.")
        moved = Message.objects.for_tenant(tenant).filter(ticket=source).update(ticket=target)
        TicketEvent.objects.for_tenant(tenant).filter(ticket=source).update(ticket=target)
        target_tags = set(
            TicketTag.objects.for_tenant(tenant)
            .filter(ticket=target)
            .values_list("tag_id", flat=True)
        )
        for link in TicketTag.objects.for_tenant(tenant).filter(ticket=source):
            if link.tag_id not in target_tags:
                TicketTag.objects.create(tenant=tenant, ticket=target, tag_id=link.tag_id)
        source.merged_into = target
        source.status = Status.CLOSED
        source.closed_at = source.closed_at or now
        source.message_count = 0
        source.updated_at = now
        source.save()
        target.message_count += moved
        target.updated_at = now
        if source.last_customer_message_at and (
            not target.last_customer_message_at
            or source.last_customer_message_at > target.last_customer_message_at
        ):
            target.last_customer_message_at = source.last_customer_message_at
        target.save()
        event_record(
            tenant=tenant,
            ticket=source,
            kind="ticket.merged",
            actor=actor,
            to_value=str(target.number),
            data={"into": target.number},
            is_public=True,
            at=now,
        )
        event_record(
            tenant=tenant,
            ticket=target,
            kind="ticket.merged_in",
            actor=actor,
            from_value=str(source.number),
            data={"from": source.number, "messages": moved},
            is_public=False,
            at=now,
        )
    return target
