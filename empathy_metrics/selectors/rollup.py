"""Reads: figures from the rollup tables (fast at any size), equal to ``selectors.direct``.

A query picks the smallest grouping set that covers the dimensions it filters or breaks down by
(see ``facts.GSETS``) and adds up the day rows of each range of days in SQL (``_aggregate``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Q

from empathy_metrics.facts import DIM_BITS, UNIT_GSETS, gset_for
from empathy_metrics.models import (
    BacklogSnapshot,
    CustomerActivitySpan,
    MetricsRollup,
    RetentionDaily,
    RollupState,
)
from empathy_metrics.periods import Filters, Period, cover, local_day
from empathy_metrics.selectors.direct import backlog_direct, retention_figures
from empathy_metrics.tally import BAGS, COUNTERS, Tally
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


# --- aggregation in SQL ------------------------------------------------------------------------
#
# Counters are summed with SUM(); the histograms and bags (JSON objects) are expanded with
# jsonb_each_text (PostgreSQL) or json_each (SQLite) and summed per value; the nearest-rank
# percentiles are the first value whose running total reaches the rank (a window function).
# Nothing but the results leaves the database.

TABLE = MetricsRollup._meta.db_table


def _json_each() -> str:
    return "jsonb_each_text" if connection.vendor == "postgresql" else "json_each"


def _param_day(day: date):
    return day if connection.vendor == "postgresql" else day.isoformat()


def _slots_cte(slots: list[tuple[date, date]], *, units: bool) -> tuple[str, list]:
    """A ``s(slot, unit, first_day, last_day)`` table: the rollup pieces of every slot."""
    rows, params = [], []
    for index, (first, last) in enumerate(slots):
        for unit, piece_first, piece_last in cover(first, last, units=units):
            rows.append("(%s, %s, %s, %s)")
            params += [index, unit, _param_day(piece_first), _param_day(piece_last)]
    if not rows:  # no slot: a piece that matches nothing
        rows.append("(%s, %s, %s, %s)")
        params += [0, "none", _param_day(date.min), _param_day(date.min)]
    return f"s(slot, unit, first_day, last_day) AS (VALUES {', '.join(rows)})", params


def _where(tenant: Tenant, gset: int, filters: Filters | None) -> tuple[str, list]:
    clauses, params = ["r.tenant_id = %s", "r.gset = %s"], [tenant.pk, gset]
    if filters is not None:
        for dim, field in DIM_FIELDS.items():
            value = getattr(filters, dim)
            if value is not None:
                clauses.append(f"r.{field} = %s")
                params.append(value)
    return " AND ".join(clauses), params


def _query(sql: str, params: list) -> list[tuple]:
    """Run SQL built by ``_aggregate``: only table, column and function names of this module are
    put into the text; every value is a parameter."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
    cte, cte_params = _slots_cte(slots, units=gset in UNIT_GSETS)
    where, where_params = _where(tenant, gset, filters)
    key_sql = f"r.{key}" if key else "NULL"
    group_by_key = f", r.{key}" if key else ""
    source = (
        f"FROM {TABLE} r JOIN s ON r.unit = s.unit AND r.day >= s.first_day AND r.day <= s.last_day"
    )
    results: dict[tuple[int, object], Tally] = {}

    def tally(slot, value) -> Tally:
        found = results.get((slot, value))
        if found is None:
            found = results[(slot, value)] = Tally()
            found.percentiles = {}
        return found

    sums = ", ".join(f"SUM(r.{name})" for name in counters)
    rows = _query(
        f"WITH {cte} SELECT s.slot, {key_sql}, {sums} {source} WHERE {where} "
        f"GROUP BY s.slot{group_by_key}",
        [*cte_params, *where_params],
    )
    for slot, value, *totals in rows:
        target = tally(slot, value)
        for name, total in zip(counters, totals, strict=True):
            setattr(target, name, int(total or 0))
    if percentiles:
        each = _json_each()
        parts = []
        for metric, column in (("frt", "frt_hist"), ("res", "res_hist")):
            parts.append(
                f"SELECT s.slot AS slot, {key_sql} AS k, '{metric}' AS metric, "
                f"CAST(e.key AS INTEGER) AS m, SUM(CAST(e.value AS INTEGER)) AS n "
                f"{source} CROSS JOIN {each}(r.{column}) AS e WHERE {where} "
                f"GROUP BY s.slot{group_by_key}, CAST(e.key AS INTEGER)"
            )
        rows = _query(
            f"WITH {cte}, h AS ({' UNION ALL '.join(parts)}), "  # noqa: S608 (names, not values)
            "c AS (SELECT slot, k, metric, m, "
            "SUM(n) OVER (PARTITION BY slot, k, metric ORDER BY m ROWS UNBOUNDED PRECEDING) "
            "AS cum, SUM(n) OVER (PARTITION BY slot, k, metric) AS total FROM h) "
            "SELECT slot, k, metric, MIN(CASE WHEN cum * 100 >= 50 * total THEN m END), "
            "MIN(CASE WHEN cum * 100 >= 90 * total THEN m END) FROM c GROUP BY slot, k, metric",
            [*cte_params, *where_params, *where_params],
        )
        for slot, value, metric, median, p90 in rows:
            tally(slot, value).percentiles[metric] = (
                None if median is None else int(median),
                None if p90 is None else int(p90),
            )
    if bags:
        each = _json_each()
        parts = [
            f"SELECT s.slot AS slot, '{name}' AS bag, e.key AS item, "
            f"SUM(CAST(e.value AS INTEGER)) AS n {source} CROSS JOIN {each}(r.{name}) AS e "
            f"WHERE {where} GROUP BY s.slot, e.key"
            for name in BAGS
        ]
        rows = _query(
            f"WITH {cte} {' UNION ALL '.join(parts)}",
            [*cte_params, *where_params, *where_params],
        )
        for slot, bag, item, count in rows:
            getattr(tally(slot, None), bag)[item] = int(count)
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
    (tally,) = tallies_for(tenant=tenant, slots=[(period.start, period.end)], filters=filters)
    figures = tally.figures()
    figures["retention"] = retention_rollup(tenant=tenant, periods=[period])[0]
    figures["backlog"] = {
        "value": backlog_on(
            tenant=tenant, days=[period.end], filters=filters, now=now, tz=period.tz
        )[period.end]
    }
    return figures
