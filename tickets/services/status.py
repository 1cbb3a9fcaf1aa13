"""The customer's live status page: links, viewer tokens, the "where does it stand" summary,
replies from the page, and publishing public changes to the page.

Links. Every ticket gets an unguessable link (``StatusLink``, a global routing row) when it is
created. Staff can rotate it (the old link stops working at once, open pages are closed) and set
an expiry.

Viewer tokens. The page's socket is authorised by a short-lived token signed with
``django.core.signing`` (salt ``status-page``) that binds the tenant, the ticket and the link it
was issued for; a rotated or expired link refuses new sockets even with a fresh signature.

Summary. The stage in customer words (Received, Assigned to Dana, In progress, With a
specialist, Waiting for you, Resolved), what it means and what happens next, from the status, the
assignee's first name, the tier, the SLA due dates in the tenant's time zone and the tenant's
queue load.

Publishing. ``status_event_recorded`` is called for every timeline event (from
``tickets.events.publish_event_on_commit``). After commit, public events are sent to the
ticket's status group as customer-safe entries with a fresh summary; events of one transaction go
out as one message, and only for tickets with a page open somewhere (``status_watched``). Nothing is
sent before commit and a failed send never fails the caller: pages catch up by cursor (each
message names the ticket's previous public event, so an open page notices a missed one and
replays it from the database).

Emails: ``tickets.services.status_notify`` (batched, one short email per burst of changes).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from asgiref.local import Local
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, ngettext

from helpdesk.accounts.models import User
from helpdesk.realtime.groups import status_group
from helpdesk.realtime.publish import group_send_now, group_send_on_commit
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from tickets import selectors_status
from tickets.events import event_record
from tickets.models import (
    Channel,
    Message,
    Status,
    StatusLink,
    Ticket,
    TicketEvent,
)

logger = logging.getLogger(__name__)

VIEWER_SALT = "status-page"
# A viewer token opens a socket for this long; the page gets a fresh one with every poll.
VIEWER_TOKEN_MAX_AGE = 10 * 60
TOKEN_BYTES = 32  # 43 URL-safe characters

STAGES = ("received", "assigned", "in_progress", "specialist", "waiting", "resolved")
# Internal events that can move the customer's expected time (the page gets a fresh summary).
SUMMARY_KINDS = frozenset({"ticket.priority_changed", "sla.breached", "ticket.merged_in"})


def _assert_same_tenant(tenant: Tenant, *objects) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "tenant_id", tenant.pk) != tenant.pk:
            raise ValidationError(f"{type(obj).__name__} belongs to another tenant.")


def _assert_member(tenant: Tenant, user: User | None) -> None:
    if user is not None and not Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ValidationError("That person is not a member of this helpdesk.")


# --- links -------------------------------------------------------------------------------------


def status_link_create(
    *, tenant: Tenant, ticket: Ticket, expires_at: datetime | None = None
) -> StatusLink:
    """A new link for ``ticket`` (a long random token, never the ticket id)."""
    _assert_same_tenant(tenant, ticket)
    return StatusLink.objects.create(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        tenant=tenant,
        ticket_id=ticket.pk,
        expires_at=expires_at,
    )


def status_link_ensure(*, tenant: Tenant, ticket: Ticket) -> StatusLink:
    """The ticket's current link, created if it has none (tickets older than status pages)."""
    _assert_same_tenant(tenant, ticket)
    link = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk)
    return link or status_link_create(tenant=tenant, ticket=ticket)


def status_link_url(*, tenant: Tenant, ticket: Ticket) -> str:
    """The absolute address of the ticket's status page, for emails (creates a link if needed)."""
    return status_link_address(status_link_ensure(tenant=tenant, ticket=ticket))


def status_link_address(link: StatusLink) -> str:
    """The absolute address of the status page that ``link`` opens."""
    return settings.HELPDESK_BASE_URL.rstrip("/") + reverse("status:page", args=[link.token])


def _revoke_and_close_pages(*, tenant: Tenant, ticket: Ticket, links: list[int]) -> None:
    if links:
        group = status_group(tenant.pk, ticket.pk)
        group_send_on_commit(group, {"type": "status.revoked", "group": group, "links": links})


