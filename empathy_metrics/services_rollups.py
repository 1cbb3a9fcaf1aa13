"""Writes: the metrics rollups, maintained incrementally and rebuilt on demand.

- ``metrics_rollup_update`` (Celery beat, every few minutes per tenant): finds what changed since
  the last run from the id watermarks of the source tables (ticket events, survey answers,
  message analyses, agents' corrections of analyses, and every customer-activity source),
  recomputes the affected tenant-local days and customers, and takes today's backlog snapshot.
  A correction counts in the figures (``facts.message_facts``): a new one is found by its id,
  and every save or removal also writes an ``analysis.corrected`` ticket event, which marks the
  days of that ticket's messages.
- ``metrics_rollup_rebuild`` (``manage.py metrics_rebuild``): recomputes everything from the
  source tables; also run automatically when the tenant's time zone or "active" window changed.

A recomputed day is replaced as a whole (its rows are deleted and written again from the facts of
that day), so a rollup row always equals the direct computation over the same data.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Min
from django.utils import timezone

from empathy_metrics.activity import ActivitySource, activity_sources
from empathy_metrics.facts import (
    UNIT_GSETS,
    csat_facts,
    message_facts,
    nps_facts,
    row_keys,
    ticket_facts,
)
from empathy_metrics.models import (
    BacklogSnapshot,
    CustomerActivitySpan,
    MetricsRollup,
    RetentionDaily,
    RollupState,
    SurveyKind,
    SurveyResponse,
    SurveySettings,
)
from empathy_metrics.periods import day_start, local_day, month_end, month_start, week_start, zone
from empathy_metrics.tally import BAGS, COUNTERS, HISTOGRAMS, Tally, merge_steps
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import (
    OPEN_STATUSES,
    AnalysisCorrection,
    Customer,
    MessageAnalysis,
    Ticket,
    TicketEvent,
    TicketTag,
)
from tickets.services.sla import business_calendar_for

logger = logging.getLogger(__name__)

# Bump when the rollup rows change meaning or layout: every tenant is then rebuilt by beat.
ROLLUP_LAYOUT = 4  # 4: message figures count the agents' corrections
CHUNK_DAYS = 14
ROW_FIELDS = (*COUNTERS, *HISTOGRAMS, *BAGS)
BATCH = 2000
# Per run and source, at most this many new rows are looked at; the rest waits for the next run.
SCAN_LIMIT = 50_000


def survey_settings_for(tenant: Tenant) -> SurveySettings:
    """The tenant's survey settings (created with defaults on first use)."""
    with tenant_context(tenant):
        settings_row, _ = SurveySettings.objects.for_tenant(tenant).get_or_create(tenant=tenant)
    return settings_row


def _state(tenant: Tenant) -> RollupState:
    state, _ = (
        RollupState.objects.for_tenant(tenant).select_for_update().get_or_create(tenant=tenant)
    )
    return state


# --- daily figures ------------------------------------------------------------------------


