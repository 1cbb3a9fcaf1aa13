"""Funnels: entered, reached, conversion, drop-off and time between stages, per journey and period.

Read from the pre-aggregated steps (one row per stage a run reached), never from raw events.
Period semantics: the runs that *entered* the journey in ``[start, end)``, with the stages they
reached before ``end``. Two periods of the same length are therefore comparable: each cohort is
observed up to the end of its own period.
"""

from __future__ import annotations

import math
import statistics
import time
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from helpdesk.tenancy.models import Tenant
from journeys.models import Journey, JourneyRun, JourneyStage, JourneyStep

BREAKDOWNS = {
    "tag": "Customer tag",
    "company": "Company",
    "signup_month": "Customer since (month)",
}
TOP_SEGMENTS = 8


class Median(Aggregate):
    """PostgreSQL's exact median (nulls ignored)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start).total_seconds() / 86400))

    def previous(self) -> Period:
        length = self.end - self.start
        return Period(self.start - length, self.start, f"the previous {self.days} days")


def period_last_days(*, days: int, now: datetime | None = None) -> Period:
    now = now or timezone.now()
    return Period(now - timedelta(days=days), now, f"Last {days} days")


def period_between(*, start: date, end: date, tz: str, now: datetime | None = None) -> Period:
    """Whole days ``start``..``end`` (inclusive) in the tenant's time zone, never past now."""
    zone = zoneinfo.ZoneInfo(tz)
    begin = datetime.combine(start, dtime.min, tzinfo=zone)
    finish = datetime.combine(end + timedelta(days=1), dtime.min, tzinfo=zone)
    finish = min(finish, now or timezone.now())
    label = f"{start:%-d %b %Y} to {end:%-d %b %Y}"
    return Period(begin, finish, label)


@dataclass
class FunnelStage:
    position: int
    name: str
    event_names: list[str]
    stuck_after_hours: int
    reached: int = 0
    skipped: int = 0  # reached without their own event (a later stage implied it)
    median_seconds: float | None = None  # from the previous stage, both observed
    timed: int = 0  # how many durations the median is over
    conversion: float | None = None  # share of the previous stage's customers who got here
    overall: float | None = None  # share of those who entered
    drop_off: int | None = None  # got here but not to the next stage (None: last stage)
    drop_off_rate: float | None = None
    now_waiting: int = 0  # of the period's runs: at this stage now, not stuck
    now_stuck: int = 0
    now_dropped: int = 0
    next_name: str = ""


@dataclass
class Funnel:
    journey: Journey
    period: Period
    stages: list[FunnelStage]
    computed_ms: float = 0.0

    @property
    def entered(self) -> int:
        return self.stages[0].reached if self.stages else 0

    @property
    def completed(self) -> int:
        return self.stages[-1].reached if self.stages else 0

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.entered if self.entered else None

    def stage(self, position: int) -> FunnelStage | None:
        return next((s for s in self.stages if s.position == position), None)


def journey_stages(*, tenant: Tenant, journey: Journey) -> list[JourneyStage]:
    return list(
        JourneyStage.objects.for_tenant(tenant).filter(journey=journey).order_by("position")
    )


def _steps_in(tenant: Tenant, journey: Journey, period: Period):
    return JourneyStep.objects.for_tenant(tenant).filter(
        journey=journey,
        entered_at__gte=period.start,
        entered_at__lt=period.end,
        reached_at__lt=period.end,
    )


# Medians of the time between stages. Exact (percentile_cont, or Python on SQLite) while a period
# has up to EXACT_MEDIAN_LIMIT timed customers; above that, from a histogram of log-spaced buckets
# gathered in the same pass as the counts (no sort of a million rows), interpolated inside the
# median's bucket: each bucket spans 3.2% of its values, so the error stays well under that.
EXACT_MEDIAN_LIMIT = 100_000
HISTOGRAM_BUCKETS = 512
HISTOGRAM_MAX_LOG = 16.0  # ln(seconds + 1) up to 16: about 100 days

# float8, not numeric: ln() of a numeric costs ~1 µs per row (1.8 s instead of 0.5 s here).
_HISTOGRAM_SQL = f"""
    SELECT stage,
           CASE WHEN seconds_from_previous IS NULL THEN -1
                ELSE width_bucket(ln(seconds_from_previous::float8 + 1), 0::float8,
                                  {HISTOGRAM_MAX_LOG}::float8, {HISTOGRAM_BUCKETS}) END AS bucket,
           count(*),
           count(*) FILTER (WHERE NOT observed)
    FROM journeys_journeystep
    WHERE tenant_id = %s AND journey_id = %s AND entered_at >= %s AND entered_at < %s
      AND reached_at < %s
    GROUP BY 1, 2
"""  # noqa: S608 (constants only)