def status_link_rotate(
    *,
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> StatusLink:
    """Replace the ticket's link: every older link stops working now, open pages are closed."""
    now = at or timezone.now()
    with tenant_context(tenant):
        _assert_same_tenant(tenant, ticket)
        _assert_member(tenant, actor)
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        old = list(
            StatusLink.objects.filter(
                tenant=tenant, ticket_id=ticket.pk, revoked_at__isnull=True
            ).values_list("pk", flat=True)
        )
        StatusLink.objects.filter(pk__in=old).update(revoked_at=now)
        link = status_link_create(tenant=tenant, ticket=ticket, expires_at=expires_at)
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="status_link.rotated",
            actor=actor,
            is_public=False,
            at=now,
        )
        _revoke_and_close_pages(tenant=tenant, ticket=ticket, links=old)
        audit_record(
            tenant=tenant,
            action="status_link_rotated",
            actor=actor,
            target=ticket.reference,
            data={"revoked": len(old)},
        )
    return link


def status_link_expire(
    *,
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    expires_at: datetime | None,
    at: datetime | None = None,
) -> StatusLink:
    """Set (or clear, with None) when the ticket's current link stops working.

    A time in the past ends the link now: open pages are closed, and a later "rotate" gives the
    customer a new one. Otherwise open pages are told to re-read the link: each closes itself
    when the link expires.
    """
    now = at or timezone.now()
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Give the expiry with a time zone."})
    with tenant_context(tenant):
        _assert_same_tenant(tenant, ticket)
        _assert_member(tenant, actor)
        ticket = Ticket.objects.for_tenant(tenant).select_for_update().get(pk=ticket.pk)
        link = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk, now=now)
        if link is None:
            raise ValidationError("This ticket has no active status link; create a new one.")
        link.expires_at = expires_at
        link.save(update_fields=["expires_at"])
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="status_link.expiry_set",
            actor=actor,
            to_value=expires_at.isoformat() if expires_at else "",
            is_public=False,
            at=now,
        )
        group = status_group(tenant.pk, ticket.pk)
        if expires_at is not None and expires_at <= now:
            _revoke_and_close_pages(tenant=tenant, ticket=ticket, links=[link.pk])
        else:  # open pages of this link re-read when it stops working
            group_send_on_commit(
                group, {"type": "status.expiry", "group": group, "links": [link.pk]}
            )
    return link


# --- viewer tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewerGrant:
    """What a viewer token allows: the receive-only stream of one ticket, through one link."""

    tenant_id: int
    ticket_id: int
    link_id: int


def status_viewer_token(*, link: StatusLink) -> str:
    return signing.dumps(
        {"t": link.tenant_id, "k": link.ticket_id, "l": link.pk}, salt=VIEWER_SALT, compress=False
    )