def _ranges(days: Iterable[date], chunk: int = CHUNK_DAYS) -> list[tuple[date, date]]:
    """Sorted days grouped into runs of consecutive days, each at most ``chunk`` long."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges:
            first, last = ranges[-1]
            if day == last + timedelta(days=1) and (day - first).days < chunk:
                ranges[-1] = (first, day)
                continue
        ranges.append((day, day))
    return ranges


def metrics_rollup_days(
    *, tenant: Tenant, days: Iterable[date], now: datetime | None = None
) -> int:
    """Recompute the rollup rows of the given tenant-local days. Returns the rows written."""
    now = now or timezone.now()
    tz = zone(tenant.time_zone)
    calendar = business_calendar_for(tenant)
    written = 0
    for first, last in _ranges(days):
        start_at, end_at = day_start(first, tz), day_start(last + timedelta(days=1), tz)
        with tenant_context(tenant):
            _state(tenant)  # one writer per tenant at a time (row lock until commit)
            cells: dict[tuple, Tally] = defaultdict(Tally)
            for producer in (ticket_facts, csat_facts, message_facts):
                kwargs = {"tenant": tenant, "start_at": start_at, "end_at": end_at, "tz": tz}
                if producer is ticket_facts:
                    kwargs["calendar"] = calendar
                for fact in producer(**kwargs):
                    for key in row_keys(fact):
                        cells[(fact.day, *key)].add(fact)
            for fact in nps_facts(tenant=tenant, start_at=start_at, end_at=end_at, tz=tz):
                cells[(fact.day, 0, "*", -1, -1, -1)].add_nps(fact)
            MetricsRollup.objects.for_tenant(tenant).filter(
                unit=MetricsRollup.Unit.DAY, day__gte=first, day__lte=last
            ).delete()
            rows = [
                MetricsRollup(
                    tenant=tenant,
                    day=day,
                    gset=gset,
                    channel=channel,
                    group_key=group_key,
                    agent_key=agent_key,
                    tag_key=tag_key,
                    computed_at=now,
                    **tally.as_row(),
                )
                for (day, gset, channel, group_key, agent_key, tag_key), tally in cells.items()
            ]
            MetricsRollup.objects.bulk_create(rows, batch_size=BATCH)
            written += len(rows)
    return written


def metrics_rollup_units(
    *, tenant: Tenant, days: Iterable[date], now: datetime | None = None
) -> int:
    """Recompute the week and month rows that contain ``days`` from their day rows (for the
    grouping sets of at most two dimensions). Returns the rows written."""
    now = now or timezone.now()
    days = set(days)
    units = {(MetricsRollup.Unit.WEEK, week_start(day)) for day in days}
    units |= {(MetricsRollup.Unit.MONTH, month_start(day)) for day in days}
    fields = ("gset", "channel", "group_key", "agent_key", "tag_key", *ROW_FIELDS)
    written = 0
    for unit, first in sorted(units):
        last = first + timedelta(days=6) if unit == MetricsRollup.Unit.WEEK else month_end(first)
        with tenant_context(tenant):
            _state(tenant)
            cells: dict[tuple, Tally] = defaultdict(Tally)
            steps: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
            day_rows = MetricsRollup.objects.for_tenant(tenant).filter(
                unit=MetricsRollup.Unit.DAY, gset__in=UNIT_GSETS, day__gte=first, day__lte=last
            )
            for row in day_rows.values(*fields).iterator(chunk_size=5000):
                key = (
                    row["gset"],
                    row["channel"],
                    row["group_key"],
                    row["agent_key"],
                    row["tag_key"],
                )
                cells[key].merge_row({name: row[name] for name in (*COUNTERS, *BAGS)})
                frt, res = steps[key]
                frt.append(row["frt_steps"])
                res.append(row["res_steps"])
            for key, (frt, res) in steps.items():
                cells[key].frt_steps.update(merge_steps(frt))
                cells[key].res_steps.update(merge_steps(res))
            MetricsRollup.objects.for_tenant(tenant).filter(unit=unit, day=first).delete()
            MetricsRollup.objects.bulk_create(
                [
                    MetricsRollup(
                        tenant=tenant,
                        unit=unit,
                        day=first,
                        gset=gset,
                        channel=channel,
                        group_key=group_key,
                        agent_key=agent_key,
                        tag_key=tag_key,
                        computed_at=now,
                        **tally.as_row(),
                    )
                    for (gset, channel, group_key, agent_key, tag_key), tally in cells.items()
                ],
                batch_size=BATCH,
            )
            written += len(cells)
    return written


# --- backlog ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OpenTicket:
    channel: str
    group_key: int
    agent_key: int
    tag_keys: tuple[int, ...]


def backlog_snapshot_take(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Replace today's backlog snapshot with the open tickets right now. Returns the total."""
    now = now or timezone.now()
    today = local_day(now, zone(tenant.time_zone))
    with tenant_context(tenant):
        _state(tenant)
        open_tickets = Ticket.objects.for_tenant(tenant).filter(
            status__in=OPEN_STATUSES, merged_into__isnull=True
        )
        cells: dict[tuple, int] = defaultdict(int)
        # Counted in SQL by combination, then spread over the grouping sets: without the tag
        # first, then once per (ticket, tag) for the sets that include the tag.
        for channel, group_id, assignee_id, count in (
            open_tickets.values_list("channel", "group_id", "assignee_id")
            .annotate(n=Count("id"))
            .order_by()
        ):
            ticket = _OpenTicket(channel, group_id or 0, assignee_id or 0, ())
            for key in row_keys(ticket):
                cells[key] += count
        for tag_id, channel, group_id, assignee_id, count in (
            TicketTag.objects.for_tenant(tenant)
            .filter(ticket__in=open_tickets)
            .values_list("tag_id", "ticket__channel", "ticket__group_id", "ticket__assignee_id")
            .annotate(n=Count("id"))
            .order_by()
        ):
            ticket = _OpenTicket(channel, group_id or 0, assignee_id or 0, (tag_id,))
            for key in row_keys(ticket):
                if key[0] & 8:
                    cells[key] += count
        cells.setdefault((0, "*", -1, -1, -1), 0)  # a snapshot of an empty backlog is still one
        BacklogSnapshot.objects.for_tenant(tenant).filter(day=today).delete()
        BacklogSnapshot.objects.bulk_create(
            [
                BacklogSnapshot(
                    tenant=tenant,
                    day=today,
                    gset=gset,
                    channel=channel,
                    group_key=group_key,
                    agent_key=agent_key,
                    tag_key=tag_key,
                    open_tickets=count,
                    taken_at=now,
                )
                for (gset, channel, group_key, agent_key, tag_key), count in cells.items()
            ],
            batch_size=BATCH,
        )
    return cells.get((0, "*", -1, -1, -1), 0)