def _bucket_bounds(bucket: int) -> tuple[float, float]:
    width = HISTOGRAM_MAX_LOG / HISTOGRAM_BUCKETS
    if bucket > HISTOGRAM_BUCKETS:  # beyond the last bucket
        low = math.exp(HISTOGRAM_MAX_LOG) - 1
        return low, low
    return math.exp((bucket - 1) * width) - 1, math.exp(bucket * width) - 1


def histogram_median(buckets: dict[int, int]) -> float | None:
    """The median of values counted in log buckets, interpolated inside their buckets (the mean
    of the two middle values when the count is even, like an exact median)."""
    total = sum(buckets.values())
    if not total:
        return None
    ordered = sorted(buckets.items())

    def value_at(rank: int) -> float:  # 0-based rank among all values
        seen = 0
        for bucket, count in ordered:
            if seen + count > rank:
                low, high = _bucket_bounds(bucket)
                share = (rank - seen + 0.5) / count
                return low * (high / low) ** share if low > 0 else low + (high - low) * share
            seen += count
        return _bucket_bounds(ordered[-1][0])[1]

    middle = total // 2
    if total % 2:
        return value_at(middle)
    return (value_at(middle - 1) + value_at(middle)) / 2


def _stage_counts_postgres(tenant: Tenant, journey: Journey, period: Period) -> dict[int, dict]:
    ops = connection.ops
    params = [
        tenant.pk,
        journey.pk,
        ops.adapt_datetimefield_value(period.start),
        ops.adapt_datetimefield_value(period.end),
        ops.adapt_datetimefield_value(period.end),
    ]
    rows: dict[int, dict] = {}
    histograms: dict[int, dict[int, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(_HISTOGRAM_SQL, params)
        for stage, bucket, count, skipped in cursor.fetchall():
            row = rows.setdefault(stage, {"reached": 0, "skipped": 0, "timed": 0, "median": None})
            row["reached"] += count
            row["skipped"] += skipped
            if bucket >= 0:
                row["timed"] += count
                histograms[stage][bucket] = count
    if sum(row["timed"] for row in rows.values()) <= EXACT_MEDIAN_LIMIT:
        exact = (
            _steps_in(tenant, journey, period)
            .filter(seconds_from_previous__isnull=False)
            .values("stage")
            .annotate(median=Median("seconds_from_previous"))
        )
        for row in exact:
            rows[row["stage"]]["median"] = row["median"]
    else:
        for stage, histogram in histograms.items():
            rows[stage]["median"] = histogram_median(histogram)
    return rows


def _stage_counts(tenant: Tenant, journey: Journey, period: Period) -> dict[int, dict]:
    if connection.vendor == "postgresql":
        return _stage_counts_postgres(tenant, journey, period)
    steps = _steps_in(tenant, journey, period)
    rows = {
        row["stage"]: row
        for row in steps.values("stage").annotate(
            reached=Count("*"),
            skipped=Count("stage", filter=Q(observed=False)),
            timed=Count("seconds_from_previous"),
        )
    }
    durations: dict[int, list[int]] = defaultdict(list)
    for stage, seconds in steps.filter(seconds_from_previous__isnull=False).values_list(
        "stage", "seconds_from_previous"
    ):
        durations[stage].append(seconds)
    for stage, row in rows.items():
        row["median"] = statistics.median(durations[stage]) if durations[stage] else None
    return rows


def _now_counts(
    tenant: Tenant, journey: Journey, period: Period, stages: list[JourneyStage], now: datetime
) -> dict[int, dict]:
    """Of the runs that entered in the period and are not complete: stuck or dropped now."""
    if len(stages) < 2:
        return {}
    dropped_cut = now - timedelta(days=journey.dropped_after_days)
    stuck = Q(pk__in=[])
    for stage in stages[:-1]:
        hours = stage.stuck_after_hours or journey.stuck_after_hours
        stuck |= Q(
            stage=stage.position,
            stage_reached_at__lt=now - timedelta(hours=hours),
            stage_reached_at__gte=dropped_cut,
        )
    rows = (
        JourneyRun.objects.for_tenant(tenant)
        .filter(
            journey=journey,
            entered_at__gte=period.start,
            entered_at__lt=period.end,
            stage__lt=stages[-1].position,
        )
        .values("stage")
        .annotate(
            total=Count("*"),
            stuck=Count("stage", filter=stuck),
            dropped=Count("stage", filter=Q(stage_reached_at__lt=dropped_cut)),
        )
    )
    return {row["stage"]: row for row in rows}


def journey_funnel(
    *,
    tenant: Tenant,
    journey: Journey,
    period: Period,
    stages: list[JourneyStage] | None = None,
    now: datetime | None = None,
    with_now: bool = True,
) -> Funnel:
    started = time.perf_counter()
    stages = stages if stages is not None else journey_stages(tenant=tenant, journey=journey)
    counts = _stage_counts(tenant, journey, period)
    current = (
        _now_counts(tenant, journey, period, stages, now or timezone.now()) if with_now else {}
    )
    result = []
    for stage in stages:
        row = counts.get(stage.position, {})
        result.append(
            FunnelStage(
                position=stage.position,
                name=stage.name,
                event_names=list(stage.event_names),
                stuck_after_hours=stage.stuck_after_hours or journey.stuck_after_hours,
                reached=row.get("reached", 0),
                skipped=row.get("skipped", 0),
                timed=row.get("timed", 0),
                median_seconds=row.get("median"),
            )
        )
    entered = result[0].reached if result else 0
    for index, stage in enumerate(result):
        if index > 0:
            previous = result[index - 1].reached
            stage.conversion = stage.reached / previous if previous else None
        stage.overall = stage.reached / entered if entered else None
        if index < len(result) - 1:
            following = result[index + 1]
            stage.next_name = following.name
            stage.drop_off = stage.reached - following.reached
            stage.drop_off_rate = stage.drop_off / stage.reached if stage.reached else None
        now_row = current.get(stage.position)
        if now_row:
            stage.now_stuck = now_row["stuck"]
            stage.now_dropped = now_row["dropped"]
            stage.now_waiting = now_row["total"] - now_row["stuck"] - now_row["dropped"]
    funnel = Funnel(journey=journey, period=period, stages=result)
    funnel.computed_ms = (time.perf_counter() - started) * 1000
    return funnel


# --- Segment breakdowns ---------------------------------------------------------------------


@dataclass
class SegmentRow:
    label: str
    reached: list[int]  # per stage position
    is_other: bool = False

    @property
    def entered(self) -> int:
        return self.reached[0] if self.reached else 0

    @property
    def completion_rate(self) -> float | None:
        return self.reached[-1] / self.entered if self.entered else None

    def overall(self) -> list[float | None]:
        return [n / self.entered if self.entered else None for n in self.reached]


@dataclass
class Breakdown:
    by: str
    label: str
    rows: list[SegmentRow] = field(default_factory=list)
    computed_ms: float = 0.0


# Breakdowns read the runs of the period alone: each run carries its customer's company,
# created_at and tags (``JourneyRun.company``), so no join to the customers. A run counts as
# having reached every stage up to the furthest one it reached before the period's end: its
# ``stage`` when that was reached before the end (always, for a period ending now), else the
# furthest of its steps reached before the end (the only case that reads steps, by run id).
# Steps fill every stage up to the furthest (skipped ones included), so this equals counting the
# steps of the period per stage, as the funnel does.
_FURTHEST_SQL = """
    CASE WHEN r.stage_reached_at < %s THEN r.stage
         ELSE (SELECT max(s.stage) FROM journeys_journeystep s
               WHERE s.tenant_id = r.tenant_id AND s.run_id = r.id AND s.reached_at < %s) END
"""


def _runs_in(tenant: Tenant, journey: Journey, period: Period):
    return JourneyRun.objects.for_tenant(tenant).filter(
        journey=journey, entered_at__gte=period.start, entered_at__lt=period.end
    )


def _furthest(tenant: Tenant, period: Period):
    """The ORM form of ``_FURTHEST_SQL``."""
    before_end = (
        JourneyStep.objects.for_tenant(tenant)
        .filter(run=OuterRef("pk"), reached_at__lt=period.end)
        .order_by("-stage")
        .values("stage")[:1]
    )
    return Case(
        When(stage_reached_at__lt=period.end, then=F("stage")),
        default=Subquery(before_end),
        output_field=IntegerField(),
    )


def _tag_counts(tenant: Tenant, journey: Journey, period: Period) -> list[tuple[str, int, int]]:
    """(tag, furthest stage, runs) through the runs' copies of the customers' JSON tag lists."""
    if connection.vendor == "postgresql":
        unnest = "jsonb_array_elements_text(x.tags) AS t(tag)"
        tag = "t.tag"
    else:
        unnest = "json_each(x.tags) AS t"
        tag = "t.value"
    sql = f"""
        SELECT {tag}, x.furthest, COUNT(*)
        FROM (SELECT r.tags, {_FURTHEST_SQL} AS furthest
              FROM journeys_journeyrun r
              WHERE r.tenant_id = %s AND r.journey_id = %s AND r.entered_at >= %s
                AND r.entered_at < %s) AS x,
             {unnest}
        GROUP BY {tag}, x.furthest
    """  # noqa: S608 (no user input in the SQL text)
    ops = connection.ops
    end = ops.adapt_datetimefield_value(period.end)
    params = [end, end, tenant.pk, journey.pk, ops.adapt_datetimefield_value(period.start), end]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (str(t), int(furthest), int(n))
            for t, furthest, n in cursor.fetchall()
            if furthest is not None
        ]


def journey_breakdown(
    *, tenant: Tenant, journey: Journey, period: Period, by: str, stage_count: int
) -> Breakdown:
    """Reached per stage for the largest segments of ``by`` (tag, company, signup month).

    The customer's current company and tags count (the runs' copies are kept current, see
    ``JourneyRun.company``), and their signup month in the tenant's time zone.
    """
    if by not in BREAKDOWNS:
        raise ValueError(f"Unknown breakdown {by!r}; choose from {sorted(BREAKDOWNS)}.")
    started = time.perf_counter()
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * stage_count)
    if by == "tag":
        rows = _tag_counts(tenant, journey, period)
        others_label = "Other tags"
    else:
        runs = _runs_in(tenant, journey, period).annotate(furthest=_furthest(tenant, period))
        if by == "company":
            key = "company"
            queryset = runs.values(key, "furthest")
            others_label = "Other companies"
        else:
            key = "month"
            zone = zoneinfo.ZoneInfo(tenant.time_zone)
            queryset = runs.annotate(month=TruncMonth("customer_since", tzinfo=zone)).values(
                key, "furthest"
            )
            others_label = "Other months"
        rows = [
            (row[key], row["furthest"], row["n"])
            for row in queryset.annotate(n=Count("*")).order_by()
            if row["furthest"] is not None
        ]
    for value, furthest, n in rows:
        for stage in range(min(furthest, stage_count - 1) + 1):
            counts[_segment_label(by, value)][stage] += n
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    if by == "signup_month":
        top = sorted(ranked[:TOP_SEGMENTS], key=lambda item: _month_key(item[0]))
    else:
        top = ranked[:TOP_SEGMENTS]
    result = [SegmentRow(label, reached) for label, reached in top]
    rest = ranked[TOP_SEGMENTS:]
    if rest:
        other = [sum(reached[i] for _label, reached in rest) for i in range(stage_count)]
        result.append(SegmentRow(f"{others_label} ({len(rest)})", other, is_other=True))
    breakdown = Breakdown(by=by, label=BREAKDOWNS[by], rows=result)
    breakdown.computed_ms = (time.perf_counter() - started) * 1000
    return breakdown


