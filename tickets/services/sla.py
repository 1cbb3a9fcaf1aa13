"""Writes: SLA policies applied to tickets, due dates kept current, stages raised with notices.

Targets are business minutes of the tenant's calendar (``tickets.business_hours``):

- first response: from ``created_at`` until the first public staff reply;
- next response: from the customer's latest message (after a staff reply) until the next public
  staff reply;
- resolution: from ``created_at`` until the ticket is solved or closed.

``Ticket.sla_stage`` is the highest share of a pending target used: 0, 50, 75 or 100 (breached).
It goes up only in ``sla_check``, which records a timeline event and notifies people when it does,
so a warning is never skipped. It may go down when a target is met or the targets are recomputed
(a staff reply, a priority change), so the next target can warn again. ``sla_breached_at`` keeps
the first breach.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from helpdesk.realtime.publish import notify_member_on_commit
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from tickets.business_hours import BusinessCalendar
from tickets.directory import directory_list
from tickets.events import event_record
from tickets.models import (
    OPEN_STATUSES,
    AuthorType,
    GroupMember,
    Message,
    Notification,
    SlaPolicy,
    Ticket,
)

logger = logging.getLogger(__name__)

STAGE_AT_RISK = 50
STAGE_URGENT = 75
STAGE_BREACHED = 100

TARGET_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}
DUE_FIELDS = ("first_response_due_at", "next_response_due_at", "resolution_due_at")
SLA_FIELDS = ("sla_policy", *DUE_FIELDS, "sla_stage")
_CHECK_FIELDS = (
    "id",
    "tenant",
    "number",
    "status",
    "assignee",
    "group",
    "created_at",
    "last_customer_message_at",
    *DUE_FIELDS,
    "sla_stage",
    "sla_breached_at",
)


def _assert_same_tenant(tenant: Tenant, *objects) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "tenant_id", tenant.pk) != tenant.pk:
            raise ValidationError(f"{type(obj).__name__} belongs to another tenant.")


def business_calendar_for(tenant: Tenant) -> BusinessCalendar:
    """The tenant's calendar. Malformed hours fall back to 24/7 (stricter, never silent)."""
    try:
        return BusinessCalendar.from_tenant_fields(
            tenant.time_zone, tenant.business_hours, tenant.holidays
        )
    except ValueError:
        logger.exception(
            "tenant %s has malformed business hours or holidays; SLA counts 24/7", tenant.pk
        )
        try:
            return BusinessCalendar(tenant.time_zone or "UTC")
        except ValueError:
            return BusinessCalendar("UTC")


# --- choosing a policy ---------------------------------------------------------------------


def _fold(value: str) -> str:
    return value.strip().casefold()


def _policy_rank(policy: SlaPolicy) -> tuple:
    # Company match beats tag match beats priority; then the lowest position, then the oldest.
    return (
        not policy.match_company,
        not policy.match_tag,
        not policy.priority,
        policy.position,
        policy.pk,
    )


def sla_policy_for(*, tenant: Tenant, ticket: Ticket) -> SlaPolicy | None:
    """The most specific active policy whose every non-empty condition matches the ticket.

    Conditions: ``priority`` equals the ticket's, ``match_company`` equals the customer's company,
    ``match_tag`` is one of the customer's tags (both compared case-insensitively). Company match
    beats tag match beats priority; ties go to the lowest ``position``.
    """
    _assert_same_tenant(tenant, ticket)
    with tenant_context(tenant, savepoint=False):  # reads only
        customer = ticket.customer
        _assert_same_tenant(tenant, customer)
        company = _fold(customer.company or "")
        raw_tags = customer.tags if isinstance(customer.tags, list) else []
        tags = {_fold(tag) for tag in raw_tags if isinstance(tag, str)}
        candidates = [
            policy
            for policy in directory_list(tenant=tenant, name="sla_policies")
            if policy.priority in ("", ticket.priority)
        ]
        matching = [
            policy
            for policy in candidates
            if (not policy.match_company or _fold(policy.match_company) == company)
            and (not policy.match_tag or _fold(policy.match_tag) in tags)
        ]
    return min(matching, key=_policy_rank, default=None)


# --- due dates and stages ------------------------------------------------------------------


def _targets(ticket: Ticket) -> list[tuple[str, datetime, datetime]]:
    """Pending targets as ``(name, counted from, due)``."""
    targets = []
    if ticket.first_response_due_at is not None:
        targets.append(("first_response", ticket.created_at, ticket.first_response_due_at))
    if ticket.next_response_due_at is not None:
        start = ticket.last_customer_message_at or ticket.created_at
        targets.append(("next_response", start, ticket.next_response_due_at))
    if ticket.resolution_due_at is not None:
        targets.append(("resolution", ticket.created_at, ticket.resolution_due_at))
    return targets