# --- retention ----------------------------------------------------------------------------


def _spans(days: Iterable[int], active_days: int) -> list[tuple[int, int]]:
    """Merge contact days (ordinals) into the ranges of days the customer counts as active."""
    spans: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        end = day + active_days - 1
        if spans and day <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((day, end))
    return spans


def _contact_days(tenant: Tenant, customer_ids: list[int] | None, tz) -> dict[int, set[int]]:
    days: dict[int, set[int]] = defaultdict(set)
    for source in activity_sources():
        if customer_ids is None:
            rows = source.all_contacts(tenant).iterator(chunk_size=10_000)
        else:
            rows = source.contacts_of(tenant, customer_ids)
        for customer_id, at in rows:
            if at is not None:
                days[customer_id].add(at.astimezone(tz).date().toordinal())
    return days


CUSTOMER_CHUNK = 5000


def retention_spans_recompute(
    *, tenant: Tenant, customer_ids: list[int] | None, active_days: int
) -> tuple[date, date] | None:
    """Rewrite the activity spans of ``customer_ids`` (all customers when None).

    Returns the range of days whose active count may have changed, or None.
    """
    if customer_ids is None:
        return _spans_recompute(tenant, None, active_days)
    ranges = [
        _spans_recompute(tenant, customer_ids[i : i + CUSTOMER_CHUNK], active_days)
        for i in range(0, len(customer_ids), CUSTOMER_CHUNK)
    ]
    ranges = [found for found in ranges if found is not None]
    if not ranges:
        return None
    return min(lo for lo, _hi in ranges), max(hi for _lo, hi in ranges)


def _spans_recompute(
    tenant: Tenant, customer_ids: list[int] | None, active_days: int
) -> tuple[date, date] | None:
    tz = zone(tenant.time_zone)
    touched: list[int] = []
    with tenant_context(tenant):
        _state(tenant)
        spans = CustomerActivitySpan.objects.for_tenant(tenant)
        customers = Customer.objects.for_tenant(tenant)
        if customer_ids is not None:
            spans = spans.filter(customer_id__in=customer_ids)
            customers = customers.filter(pk__in=customer_ids)
        old = spans.aggregate(lo=Min("start_day"), hi=Max("end_day"))
        for value in old.values():
            if value is not None:
                touched.append(value.toordinal())
        spans.delete()
        contact_days = _contact_days(tenant, customer_ids, tz)
        acquired = {
            pk: created_at.astimezone(tz).date()
            for pk, created_at in customers.values_list("pk", "created_at").iterator(
                chunk_size=10_000
            )
        }
        rows = []
        for customer_id, ordinals in contact_days.items():
            if customer_id not in acquired:
                continue  # deleted since
            for start, end in _spans(ordinals, active_days):
                touched += [start, end]
                rows.append(
                    CustomerActivitySpan(
                        tenant=tenant,
                        customer_id=customer_id,
                        start_day=date.fromordinal(start),
                        end_day=date.fromordinal(end),
                        acquired_day=acquired[customer_id],
                    )
                )
        CustomerActivitySpan.objects.bulk_create(rows, batch_size=BATCH)
    if not touched:
        return None
    return date.fromordinal(min(touched)), date.fromordinal(max(touched))


def retention_daily_recompute(*, tenant: Tenant, first: date, last: date) -> int:
    """Recompute the active-customer count of each day in ``first..last``."""
    if last < first:
        return 0
    with tenant_context(tenant):
        _state(tenant)
        delta: dict[int, int] = defaultdict(int)
        overlapping = (
            CustomerActivitySpan.objects.for_tenant(tenant)
            .filter(end_day__gte=first, start_day__lte=last)
            .values_list("start_day", "end_day")
            .order_by()
        )
        lo, hi = first.toordinal(), last.toordinal()
        for start, end in overlapping.iterator(chunk_size=10_000):
            delta[max(start.toordinal(), lo)] += 1
            delta[min(end.toordinal(), hi) + 1] -= 1
        RetentionDaily.objects.for_tenant(tenant).filter(day__gte=first, day__lte=last).delete()
        rows, active = [], 0
        for ordinal in range(lo, hi + 1):
            active += delta.get(ordinal, 0)
            rows.append(RetentionDaily(tenant=tenant, day=date.fromordinal(ordinal), active=active))
        RetentionDaily.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