def _segment_label(by: str, value) -> str:
    if by == "signup_month":
        return value.strftime("%b %Y") if value else "Unknown"
    return value or ("(no company)" if by == "company" else "(none)")


def _month_key(label: str) -> datetime:
    try:
        return datetime.strptime(label, "%b %Y")
    except ValueError:
        return datetime.max


# --- Journeys list --------------------------------------------------------------------------


def journey_list(*, tenant: Tenant) -> list[Journey]:
    return list(Journey.objects.for_tenant(tenant).order_by("name", "id"))


def journey_get(*, tenant: Tenant, public_id) -> Journey | None:
    return Journey.objects.for_tenant(tenant).filter(public_id=public_id).first()


def journey_headlines(
    *, tenant: Tenant, period: Period, journeys: dict[Journey, int]
) -> dict[int, dict]:
    """Per journey (``{journey: last stage position}``): runs entered in the period and how many
    of them are complete now. One index-only count per journey."""
    result = {}
    for journey, last in journeys.items():
        result[journey.pk] = (
            JourneyRun.objects.for_tenant(tenant)
            .filter(journey=journey, entered_at__gte=period.start, entered_at__lt=period.end)
            .aggregate(entered=Count("*"), completed=Count("stage", filter=Q(stage=last)))
        )
    return result
