"""Where customers stood in journeys at given moments (for the ticket page and the voice panel)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from helpdesk.tenancy.models import Tenant
from journeys.derive import Position, position_at, position_of
from journeys.models import Journey, JourneyRun, JourneyStage, JourneyStep
from journeys.sql import bulk_cursor

CHUNK = 1000
PG_CHUNK = 20_000

# Every run of the customers in one journey with its steps, in one round trip per chunk; times as
# epoch seconds, which psycopg reads several times faster than timestamps (the voice panel of a
# busy month reads hundreds of thousands of them). Row-level security applies as to the ORM.
_RUNS_SQL = """
SELECT r.customer_id,
       extract(epoch FROM r.entered_at)::float8,
       array_agg(s.stage ORDER BY s.stage),
       array_agg(extract(epoch FROM s.reached_at)::float8 ORDER BY s.stage)
FROM journeys_journeyrun r
LEFT JOIN journeys_journeystep s ON s.tenant_id = r.tenant_id AND s.run_id = r.id
WHERE r.tenant_id = %s AND r.journey_id = %s AND r.customer_id = ANY(%s)
GROUP BY r.id
"""


# The position of each row of ``items`` (columns ``customer_id`` and ``at``) in one journey, as
# PostgreSQL finds it: the customer's latest run entered by then (``run.id``, ``run.entered``) and
# that run's furthest stage reached by then (``step.stage``, ``step.reached_at``), two index
# probes per row; NULLs where the customer had not entered the journey by then. Parameters
# ``%(tenant)s`` and ``%(journey)s``. Shared by ``positions_at`` and the voice panel's counts
# (``voice_postgresql``). Row-level security applies.
POSITION_JOINS = """
LEFT JOIN LATERAL (
    SELECT r.id, extract(epoch FROM r.entered_at)::float8 AS entered
    FROM journeys_journeyrun r
    WHERE r.tenant_id = %(tenant)s AND r.journey_id = %(journey)s
      AND r.customer_id = items.customer_id AND r.entered_at <= items.at
    ORDER BY r.entered_at DESC, r.number DESC
    LIMIT 1
) run ON true
LEFT JOIN LATERAL (
    SELECT s.stage, s.reached_at
    FROM journeys_journeystep s
    WHERE s.tenant_id = %(tenant)s AND s.run_id = run.id AND s.reached_at <= items.at
    ORDER BY s.stage DESC
    LIMIT 1
) step ON true
"""
_POINTS_SQL = (
    """
SELECT items.n, run.entered, step.stage, extract(epoch FROM step.reached_at)::float8
FROM unnest(%(customers)s::bigint[], %(moments)s::timestamptz[])
    WITH ORDINALITY AS items(customer_id, at, n)"""
    + POSITION_JOINS
    + "WHERE step.stage IS NOT NULL\n"
)
POINT_CHUNK = 50_000


@dataclass(frozen=True)
class StageInfo:
    names: list[str]
    stuck_after: list[timedelta]
    dropped_after: timedelta

    @property
    def last(self) -> int:
        return len(self.names) - 1


def stage_info(journey: Journey, stages: Iterable[JourneyStage]) -> StageInfo:
    stages = sorted(stages, key=lambda s: s.position)
    return StageInfo(
        names=[s.name for s in stages],
        stuck_after=[
            timedelta(hours=s.stuck_after_hours or journey.stuck_after_hours) for s in stages
        ],
        dropped_after=timedelta(days=journey.dropped_after_days),
    )


class RunIndex:
    """Runs and steps of many customers in one journey, for point-in-time lookups."""

    def __init__(self, info: StageInfo):
        self.info = info
        self.runs: dict[int, list[tuple[datetime, list[tuple[int, datetime]]]]] = {}

    @classmethod
    def load(
        cls, *, tenant: Tenant, journey: Journey, info: StageInfo, customer_ids: Iterable[int]
    ) -> RunIndex:
        index = cls(info)
        ids = sorted(set(customer_ids))
        if connection.vendor == "postgresql":
            index._load_postgresql(tenant, journey, ids)
            return index
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            runs: dict[int, tuple[int, datetime]] = {}
            for run_id, customer_id, entered_at in (
                JourneyRun.objects.for_tenant(tenant)
                .filter(journey=journey, customer_id__in=chunk)
                .values_list("id", "customer_id", "entered_at")
            ):
                runs[run_id] = (customer_id, entered_at)
            steps: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
            for run_id, stage, reached_at in (
                JourneyStep.objects.for_tenant(tenant)
                .filter(run_id__in=list(runs))
                .values_list("run_id", "stage", "reached_at")
            ):
                steps[run_id].append((stage, reached_at))
            per_customer: dict[int, list] = defaultdict(list)
            for run_id, (customer_id, entered_at) in runs.items():
                per_customer[customer_id].append((entered_at, sorted(steps[run_id])))
            for customer_id, customer_runs in per_customer.items():
                index.runs[customer_id] = sorted(customer_runs, key=lambda r: r[0])
        return index

    def _load_postgresql(self, tenant: Tenant, journey: Journey, ids: list[int]) -> None:
        at = datetime.fromtimestamp
        per_customer: dict[int, list] = defaultdict(list)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), PG_CHUNK):
                cursor.execute(_RUNS_SQL, [tenant.pk, journey.pk, ids[start : start + PG_CHUNK]])
                for customer_id, entered, stages, reached in cursor.fetchall():
                    steps = [
                        (stage, at(when, UTC))
                        for stage, when in zip(stages, reached, strict=True)
                        if stage is not None
                    ]
                    per_customer[customer_id].append((at(entered, UTC), steps))
        for customer_id, customer_runs in per_customer.items():
            self.runs[customer_id] = sorted(customer_runs, key=lambda r: r[0])

    def position(self, customer_id: int | None, at: datetime) -> Position | None:
        if customer_id is None or customer_id not in self.runs:
            return None
        return position_at(
            runs=self.runs[customer_id],
            at=at,
            last_stage=self.info.last,
            stuck_after=self.info.stuck_after,
            dropped_after=self.info.dropped_after,
        )


def positions_at(
    *,
    tenant: Tenant,
    journey: Journey,
    info: StageInfo,
    points: Sequence[tuple[int | None, datetime]],
) -> list[Position | None]:
    """Where each ``(customer_id, moment)`` stood in ``journey``, in order: None where the customer
    (or no customer) had not entered it by then. Call inside the tenant's scope."""
    if connection.vendor != "postgresql":
        index = RunIndex.load(
            tenant=tenant,
            journey=journey,
            info=info,
            customer_ids={c for c, _at in points if c is not None},
        )
        return [index.position(customer_id, at) for customer_id, at in points]
    found: list[Position | None] = [None] * len(points)
    wanted = [(i, c, at) for i, (c, at) in enumerate(points) if c is not None]
    epoch = datetime.fromtimestamp
    with bulk_cursor(binary=True) as cursor:
        for start in range(0, len(wanted), POINT_CHUNK):
            chunk = wanted[start : start + POINT_CHUNK]
            customers = [c for _i, c, _at in chunk]
            moments = [at for _i, _c, at in chunk]
            cursor.execute(
                _POINTS_SQL,
                {
                    "customers": customers,
                    "moments": moments,
                    "tenant": tenant.pk,
                    "journey": journey.pk,
                },
            )
            for n, entered, stage, reached in cursor.fetchall():
                i, _customer_id, at = chunk[n - 1]
                found[i] = position_of(
                    stage=stage,
                    since=epoch(reached, UTC),
                    entered_at=epoch(entered, UTC),
                    at=at,
                    last_stage=info.last,
                    stuck_after=info.stuck_after,
                    dropped_after=info.dropped_after,
                )
    return found


