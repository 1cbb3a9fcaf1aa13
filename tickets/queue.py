"""The agent queue: views, filters, sorting and keyset (cursor) pagination.

Keyset pagination keeps every page as fast as the first one at 100,000 tickets: the cursor holds
the last row's sort value and id, and the next page starts after it using the composite indexes
``(tenant, status, -updated_at)`` and friends.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import Case, IntegerField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Tenant
from tickets.models import (
    OPEN_STATUSES,
    SIGNALS,
    Channel,
    GroupMember,
    Priority,
    Status,
    Ticket,
)
from tickets.search import ticket_search_filter

VIEWS = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    "group": "My groups",
    "at_risk": "SLA at risk",
    "open": "All open",
    "solved": "Solved & closed",
    "all": "Everything",
}
MOODS = ("negative", "neutral", "positive")
SORTS = {
    "updated": ("updated_at", "Last update"),
    "created": ("created_at", "Created"),
    "priority": ("priority_rank", "Priority"),
    "number": ("number", "Number"),
}
PRIORITY_RANK = Case(
    When(priority=Priority.URGENT, then=Value(4)),
    When(priority=Priority.HIGH, then=Value(3)),
    When(priority=Priority.NORMAL, then=Value(2)),
    default=Value(1),
    output_field=IntegerField(),
)


@dataclass
class QueueFilters:
    view: str = "open"
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    assignee: str = ""  # a user id, "me" or "none"
    group: str = ""  # a group id
    tag: str = ""
    mood: str = ""  # negative, neutral or positive (the ticket's latest customer mood)
    signal: str = ""  # a support signal present on the ticket, e.g. "urgency"
    q: str = ""
    sort: str = "updated"
    descending: bool = True

    @classmethod
    def from_params(cls, params) -> QueueFilters:
        """From a QueryDict (or a saved view's dict); unknown values are dropped, never a 500."""
        get_list = (
            params.getlist if hasattr(params, "getlist") else lambda k: _as_list(params.get(k))
        )
        sort = params.get("sort") or "-updated"
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        return cls(
            view=params.get("view") if params.get("view") in VIEWS else "open",
            status=[s for s in get_list("status") if s in Status.values],
            priority=[p for p in get_list("priority") if p in Priority.values],
            channel=[c for c in get_list("channel") if c in Channel.values],
            assignee=_clean_id(params.get("assignee"), extra={"me", "none"}),
            group=_clean_id(params.get("group")),
            tag=(params.get("tag") or "").strip().lower()[:50],
            mood=params.get("mood") if params.get("mood") in MOODS else "",
            signal=params.get("signal") if params.get("signal") in SIGNALS else "",
            q=(params.get("q") or "").strip()[:200],
            sort=sort if sort in SORTS else "updated",
            descending=descending,
        )

    def as_dict(self) -> dict:
        return {
            "view": self.view,
            "status": self.status,
            "priority": self.priority,
            "channel": self.channel,
            "assignee": self.assignee,
            "group": self.group,
            "tag": self.tag,
            "mood": self.mood,
            "signal": self.signal,
            "q": self.q,
            "sort": ("-" if self.descending else "") + self.sort,
        }


def _as_list(value) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _clean_id(value, extra: set[str] = frozenset()) -> str:
    value = (value or "").strip()
    return value if value in extra or value.isdigit() else ""


def queue_queryset(*, tenant: Tenant, user: User, filters: QueueFilters) -> QuerySet[Ticket]:
    queryset = Ticket.objects.for_tenant(tenant).filter(merged_into=None)
    view = filters.view
    if view == "mine":
        queryset = queryset.filter(assignee=user, status__in=OPEN_STATUSES)
    elif view == "unassigned":
        queryset = queryset.filter(assignee=None, status__in=OPEN_STATUSES)
    elif view == "group":
        groups = GroupMember.objects.for_tenant(tenant).filter(user=user).values("group_id")
        queryset = queryset.filter(group_id__in=groups, status__in=OPEN_STATUSES)
    elif view == "at_risk":
        queryset = queryset.filter(sla_stage__gte=50, status__in=OPEN_STATUSES)
    elif view == "open":
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    elif view == "solved":
        queryset = queryset.filter(status__in=[Status.SOLVED, Status.CLOSED])
    if filters.status:
        queryset = queryset.filter(status__in=filters.status)
    if filters.priority:
        queryset = queryset.filter(priority__in=filters.priority)
    if filters.channel:
        queryset = queryset.filter(channel__in=filters.channel)
    if filters.assignee == "me":
        queryset = queryset.filter(assignee=user)
    elif filters.assignee == "none":
        queryset = queryset.filter(assignee=None)
    elif filters.assignee:
        queryset = queryset.filter(assignee_id=int(filters.assignee))
    if filters.group:
        queryset = queryset.filter(group_id=int(filters.group))
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    if filters.mood:
        queryset = queryset.filter(mood_label=filters.mood)
    if filters.signal:  # JSON list as text: '["urgency", ...]' on PostgreSQL and SQLite alike
        queryset = queryset.annotate(
            mood_signals_text=Cast("mood_signals", output_field=TextField())
        ).filter(mood_signals_text__contains=f'"{filters.signal}"')
    if filters.q:
        queryset = ticket_search_filter(queryset, filters.q)
    if filters.sort == "priority":
        queryset = queryset.annotate(priority_rank=PRIORITY_RANK)
    return queryset


@dataclass
class QueuePage:
    tickets: list[Ticket]
    next_cursor: str | None
    filters: QueueFilters


def _encode(value, pk: int) -> str:
    raw = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([raw, pk]).encode()).decode().rstrip("=")