def _stage_for_share(share: float) -> int:
    if share >= 0.75:
        return STAGE_URGENT
    if share >= 0.5:
        return STAGE_AT_RISK
    return 0


def _evaluate(
    ticket: Ticket, calendar: BusinessCalendar, now: datetime
) -> tuple[int, str, datetime | None]:
    """``(stage, target, due)`` of the pending target with the highest share used at ``now``."""
    best: tuple[int, float, str, datetime | None] = (0, -1.0, "", None)
    for name, start, due in _targets(ticket):
        if now > due:
            candidate = (STAGE_BREACHED, float("inf"), name, due)
        else:
            elapsed = calendar.business_minutes_between(start, now)
            remaining = calendar.business_minutes_between(now, due)
            total = elapsed + remaining
            share = elapsed / total if total > 0 else 1.0
            candidate = (_stage_for_share(share), share, name, due)
        if candidate[:2] > best[:2]:
            best = candidate
    return best[0], best[2], best[3]


def _next_response_pending(tenant: Tenant, ticket: Ticket) -> bool:
    """Whether the customer's latest message came after the latest public staff reply."""
    if ticket.first_response_at is None or ticket.last_customer_message_at is None:
        return False
    last_reply = (
        Message.objects.for_tenant(tenant)
        .filter(ticket_id=ticket.pk, author_type=AuthorType.STAFF, is_internal=False)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return last_reply is None or ticket.last_customer_message_at > last_reply


def _recompute_due_dates(
    *, tenant: Tenant, ticket: Ticket, policy: SlaPolicy | None, calendar: BusinessCalendar
) -> None:
    """Set every due date from scratch for ``policy``; met targets stay cleared. No save."""
    if policy is None or not ticket.is_open:
        for field in DUE_FIELDS:
            setattr(ticket, field, None)
        return
    ticket.first_response_due_at = (
        calendar.add_business_minutes(ticket.created_at, policy.first_response_minutes)
        if ticket.first_response_at is None
        else None
    )
    ticket.next_response_due_at = (
        calendar.add_business_minutes(ticket.last_customer_message_at, policy.next_response_minutes)
        if _next_response_pending(tenant, ticket)
        else None
    )
    ticket.resolution_due_at = calendar.add_business_minutes(
        ticket.created_at, policy.resolution_minutes
    )


def _snapshot(ticket: Ticket) -> tuple:
    return (ticket.sla_policy_id, *(getattr(ticket, field) for field in DUE_FIELDS))


def _lower_stage_and_save(
    *, ticket: Ticket, calendar: BusinessCalendar, at: datetime, before: tuple
) -> None:
    """Let the stage drop to what the pending targets say at ``at`` (never raise it here)."""
    changed = [
        field
        for field, old in zip(("sla_policy", *DUE_FIELDS), before, strict=True)
        if old != (ticket.sla_policy_id if field == "sla_policy" else getattr(ticket, field))
    ]
    if ticket.sla_stage and changed:
        stage, _, _ = _evaluate(ticket, calendar, at)
        if stage < ticket.sla_stage:
            ticket.sla_stage = stage
            changed.append("sla_stage")
    if changed:
        ticket.save(update_fields=changed)


def sla_apply(*, tenant: Tenant, ticket: Ticket, at: datetime | None = None) -> Ticket:
    """Choose the ticket's policy and (re)compute its due dates in business time.

    Called when a ticket is created and whenever a condition of the policy changes (priority,
    customer): first response and resolution count from ``created_at``, a pending next response
    from the customer's latest message; targets already met stay cleared. The stage may drop to
    what the new targets say at ``at``; it only goes up in ``sla_check``. Saves the SLA fields
    only. Callers that race other writers hold the ticket row (``select_for_update``).
    """
    now = at or timezone.now()
    _assert_same_tenant(tenant, ticket)
    with tenant_context(tenant, savepoint=False):  # reads, then one save
        before = _snapshot(ticket)
        policy = sla_policy_for(tenant=tenant, ticket=ticket)
        calendar = business_calendar_for(tenant)
        ticket.sla_policy = policy
        _recompute_due_dates(tenant=tenant, ticket=ticket, policy=policy, calendar=calendar)
        _lower_stage_and_save(ticket=ticket, calendar=calendar, at=now, before=before)
    return ticket


def sla_on_message(*, tenant: Tenant, ticket: Ticket, message: Message) -> Ticket:
    """Keep the due dates current after ``message`` was added to ``ticket``.

    A public staff reply meets the first and the next response targets. A customer message after
    a staff reply starts the next response target (its time plus the policy's next response
    minutes) and, on a reopened ticket, restores the resolution target. A ticket that is solved or
    closed has nothing pending. Internal notes change nothing.
    """
    _assert_same_tenant(tenant, ticket, message)
    if message.ticket_id != ticket.pk:
        raise ValidationError("The message belongs to another ticket.")
    at = message.created_at
    from_staff = message.author_type == AuthorType.STAFF and not message.is_internal
    from_customer = message.author_type == AuthorType.CUSTOMER
    if not ticket.is_open or from_staff:
        # Something to clear?
        relevant = any(getattr(ticket, field) is not None for field in DUE_FIELDS)
    else:
        # Something to start? (A next response after a staff reply, or a reopened ticket.)
        relevant = (
            from_customer
            and ticket.sla_policy_id is not None
            and (ticket.first_response_at is not None or ticket.resolution_due_at is None)
        )
    if not relevant:
        return ticket  # no query at all
    with tenant_context(tenant, savepoint=False):  # reads, then one save
        before = _snapshot(ticket)
        calendar = business_calendar_for(tenant)
        if not ticket.is_open:
            for field in DUE_FIELDS:
                setattr(ticket, field, None)
        elif from_staff:
            ticket.first_response_due_at = None
            ticket.next_response_due_at = None
        else:
            policy = ticket.sla_policy
            if ticket.first_response_at is not None:
                ticket.next_response_due_at = calendar.add_business_minutes(
                    at, policy.next_response_minutes
                )
            if ticket.resolution_due_at is None:
                ticket.resolution_due_at = calendar.add_business_minutes(
                    ticket.created_at, policy.resolution_minutes
                )
        _lower_stage_and_save(ticket=ticket, calendar=calendar, at=at, before=before)
    return ticket


def sla_on_status_change(*, tenant: Tenant, ticket: Ticket, at: datetime | None = None) -> Ticket:
    """After a status change: a solved or closed ticket has nothing pending (resolution met);
    a reopened one gets its policy's targets back (the policy itself is kept)."""
    _assert_same_tenant(tenant, ticket)
    pending = any(getattr(ticket, field) is not None for field in DUE_FIELDS)
    if ticket.is_open:
        if ticket.sla_policy_id is None or ticket.resolution_due_at is not None:
            return ticket
    elif not pending:
        return ticket
    now = at or timezone.now()
    with tenant_context(tenant):
        before = _snapshot(ticket)
        calendar = business_calendar_for(tenant)
        policy = ticket.sla_policy if ticket.is_open else None
        _recompute_due_dates(tenant=tenant, ticket=ticket, policy=policy, calendar=calendar)
        _lower_stage_and_save(ticket=ticket, calendar=calendar, at=now, before=before)
    return ticket


# --- the periodic check --------------------------------------------------------------------


@dataclass(frozen=True)
class _Raised:
    ticket: Ticket
    reference: str
    stage: int
    target: str


def _notice_line(item: _Raised) -> str:
    label = TARGET_LABELS.get(item.target, item.target)
    if item.stage >= STAGE_BREACHED:
        return f"{item.reference}: {label} target breached"
    return f"{item.reference}: {item.stage}% of the {label} time used"


def _recipients(*, tenant: Tenant, raised: list[_Raised]) -> dict[int, list[_Raised]]:
    """Assignee, or every member of the ticket's group when unassigned; members only."""
    group_ids = {
        item.ticket.group_id
        for item in raised
        if item.ticket.assignee_id is None and item.ticket.group_id is not None
    }
    group_members: dict[int, list[int]] = defaultdict(list)
    if group_ids:
        rows = (
            GroupMember.objects.for_tenant(tenant)
            .filter(group_id__in=group_ids)
            .order_by("user_id")
            .values_list("group_id", "user_id")
        )
        for group_id, user_id in rows:
            group_members[group_id].append(user_id)
    per_user: dict[int, list[_Raised]] = defaultdict(list)
    for item in raised:
        if item.ticket.assignee_id is not None:
            users = [item.ticket.assignee_id]
        else:
            users = group_members.get(item.ticket.group_id, [])
        for user_id in users:
            per_user[user_id].append(item)
    if not per_user:
        return {}
    members = set(
        Membership.objects.filter(tenant=tenant, user_id__in=per_user).values_list(
            "user_id", flat=True
        )
    )
    return {user_id: items for user_id, items in per_user.items() if user_id in members}


def _notify(*, tenant: Tenant, per_user: dict[int, list[_Raised]]) -> int:
    """One notification per person, pushed to their socket after commit."""
    notifications = []
    for user_id, items in sorted(per_user.items()):
        items = sorted(items, key=lambda item: (-item.stage, item.ticket.number))
        count = len(items)
        title = (
            f"{count} ticket{'s' if count != 1 else ''} need{'s' if count == 1 else ''} attention"
        )
        notifications.append(
            Notification(
                tenant=tenant,
                user_id=user_id,
                kind="sla",
                title=title,
                body="\n".join(_notice_line(item) for item in items),
                data={
                    "tickets": [item.ticket.number for item in items],
                    "items": [
                        {
                            "ticket": item.ticket.number,
                            "reference": item.reference,
                            "stage": item.stage,
                            "target": item.target,
                        }
                        for item in items
                    ],
                },
            )
        )
    created = Notification.objects.bulk_create(notifications)
    for notification in created:
        notify_member_on_commit(
            tenant_id=tenant.pk,
            user_id=notification.user_id,
            payload={
                "id": notification.pk,
                "kind": notification.kind,
                "title": notification.title,
                "body": notification.body,
                "data": notification.data,
                "created_at": notification.created_at.isoformat(),
            },
        )
    return len(created)


def sla_check(*, tenant: Tenant, now: datetime | None = None) -> dict[str, int]:
    """Raise the SLA stage of open tickets whose targets are running out, and tell people.

    For every open ticket with a pending target, the stage is the highest share of a target's
    business time used at ``now`` (50, 75) or 100 once a due time has passed. When it goes up,
    the ticket is saved (``sla_breached_at`` set on the first breach), an internal timeline event
    is written (``sla.at_risk`` or ``sla.breached``) and the assignee, or every member of the
    ticket's group when unassigned, gets one notification per run listing all their tickets.
    Stages never go down here, so a second run at the same moment changes nothing.

    Queries: one for the tickets, one conditional update per raised ticket (skipped if the ticket
    changed meanwhile, so overlapping runs never notify twice), its event row, and a constant few
    for the recipients and notifications.
    """
    now = now or timezone.now()
    counts = {"checked": 0, "raised": 0, "at_risk": 0, "breached": 0, "notifications": 0}
    with tenant_context(tenant):
        calendar = business_calendar_for(tenant)
        has_due = Q()
        for field in DUE_FIELDS:
            has_due |= Q(**{f"{field}__isnull": False})
        tickets = list(
            Ticket.objects.for_tenant(tenant)
            .filter(has_due, status__in=OPEN_STATUSES, sla_stage__lt=STAGE_BREACHED)
            .only(*_CHECK_FIELDS)
            .order_by("pk")
        )
        raised: list[_Raised] = []
        for ticket in tickets:
            counts["checked"] += 1
            stage, target, due = _evaluate(ticket, calendar, now)
            if stage <= ticket.sla_stage:
                continue
            previous = ticket.sla_stage
            breached_at = ticket.sla_breached_at
            if stage >= STAGE_BREACHED and breached_at is None:
                breached_at = now
            # Optimistic: only if nothing SLA-related changed since the read (a reply, a run).
            updated = (
                Ticket.objects.for_tenant(tenant)
                .filter(
                    pk=ticket.pk,
                    status__in=OPEN_STATUSES,
                    sla_stage=previous,
                    **{field: getattr(ticket, field) for field in DUE_FIELDS},
                )
                .update(sla_stage=stage, sla_breached_at=breached_at)
            )
            if not updated:
                continue
            ticket.sla_stage, ticket.sla_breached_at = stage, breached_at
            event_record(
                tenant=tenant,
                ticket=ticket,
                kind="sla.breached" if stage >= STAGE_BREACHED else "sla.at_risk",
                from_value=str(previous),
                to_value=str(stage),
                data={"stage": stage, "target": target, "due_at": due.isoformat()},
                is_public=False,
                at=now,
            )
            counts["raised"] += 1
            counts["breached" if stage >= STAGE_BREACHED else "at_risk"] += 1
            reference = ticket.reference_with(tenant.reference_prefix)
            raised.append(_Raised(ticket=ticket, reference=reference, stage=stage, target=target))
        if raised:
            per_user = _recipients(tenant=tenant, raised=raised)
            counts["notifications"] = _notify(tenant=tenant, per_user=per_user)
    return counts