@dataclass(frozen=True)
class JourneyPosition:
    journey: Journey
    stage_names: list[str]
    then: Position  # at the moment asked about
    now: Position | None

    @property
    def stage_name(self) -> str:
        return self.stage_names[self.then.stage]

    @property
    def now_stage_name(self) -> str:
        return self.stage_names[self.now.stage] if self.now else ""

    @property
    def moved_since(self) -> bool:
        return self.now is not None and (
            self.now.entered_at != self.then.entered_at or self.now.stage != self.then.stage
        )


def journey_positions_for_customer(
    *, tenant: Tenant, customer_id: int, at: datetime, now: datetime | None = None
) -> list[JourneyPosition]:
    """The customer's position in each journey they were in at ``at`` (and where they are now)."""
    now = now or timezone.now()
    journeys = {j.pk: j for j in Journey.objects.for_tenant(tenant)}
    if not journeys:
        return []
    runs = list(
        JourneyRun.objects.for_tenant(tenant)
        .filter(customer_id=customer_id, entered_at__lte=max(at, now))
        .values_list("id", "journey_id", "entered_at")
    )
    if not runs:
        return []
    stages: dict[int, list[JourneyStage]] = defaultdict(list)
    for stage in JourneyStage.objects.for_tenant(tenant).filter(
        journey_id__in={journey_id for _r, journey_id, _e in runs}
    ):
        stages[stage.journey_id].append(stage)
    steps: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for run_id, stage, reached_at in (
        JourneyStep.objects.for_tenant(tenant)
        .filter(run_id__in=[r for r, _j, _e in runs])
        .values_list("run_id", "stage", "reached_at")
    ):
        steps[run_id].append((stage, reached_at))
    per_journey: dict[int, list] = defaultdict(list)
    for run_id, journey_id, entered_at in runs:
        per_journey[journey_id].append((entered_at, sorted(steps[run_id])))
    result = []
    for journey_id, journey_runs in per_journey.items():
        journey = journeys[journey_id]
        if not stages[journey_id]:
            continue
        info = stage_info(journey, stages[journey_id])
        journey_runs.sort(key=lambda r: r[0])
        kwargs = {
            "runs": journey_runs,
            "last_stage": info.last,
            "stuck_after": info.stuck_after,
            "dropped_after": info.dropped_after,
        }
        then = position_at(at=at, **kwargs)
        if then is None or then.stage > info.last:
            continue
        current = position_at(at=now, **kwargs)
        if current is not None and current.stage > info.last:
            current = None  # positions of an older definition, being recomputed
        result.append(JourneyPosition(journey, info.names, then, current))
    result.sort(key=lambda p: p.journey.name)
    return result