def _decode(cursor: str, field_name: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = datetime.fromisoformat(raw) if field_name.endswith("_at") else int(raw)
        return value, int(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


# The fields of a page's first read: the row cache key (tickets.rendering) and the cursor.
ROW_KEY_FIELDS = (
    "id",
    "tenant_id",
    "number",
    "updated_at",
    "sla_stage",
    "mood_label",
    "mood_score",
    "mood_signals",
)


def queue_page(
    *, tenant: Tenant, user: User, filters: QueueFilters, cursor: str = "", size: int = 50
) -> QueuePage:
    """One page of the queue with everything a row shows, in a constant number of queries."""
    field_name = SORTS[filters.sort][0]
    queryset = queue_queryset(tenant=tenant, user=user, filters=filters)
    decoded = _decode(cursor, field_name) if cursor else None
    if decoded is not None:
        value, pk = decoded
        op = "lt" if filters.descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{field_name}__{op}": value}) | Q(**{field_name: value, f"pk__{op}": pk})
        )
    prefix = "-" if filters.descending else ""
    # Only what the cursor and the row cache key need: most rows come from the cache, and the
    # renderer loads the full tickets of the others (queue_tickets_full).
    rows = list(
        queryset.only(
            *ROW_KEY_FIELDS, *([] if field_name == "priority_rank" else [field_name])
        ).order_by(f"{prefix}{field_name}", f"{prefix}pk")[: size + 1]
    )
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode(getattr(last, field_name), last.pk)
    return QueuePage(tickets=rows, next_cursor=next_cursor, filters=filters)


def queue_tickets_full(*, tenant: Tenant, ids: list[int]) -> dict[int, Ticket]:
    """The tickets of ``ids`` with everything a queue row shows, by id (one query)."""
    return (
        Ticket.objects.for_tenant(tenant)
        .select_related("customer", "assignee", "group")
        .in_bulk(ids)
    )


COUNTS_TTL = 10  # seconds: tab counts may lag a little; the rows themselves never do


def queue_view_counts(*, tenant: Tenant, user: User) -> dict[str, int]:
    """Ticket counts for the view tabs (index-only scans), cached for a few seconds per person."""
    key = f"queue-counts:{tenant.pk}:{user.pk}"
    counts = cache.get(key)
    if counts is None:
        open_tickets = Ticket.objects.for_tenant(tenant).filter(
            merged_into=None, status__in=OPEN_STATUSES
        )
        counts = {
            "mine": open_tickets.filter(assignee=user).count(),
            "unassigned": open_tickets.filter(assignee=None).count(),
            "at_risk": open_tickets.filter(sla_stage__gte=50).count(),
            "open": open_tickets.count(),
        }
        cache.set(key, counts, COUNTS_TTL)
    return counts
