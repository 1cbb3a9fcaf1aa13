"""Reads: figures from the rollup tables (fast at any size), equal to ``selectors.direct``.

A query picks the smallest grouping set that covers the dimensions it filters or breaks down by
(see ``facts.GSETS``) and adds up the month, week and day rows of each range (``_aggregate``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import numpy as np
from django.db.models import Q

from empathy_metrics.facts import DIM_BITS, UNIT_GSETS, gset_for
from empathy_metrics.models import (
    BacklogSnapshot,
    CustomerActivitySpan,
    MetricsRollup,
    RetentionDaily,
    RollupState,
)
from empathy_metrics.periods import Filters, Period, cover, local_day, month_end
from empathy_metrics.selectors.direct import backlog_direct, retention_figures
from empathy_metrics.tally import BAGS, COUNTERS, HISTOGRAMS, Tally, percentiles_of_steps
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

DIM_FIELDS = {"channel": "channel", "group": "group_key", "agent": "agent_key", "tag": "tag_key"}
NPS_FIELDS = ("nps_promoters", "nps_passives", "nps_detractors")
_TICKET_FIELDS = tuple(name for name in COUNTERS if name not in NPS_FIELDS)


def _filter_rows(queryset, filters: Filters | None):
    if filters is None:
        return queryset
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


# --- aggregation -------------------------------------------------------------------------------
#
# The rows of each range of days ("slot") are its whole months, whole weeks and single days
# (``periods.cover``); a query reads them all at once with their counters and encoded duration
# histograms, adds the counters up per slot, and merges the histograms with numpy to find the
# nearest-rank percentiles. Only the grouping sets of at most two dimensions have week and
# month rows; the others are read day by day.

_UNIT_STEP = {"week": timedelta(days=7)}


def _piece_days(unit: str, first: date, last: date):
    """The ``day`` values of the rows of a piece (days, Mondays, or the 1st of months)."""
    cursor = first
    while cursor <= last:
        yield cursor
        if unit == "month":
            cursor = month_end(cursor) + timedelta(days=1)
        else:
            cursor += _UNIT_STEP.get(unit, timedelta(days=1))


def _aggregate(
    *,
    tenant: Tenant,
    slots: list[tuple[date, date]],
    gset: int,
    filters: Filters | None,
    key: str | None,
    counters: tuple[str, ...] = COUNTERS,
    percentiles: bool = True,
    bags: bool = False,
) -> dict[tuple[int, object], Tally]:
    """One Tally per (slot, key value) with its counters, percentiles and bags filled in."""
    units = gset in UNIT_GSETS
    wanted = Q(pk__in=[])
    slots_of: dict[tuple[str, date], list[int]] = defaultdict(list)
    for index, (first, last) in enumerate(slots):
        for unit, piece_first, piece_last in cover(first, last, units=units):
            wanted |= Q(unit=unit, day__gte=piece_first, day__lte=piece_last)
            for day in _piece_days(unit, piece_first, piece_last):
                slots_of[(unit, day)].append(index)
    queryset = _filter_rows(
        MetricsRollup.objects.for_tenant(tenant).filter(gset=gset).filter(wanted), filters
    )
    fields = [
        "unit",
        "day",
        key or "gset",
        *counters,
        *(HISTOGRAMS if percentiles else ()),
        *(BAGS if bags else ()),
    ]
    sums: dict[tuple[int, object], list[int]] = {}
    steps: dict[tuple[int, object], tuple[list, list]] = defaultdict(lambda: ([], []))
    bag_totals: dict[tuple[int, object], tuple[Counter, Counter]] = defaultdict(
        lambda: (Counter(), Counter())
    )
    width = len(counters)
    for row in queryset.values_list(*fields).order_by():
        unit, day, value = row[0], row[1], row[2] if key else None
        numbers = row[3 : 3 + width]
        rest = row[3 + width :]
        for slot in slots_of.get((unit, day), ()):
            group = (slot, value)
            totals = sums.get(group)
            if totals is None:
                sums[group] = list(numbers)
            else:
                for position, number in enumerate(numbers):
                    totals[position] += number
            if percentiles:
                frt, res = steps[group]
                if rest[0]:
                    frt.append(rest[0])
                if rest[1]:
                    res.append(rest[1])
            if bags:
                signals, keywords = bag_totals[group]
                signals.update(rest[-2] or {})
                keywords.update(rest[-1] or {})
    results: dict[tuple[int, object], Tally] = {}
    for group, totals in sums.items():
        tally = results[group] = Tally()
        for name, total in zip(counters, totals, strict=True):
            setattr(tally, name, int(total))
        tally.percentiles = {}
        if percentiles:
            frt, res = steps.get(group, ([], []))
            tally.percentiles = {
                "frt": percentiles_of_steps(frt),
                "res": percentiles_of_steps(res),
            }
        if bags:
            tally.signals, tally.keywords = bag_totals.get(group, (Counter(), Counter()))
    return results


def tallies_for(
    *, tenant: Tenant, slots: list[tuple[date, date]], filters: Filters, bags: bool = True
) -> list[Tally]:
    """One Tally per slot (a range of days): the figures of that range. NPS comes from the
    totals (it ignores the filters)."""
    gset = gset_for(filters.dims)
    with tenant_context(tenant):
        found = _aggregate(
            tenant=tenant,
            slots=slots,
            gset=gset,
            filters=filters,
            key=None,
            counters=COUNTERS if gset == 0 else _TICKET_FIELDS,
            bags=bags,
        )
        if gset != 0:
            nps = _aggregate(
                tenant=tenant,
                slots=slots,
                gset=0,
                filters=None,
                key=None,
                counters=NPS_FIELDS,
                percentiles=False,
            )
            for (slot, _value), part in nps.items():
                target = found.setdefault((slot, None), Tally())
                if target.percentiles is None:
                    target.percentiles = {}
                for name in NPS_FIELDS:
                    setattr(target, name, getattr(part, name))
    empty = Tally()
    empty.percentiles = {}
    return [found.get((index, None), empty) for index in range(len(slots))]


def tallies_by_value(
    *, tenant: Tenant, first: date, last: date, filters: Filters, dim: str
) -> dict:
    """One Tally per value of ``dim`` (channel, group, agent or tag) over ``first..last``
    (without NPS, keywords and signals: breakdown tables do not show them)."""
    gset = gset_for(filters.dims | DIM_BITS[dim])
    with tenant_context(tenant):
        found = _aggregate(
            tenant=tenant,
            slots=[(first, last)],
            gset=gset,
            filters=filters,
            key=DIM_FIELDS[dim],
            counters=_TICKET_FIELDS,
        )
    return {value: tally for (_slot, value), tally in found.items()}


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
            .values_list("customer_id", "acquired_day", "start_day", "end_day")
            .order_by()
        )
    # (customer, acquired, start, end) with days as numbers, counted per period with numpy (a
    # 90-day dashboard asks for ~16 periods over tens of thousands of spans).
    spans = np.array(
        [(c, a.toordinal(), s.toordinal(), e.toordinal()) for c, a, s, e in acquired],
        dtype=np.int64,
    ).reshape(-1, 4)
    results = []
    for period in periods:
        first, last = period.start.toordinal(), period.end.toordinal()
        # New customers acquired during the period: first seen in it (created in it and active
        # on one of its days), whether or not they are still active at the end.
        seen = (
            (spans[:, 1] >= first)
            & (spans[:, 1] <= last)
            & (spans[:, 2] <= last)
            & (spans[:, 3] >= first)
        )
        results.append(
            retention_figures(
                start_active=active[period.start - timedelta(days=1)],
                end_active=active[period.end],
                acquired=int(np.unique(spans[seen, 0]).size),
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
    (tally,) = tallies_for(tenant=tenant, slots=[(period.start, period.end)], filters=filters)
    figures = tally.figures()
    figures["retention"] = retention_rollup(tenant=tenant, periods=[period])[0]
    figures["backlog"] = {
        "value": backlog_on(
            tenant=tenant, days=[period.end], filters=filters, now=now, tz=period.tz
        )[period.end]
    }
    return figures