# --- the incremental run and the rebuild ----------------------------------------------------


def _watermark_sources() -> dict[str, ActivitySource]:
    """The customer-activity sources, by watermark name."""
    return {f"activity:{s.name}": s for s in activity_sources()}


def _current_ids(tenant: Tenant) -> dict[str, int]:
    marks = {
        "event": TicketEvent.objects.for_tenant(tenant).aggregate(m=Max("pk"))["m"] or 0,
        "response": SurveyResponse.objects.for_tenant(tenant).aggregate(m=Max("pk"))["m"] or 0,
        "analysis": MessageAnalysis.objects.for_tenant(tenant).aggregate(m=Max("pk"))["m"] or 0,
        "correction": AnalysisCorrection.objects.for_tenant(tenant).aggregate(m=Max("pk"))["m"]
        or 0,
    }
    for name, source in _watermark_sources().items():
        marks[name] = source.last_id(tenant)
    return marks


def metrics_rollup_rebuild(
    *, tenant: Tenant, now: datetime | None = None, since: date | None = None
) -> dict[str, int]:
    """Recompute every rollup of ``tenant`` from the source tables (from ``since`` on, if given)."""
    now = now or timezone.now()
    tz = zone(tenant.time_zone)
    today = local_day(now, tz)
    active_days = survey_settings_for(tenant).active_days
    with tenant_context(tenant):
        state = _state(tenant)
        marks = _current_ids(tenant)
        bounds = [
            Ticket.objects.for_tenant(tenant).aggregate(m=Min("created_at"))["m"],
            SurveyResponse.objects.for_tenant(tenant).aggregate(m=Min("created_at"))["m"],
            MessageAnalysis.objects.for_tenant(tenant).aggregate(m=Min("message_created_at"))["m"],
        ]
        if since is None:
            MetricsRollup.objects.for_tenant(tenant).delete()
    starts = [local_day(value, tz) for value in bounds if value is not None]
    first = max(since, min(starts)) if since and starts else (min(starts) if starts else today)
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    rows = metrics_rollup_days(tenant=tenant, days=days, now=now)
    rows += metrics_rollup_units(tenant=tenant, days=days, now=now)
    changed = retention_spans_recompute(tenant=tenant, customer_ids=None, active_days=active_days)
    with tenant_context(tenant):
        RetentionDaily.objects.for_tenant(tenant).delete()
    retention_days = 0
    if changed is not None:
        retention_days = retention_daily_recompute(tenant=tenant, first=changed[0], last=today)
    backlog = backlog_snapshot_take(tenant=tenant, now=now)
    with tenant_context(tenant):
        state = _state(tenant)
        state.watermarks = {**marks, "sweep": today.isoformat(), "layout": ROLLUP_LAYOUT}
        state.active_days = active_days
        state.time_zone = tenant.time_zone
        state.last_run_at = now
        state.last_rebuild_at = now
        state.save()
    return {"days": len(days), "rows": rows, "retention_days": retention_days, "backlog": backlog}


def _dirty_from_events(tenant: Tenant, last_id: int) -> tuple[set[int], int]:
    rows = list(
        TicketEvent.objects.for_tenant(tenant)
        .filter(pk__gt=last_id)
        .order_by("pk")
        .values_list("pk", "ticket_id")[:SCAN_LIMIT]
    )
    return {ticket_id for _pk, ticket_id in rows}, rows[-1][0] if rows else last_id


def _days_of_tickets(tenant: Tenant, ticket_ids: set[int], tz) -> set[date]:
    """Every day whose rows a change to these tickets can touch: creation, CSAT, messages."""
    if not ticket_ids:
        return set()
    ids = list(ticket_ids)
    days: set[date] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for at in (
            Ticket.objects.for_tenant(tenant)
            .filter(pk__in=chunk)
            .values_list("created_at", flat=True)
        ):
            days.add(local_day(at, tz))
        for at in (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(ticket_id__in=chunk, kind=SurveyKind.CSAT)
            .values_list("created_at", flat=True)
        ):
            days.add(local_day(at, tz))
        for at in (
            MessageAnalysis.objects.for_tenant(tenant)
            .filter(ticket_id__in=chunk)
            .values_list("message_created_at", flat=True)
        ):
            days.add(local_day(at, tz))
    return days


