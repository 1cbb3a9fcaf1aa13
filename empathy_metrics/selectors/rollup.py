"""Reads: figures from the rollup tables (fast at any size), equal to ``selectors.direct``.

A query picks the smallest grouping set that covers the dimensions it filters or breaks down by
(see ``facts.GSETS``), reads the day rows of the period and adds them up in a ``Tally``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Q

from empathy_metrics.facts import DIM_BITS, gset_for
from empathy_metrics.models import (
    BacklogSnapshot,
    CustomerActivitySpan,
    MetricsRollup,
    RetentionDaily,
    RollupState,
)
from empathy_metrics.periods import Bucket, Filters, Period, local_day
from empathy_metrics.selectors.direct import backlog_direct, retention_figures
from empathy_metrics.tally import BAGS, COUNTERS, HISTOGRAMS, Tally
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

DIM_FIELDS = {"channel": "channel", "group": "group_key", "agent": "agent_key", "tag": "tag_key"}
NPS_FIELDS = ("nps_promoters", "nps_passives", "nps_detractors")
_TICKET_FIELDS = tuple(name for name in COUNTERS if name not in NPS_FIELDS)


def _filter_rows(queryset, filters: Filters):
    if filters.channel is not None:
        queryset = queryset.filter(channel=filters.channel)
    if filters.group is not None:
        queryset = queryset.filter(group_key=filters.group)
    if filters.agent is not None:
        queryset = queryset.filter(agent_key=filters.agent)
    if filters.tag is not None:
        queryset = queryset.filter(tag_key=filters.tag)
    return queryset


def _rows(
    model, *, tenant: Tenant, first: date, last: date, filters: Filters, breakdown: str | None
):
    dims = filters.dims | (DIM_BITS[breakdown] if breakdown else 0)
    queryset = model.objects.for_tenant(tenant).filter(
        gset=gset_for(dims), day__gte=first, day__lte=last
    )
    return _filter_rows(queryset, filters), gset_for(dims)


def tallies_by_day(
    *, tenant: Tenant, first: date, last: date, filters: Filters, with_bags: bool = True
) -> dict[date, Tally]:
    """One tally per day of ``first..last`` that has data."""
    fields = ("day", *COUNTERS, *HISTOGRAMS, *(BAGS if with_bags else ()))
    tallies: dict[date, Tally] = defaultdict(Tally)
    with tenant_context(tenant):
        rows, gset = _rows(
            MetricsRollup, tenant=tenant, first=first, last=last, filters=filters, breakdown=None
        )
        if gset != 0:
            fields = tuple(name for name in fields if name not in NPS_FIELDS)
        for row in rows.values(*fields).order_by():
            tallies[row["day"]].merge_row(row)
        if gset != 0:
            nps_rows = MetricsRollup.objects.for_tenant(tenant).filter(
                gset=0, day__gte=first, day__lte=last
            )
            for row in nps_rows.values("day", *NPS_FIELDS).order_by():
                tallies[row["day"]].merge_row(row)
    return tallies


def tallies_by_value(
    *, tenant: Tenant, first: date, last: date, filters: Filters, dim: str
) -> dict:
    """One tally per value of ``dim`` (channel, group, agent or tag) over ``first..last``.

    Without keyword and signal bags (breakdown tables do not show them) and without NPS.
    """
    field = DIM_FIELDS[dim]
    fields = (field, *_TICKET_FIELDS, *HISTOGRAMS)
    tallies: dict = defaultdict(Tally)
    with tenant_context(tenant):
        rows, _gset = _rows(
            MetricsRollup, tenant=tenant, first=first, last=last, filters=filters, breakdown=dim
        )
        for row in rows.values(*fields).order_by():
            tallies[row[field]].merge_row(row)
    return tallies


def merge_days(tallies: dict[date, Tally], first: date, last: date) -> Tally:
    total = Tally()
    for day, tally in tallies.items():
        if first <= day <= last:
            total.merge(tally)
    return total


def bucket_tallies(tallies: dict[date, Tally], buckets: Iterable[Bucket]) -> list[Tally]:
    return [merge_days(tallies, bucket.start, bucket.end) for bucket in buckets]


# --- retention ----------------------------------------------------------------------------


def _active_on(tenant: Tenant, days: Iterable[date]) -> dict[date, int]:
    days = sorted(set(days))
    if not days:
        return {}
    found = dict(
        RetentionDaily.objects.for_tenant(tenant)
        .filter(day__in=days)
        .values_list("day", "active")
        .order_by()
    )
    for day in days:
        if day not in found:
            # Not computed (a future day, or before the rollup ran): count the spans directly.
            found[day] = (
                CustomerActivitySpan.objects.for_tenant(tenant)
                .filter(start_day__lte=day, end_day__gte=day)
                .count()
            )
    return found


def retention_rollup(*, tenant: Tenant, periods: list[Period]) -> list[dict]:
    """Retention of each period, from the daily active counts and the activity spans."""
    if not periods:
        return []
    with tenant_context(tenant):
        active = _active_on(
            tenant, [d for p in periods for d in (p.start - timedelta(days=1), p.end)]
        )
        first = min(p.start for p in periods)
        last = max(p.end for p in periods)
        acquired = list(
            CustomerActivitySpan.objects.for_tenant(tenant)
            .filter(acquired_day__gte=first, acquired_day__lte=last, end_day__gte=first)
            .values_list("acquired_day", "start_day", "end_day")
            .order_by()
        )
    results = []
    for period in periods:
        new_and_active = sum(
            1
            for acquired_day, start_day, end_day in acquired
            if period.start <= acquired_day <= period.end and start_day <= period.end <= end_day
        )
        results.append(
            retention_figures(
                start_active=active[period.start - timedelta(days=1)],
                end_active=active[period.end],
                acquired=new_and_active,
            )
        )
    return results


# --- backlog ------------------------------------------------------------------------------


def backlog_on(
    *, tenant: Tenant, days: list[date], filters: Filters, now: datetime, tz
) -> dict[date, int | None]:
    """Open tickets at the end of each day: live for today (or later), else the day's snapshot
    (None when no snapshot was taken that day)."""
    today = local_day(now, tz)
    result: dict[date, int | None] = {}
    past = [day for day in days if day < today]
    if past:
        with tenant_context(tenant):
            rows, _gset = _rows(
                BacklogSnapshot,
                tenant=tenant,
                first=min(past),
                last=max(past),
                filters=filters,
                breakdown=None,
            )
            snapshots: dict[date, int] = defaultdict(int)
            taken: set[date] = set(
                BacklogSnapshot.objects.for_tenant(tenant)
                .filter(gset=0, day__in=past)
                .values_list("day", flat=True)
            )
            for day, count in rows.filter(day__in=past).values_list("day", "open_tickets"):
                snapshots[day] += count
        for day in past:
            result[day] = snapshots.get(day, 0) if day in taken else None
    if any(day >= today for day in days):
        live = backlog_direct(tenant=tenant, filters=filters)
        for day in days:
            if day >= today:
                result[day] = live
    return result


def rollup_state(*, tenant: Tenant) -> RollupState | None:
    with tenant_context(tenant):
        return RollupState.objects.for_tenant(tenant).first()


def has_rollups(*, tenant: Tenant) -> bool:
    with tenant_context(tenant):
        return RollupState.objects.for_tenant(tenant).filter(~Q(last_rebuild_at=None)).exists()


def metrics_rollup(*, tenant: Tenant, period: Period, filters: Filters, now: datetime) -> dict:
    """Every headline figure of the period from the rollups (same shape as ``metrics_direct``)."""
    tallies = tallies_by_day(tenant=tenant, first=period.start, last=period.end, filters=filters)
    figures = merge_days(tallies, period.start, period.end).figures()
    figures["retention"] = retention_rollup(tenant=tenant, periods=[period])[0]
    figures["backlog"] = {
        "value": backlog_on(
            tenant=tenant, days=[period.end], filters=filters, now=now, tz=period.tz
        )[period.end]
    }
    return figures