def status_viewer_grant(token: str, *, max_age: int = VIEWER_TOKEN_MAX_AGE) -> ViewerGrant | None:
    """The grant of a genuine, unexpired viewer token; None for anything else."""
    if not token or len(token) > 300:
        return None
    try:
        data = signing.loads(token, salt=VIEWER_SALT, max_age=max_age)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    values = (data.get("t"), data.get("k"), data.get("l"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        return None
    return ViewerGrant(*values)


# --- the summary -------------------------------------------------------------------------------


def status_stage(ticket: Ticket) -> str:
    """Where the ticket stands, in the customer's terms (one of ``STAGES``, or ``merged``)."""
    if ticket.merged_into_id:
        return "merged"
    if ticket.status in (Status.SOLVED, Status.CLOSED):
        return "resolved"
    if ticket.status == Status.PENDING:
        return "waiting"
    if ticket.tier > 1:
        return "specialist"
    if ticket.first_response_at is None:
        return "assigned" if ticket.assignee_id else "received"
    return "in_progress"


def _business_duration(minutes: int) -> str:
    if minutes < 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = round(minutes / 60)
    return ngettext("%(n)d business hour", "%(n)d business hours", hours) % {"n": hours}


def _tz_label(zone: str) -> str:
    if zone in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    return gettext("%(city)s time") % {"city": zone.rsplit("/", 1)[-1].replace("_", " ")}


def status_when_text(*, tenant: Tenant, when: datetime, now: datetime) -> str:
    """``15:00 Berlin time``, ``tomorrow at 09:00 Berlin time``, ``Friday 15:00 Berlin time``."""
    zone = ZoneInfo(tenant.time_zone or "UTC")
    local, today = when.astimezone(zone), now.astimezone(zone).date()
    clock = formats.time_format(local, "H:i")
    days = (local.date() - today).days
    if days <= 0:
        text = clock
    elif days == 1:
        text = gettext("tomorrow at %(time)s") % {"time": clock}
    elif days < 7:
        text = f"{formats.date_format(local, 'l')} {clock}"
    else:
        text = f"{formats.date_format(local, 'j F')}, {clock}"
    return f"{text} {_tz_label(tenant.time_zone or 'UTC')}"


def status_stage_label(key: str, name: str) -> str:
    labels = {
        "received": gettext("Received"),
        "assigned": gettext("Assigned to %(name)s") % {"name": name}
        if name
        else gettext("Assigned"),
        "in_progress": gettext("In progress"),
        "specialist": gettext("With a specialist"),
        "waiting": gettext("Waiting for you"),
        "resolved": gettext("Resolved"),
    }
    return labels[key]


def _steps(stage: str, ticket: Ticket, name: str) -> list[dict]:
    if stage == "merged":
        return []
    keys = ["received", "assigned", "in_progress"]
    if ticket.tier > 1 or stage == "specialist":
        keys.append("specialist")
    if stage == "waiting":
        keys.append("waiting")
    keys.append("resolved")
    current = keys.index(stage)
    return [
        {
            "key": key,
            "label": status_stage_label(key, name),
            "state": "done" if i < current else "current" if i == current else "upcoming",
        }
        for i, key in enumerate(keys)
    ]


def _headline(stage: str, ticket: Ticket, name: str) -> str:
    if stage == "received":
        return gettext("We have received your request.")
    if stage == "assigned":
        return gettext("%(name)s has your request.") % {"name": name or gettext("Our team")}
    if stage == "in_progress":
        if name:
            return gettext("%(name)s is looking into it.") % {"name": name}
        return gettext("Our team is looking into it.")
    if stage == "specialist":
        if name:
            return gettext("%(name)s, a specialist, is looking into it.") % {"name": name}
        return gettext("A specialist is looking into it.")
    if stage == "waiting":
        return gettext("We are waiting for your reply.")
    if stage == "merged":
        return gettext("This request was combined with another one.")
    if ticket.status == Status.CLOSED:
        return gettext("This request is closed.")
    return gettext("Your request is resolved.")


def _expected(
    *, tenant: Tenant, ticket: Ticket, stage: str, name: str, queue_ahead: int, now: datetime
) -> tuple[str, datetime | None]:
    """What happens next, and the time it names (None when there is no promise to make)."""
    if stage == "waiting":
        if not name:
            text = gettext(
                "We need something from you to continue. Reply below and we will pick it up "
                "right away."
            )
        else:
            text = gettext(
                "%(name)s needs something from you to continue. Reply below and we will pick it "
                "up right away."
            ) % {"name": name}
        return text, None
    if stage == "merged":
        return gettext("Updates continue on the other request."), None
    if stage == "resolved":
        if ticket.status == Status.CLOSED:
            return (
                gettext("If you need more help, write to us again and we will open a new request."),
                None,
            )
        return (
            gettext("If something is still not right, reply below and we will reopen it."),
            None,
        )
    policy = ticket.sla_policy
    first_pending = ticket.first_response_at is None
    reply_due = ticket.first_response_due_at if first_pending else ticket.next_response_due_at
    parts: list[str] = []
    eta: datetime | None = None
    if reply_due is not None and reply_due > now:
        eta = reply_due
        when = status_when_text(tenant=tenant, when=reply_due, now=now)
        minutes = None
        if policy is not None:
            minutes = (
                policy.first_response_minutes if first_pending else policy.next_response_minutes
            )
        if minutes:
            parts.append(
                gettext("We usually reply within %(duration)s; you will hear from us by %(when)s.")
                % {"duration": _business_duration(minutes), "when": when}
            )
        else:
            parts.append(gettext("You will hear from us by %(when)s.") % {"when": when})
    elif reply_due is not None:
        if name:
            late = gettext(
                "This is taking longer than we promised, sorry. %(name)s will get back to you "
                "as soon as possible."
            ) % {"name": name}
        else:
            late = gettext(
                "This is taking longer than we promised, sorry. We will get back to you as soon "
                "as possible."
            )
        parts.append(late)
    elif ticket.resolution_due_at is not None and ticket.resolution_due_at > now:
        eta = ticket.resolution_due_at
        when = status_when_text(tenant=tenant, when=eta, now=now)
        parts.append(gettext("We aim to have this solved by %(when)s.") % {"when": when})
    elif first_pending:
        parts.append(gettext("We will reply as soon as we can."))
    else:
        parts.append(gettext("We will update you here as soon as there is news."))
    if stage == "specialist" and eta is not None:
        parts.insert(0, gettext("Specialist questions can take a little longer."))
    if first_pending and queue_ahead > 0:
        parts.append(
            ngettext(
                "There is %(n)d request ahead of yours.",
                "There are %(n)d requests ahead of yours.",
                queue_ahead,
            )
            % {"n": queue_ahead}
        )
    return " ".join(parts), eta


def status_summary(
    *,
    tenant: Tenant,
    ticket: Ticket,
    queue_ahead: int = 0,
    cursor: int = 0,
    now: datetime | None = None,
) -> dict:
    """The customer's view of where ``ticket`` stands (JSON-ready, strings localised).

    ``cursor`` is the newest public event the summary reflects (pages apply the newest summary
    only). Reads only: the ticket with its assignee and SLA policy must be loaded.
    """
    now = now or timezone.now()
    stage = status_stage(ticket)
    name = ticket.assignee.first_name if ticket.assignee_id and ticket.assignee else ""
    next_text, eta = _expected(
        tenant=tenant, ticket=ticket, stage=stage, name=name, queue_ahead=queue_ahead, now=now
    )
    return {
        "cursor": cursor,
        "stage": stage,
        "steps": _steps(stage, ticket, name),
        "headline": _headline(stage, ticket, name),
        "next": next_text,
        "eta": eta.isoformat() if eta else None,
        "can_reply": stage != "merged" and ticket.status != Status.CLOSED,
        "resolved": stage == "resolved",
        "resolution": ticket.reopen_count,
    }


def status_summary_for(
    *, tenant: Tenant, ticket: Ticket, cursor: int | None = None, now: datetime | None = None
) -> dict:
    """``status_summary`` with the queue load (and the cursor, unless given) read from the
    database."""
    stage = status_stage(ticket)
    ahead = 0
    if stage in ("received", "assigned"):
        ahead = selectors_status.status_queue_ahead(tenant=tenant, ticket=ticket)
    if cursor is None:
        cursor = selectors_status.status_latest_cursor(tenant=tenant, ticket=ticket)
    return status_summary(tenant=tenant, ticket=ticket, queue_ahead=ahead, cursor=cursor, now=now)


# --- customer replies from the page ------------------------------------------------------------


def status_reply_create(*, tenant: Tenant, ticket: Ticket, body: str) -> Message:
    """The customer writes from the status page (reopens a solved ticket, like any reply)."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": gettext("Write a message first.")})
    if len(body) > 10_000:
        raise ValidationError({"body": gettext("Keep it under 10,000 characters, please.")})
    from tickets.services.core import message_create  # core imports this module

    with tenant_context(tenant):
        _assert_same_tenant(tenant, ticket)
        ticket = Ticket.objects.for_tenant(tenant).select_related("customer").get(pk=ticket.pk)
        if ticket.merged_into_id:
            raise ValidationError(gettext("This request was combined with another one."))
        if ticket.status == Status.CLOSED:
            raise ValidationError(
                gettext("This request is closed. Write to us again to open a new one.")
            )
        return message_create(
            tenant=tenant,
            ticket=ticket,
            body=body,
            author_customer=ticket.customer,
            channel=Channel.WEB,
        )


# --- publishing to the page --------------------------------------------------------------------

# A status group is "watched" while a server process has a page of it open: the process marks it
# in the cache and renews the mark every third of this (tickets.consumers_status.StatusFanout).
# Unwatched tickets cost the publisher one cache read, not a transaction and a send.
STATUS_WATCH_SECONDS = 120


def status_watch_key(group: str) -> str:
    return f"status-watch:{group}"


def status_watched(group: str) -> bool:
    """Whether a page of ``group`` may be open. When the cache cannot say, publish anyway.

    No page misses an event for a stale answer: a page marks its group *before* it reads its
    replay from the database, so a change either sees the mark or is in that replay.
    """
    try:
        return cache.get(status_watch_key(group)) is not None
    except Exception:
        logger.warning("status watch check failed; publishing anyway", exc_info=True)
        return True


# Event ids recorded in the current transaction, per (tenant, ticket), published together.
_recorded = Local()


def _buffer() -> dict[tuple[int, int], list[int]]:
    if not hasattr(_recorded, "events"):
        _recorded.events = {}
    return _recorded.events


def status_group_message(*, group: str, events: list[dict], summary: dict, prev: int = 0) -> dict:
    """The channel-layer message for a status group, with the page's JSON encoded once (every
    open page sends the same text).

    ``prev`` is the ticket's newest public event before the first of ``events``: a page whose
    cursor is behind it missed an update (the channel layer dropped it, or it was never sent)
    and replays the gap from the database first.
    """
    text = json.dumps({"type": "update", "events": events, "summary": summary})
    return {
        "type": "status.update",
        "group": group,
        "events": events,
        "summary": summary,
        "first": events[0]["cursor"] if events else 0,
        "prev": prev,
        "text": text,
    }


def _publish_after_commit(tenant: Tenant, ticket_id: int) -> None:
    """Send the ticket's buffered public events (and a fresh summary) to its status group.

    Every event of a transaction registers this callback; the first one sends them all, the
    others find the buffer empty. Ids of a rolled-back transaction may linger in the buffer:
    they are read from the database again, so they are dropped here.
    """
    ids = _buffer().pop((tenant.pk, ticket_id), None)
    if ids is None:
        return
    group = status_group(tenant.pk, ticket_id)
    if not status_watched(group):
        return  # no page open anywhere: nothing to build (a page that opens replays by cursor)
    try:
        # One text for every open page, in the site's language whatever the acting request's
        # (an agent's browser language must not reach customers); pages shown in another
        # language fetch their words over HTTP (static/js/status_page.js).
        with tenant_context(tenant), translation.override(settings.LANGUAGE_CODE):
            ticket = selectors_status.status_ticket_for_summary(tenant=tenant, ticket_id=ticket_id)
            if ticket is None:
                return
            events = [
                entry.as_dict()
                for entry in (
                    selectors_status.status_entries_for_events(
                        tenant=tenant, ticket=ticket, event_ids=ids
                    )
                    if ids
                    else []
                )
            ]
            if ids and not events:
                return  # nothing public survived (rolled back, or filtered out)
            # The summary reflects at least the newest event sent with it (one query saved).
            cursor = events[-1]["cursor"] if events else None
            summary = status_summary_for(tenant=tenant, ticket=ticket, cursor=cursor)
            prev = 0
            if events:
                prev = selectors_status.status_cursor_before(
                    tenant=tenant, ticket=ticket, cursor=events[0]["cursor"]
                )
    except Exception:  # a failed publish never fails the caller; pages catch up by cursor
        logger.warning("status page publish of ticket %s failed", ticket_id, exc_info=True)
        return
    group_send_now(
        group, status_group_message(group=group, events=events, summary=summary, prev=prev)
    )


def status_event_recorded(*, event: TicketEvent, ticket: Ticket, publish: bool = True) -> None:
    """Called for every timeline event, inside its transaction (``tickets.events``).

    The audience is decided here, at publish time: public events reach the status page (after
    commit, as customer-safe entries); a few internal ones only refresh its summary (a new
    expected time); internal notes and everything else never leave the staff side.
    ``publish=False``: no page can be open yet (the ticket is new in this transaction).
    """
    tenant = event.tenant
    key = (event.tenant_id, ticket.pk)
    if not (event.is_public or event.kind in SUMMARY_KINDS):
        return
    if publish:
        if event.is_public:
            _buffer().setdefault(key, []).append(event.pk)
        else:
            _buffer().setdefault(key, [])
        transaction.on_commit(lambda: _publish_after_commit(tenant, ticket.pk))
    from tickets.services.status_notify import status_notify_mark, status_notify_worthy

    if status_notify_worthy(event):
        status_notify_mark(tenant=tenant, ticket=ticket)