def _days_of_messages(tenant: Tenant, message_ids: list[int], tz) -> set[date]:
    """The days the analyses of these messages count on."""
    days: set[date] = set()
    for start in range(0, len(message_ids), 500):
        for at in (
            MessageAnalysis.objects.for_tenant(tenant)
            .filter(message_id__in=message_ids[start : start + 500])
            .values_list("message_created_at", flat=True)
        ):
            days.add(local_day(at, tz))
    return days


def metrics_rollup_update(*, tenant: Tenant, now: datetime | None = None) -> dict[str, int]:
    """The incremental run: recompute what changed since the last run (see module doc)."""
    now = now or timezone.now()
    tz = zone(tenant.time_zone)
    today = local_day(now, tz)
    active_days = survey_settings_for(tenant).active_days
    with tenant_context(tenant):
        state = _state(tenant)
        needs_rebuild = (
            state.last_rebuild_at is None
            or state.watermarks.get("layout") != ROLLUP_LAYOUT
            or state.time_zone != tenant.time_zone
            or state.active_days != active_days
        )
    if needs_rebuild:
        return {"rebuilt": 1, **metrics_rollup_rebuild(tenant=tenant, now=now)}

    with tenant_context(tenant):
        marks = dict(state.watermarks)
        ticket_ids, marks["event"] = _dirty_from_events(tenant, marks.get("event", 0))
        days = _days_of_tickets(tenant, ticket_ids, tz)
        responses = list(
            SurveyResponse.objects.for_tenant(tenant)
            .filter(pk__gt=marks.get("response", 0))
            .order_by("pk")
            .values_list("pk", "created_at")[:SCAN_LIMIT]
        )
        days |= {local_day(at, tz) for _pk, at in responses}
        if responses:
            marks["response"] = responses[-1][0]
        analyses = list(
            MessageAnalysis.objects.for_tenant(tenant)
            .filter(pk__gt=marks.get("analysis", 0))
            .order_by("pk")
            .values_list("pk", "message_created_at")[:SCAN_LIMIT]
        )
        days |= {local_day(at, tz) for _pk, at in analyses}
        if analyses:
            marks["analysis"] = analyses[-1][0]
        corrections = list(
            AnalysisCorrection.objects.for_tenant(tenant)
            .filter(pk__gt=marks.get("correction", 0))
            .order_by("pk")
            .values_list("pk", "message_id")[:SCAN_LIMIT]
        )
        if corrections:
            days |= _days_of_messages(tenant, [m for _pk, m in corrections], tz)
            marks["correction"] = corrections[-1][0]
        customers: set[int] = set()
        for name, source in _watermark_sources().items():
            fresh = source.new_since(tenant, marks.get(name, 0), SCAN_LIMIT)
            customers |= {customer_id for _pk, customer_id in fresh if customer_id}
            if fresh:
                marks[name] = fresh[-1][0]
    if marks.get("sweep") != today.isoformat():
        # Once a day, recompute the last two days whatever changed: a safety net for a change
        # that committed after a later id was already seen (ids are not committed in order).
        days |= {today - timedelta(days=2), today - timedelta(days=1)}
        marks["sweep"] = today.isoformat()
    days = {day for day in days if day <= today}
    rows = 0
    if days:
        rows = metrics_rollup_days(tenant=tenant, days=days, now=now)
        rows += metrics_rollup_units(tenant=tenant, days=days, now=now)
    retention_range = None
    if customers:
        retention_range = retention_spans_recompute(
            tenant=tenant, customer_ids=sorted(customers), active_days=active_days
        )
    # Days that ended since the last run get their count even without new contacts.
    lo = min(today - timedelta(days=1), local_day(state.last_run_at or now, tz))
    hi = today
    if retention_range is not None:
        lo, hi = min(lo, retention_range[0]), max(hi, min(retention_range[1], today))
    retention_days = retention_daily_recompute(tenant=tenant, first=lo, last=hi)
    backlog = backlog_snapshot_take(tenant=tenant, now=now)
    with tenant_context(tenant):
        state = _state(tenant)
        state.watermarks = marks
        state.last_run_at = now
        state.save(update_fields=["watermarks", "last_run_at"])
    return {
        "rebuilt": 0,
        "days": len(days),
        "rows": rows,
        "customers": len(customers),
        "retention_days": retention_days,
        "backlog": backlog,
    }
