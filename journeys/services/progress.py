"""Customers' positions in journeys (runs and steps), kept up to date from their events.

- ``progress_apply_events``: called by ingestion with the events it just stored. For each
  (customer, journey) it applies the new events on top of the latest run when they are all newer
  than the last event applied (the usual case), else recomputes that customer's runs from all of
  their events (late and out-of-order events). Customers are locked (PostgreSQL advisory locks, in
  id order) so two batches for the same customer apply one after the other.
- ``journey_rebuild``: recomputes a whole journey after its stages change, in chunks of customers
  (each chunk its own transaction), so ingestion is never blocked for long.
- ``runs_segment_refresh``: copies a customer's company, created_at and tags onto all of their
  runs again (``customer_update`` calls it through its change hook, see ``journeys/apps.py``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys.derive import Rules, Run, apply_new_events, derive_runs
from journeys.models import Journey, JourneyEvent, JourneyRun, JourneyStage, JourneyStep
from journeys.sql import bulk_cursor
from tickets.models import Customer

logger = logging.getLogger(__name__)

REBUILD_CHUNK = 2000


def rules_for(journey: Journey, stages: Iterable[JourneyStage]) -> Rules:
    stages = sorted(stages, key=lambda s: s.position)
    return Rules(
        journey_id=journey.pk,
        stage_by_event={name: s.position for s in stages for name in s.event_names},
        stage_count=len(stages),
        dropped_after=timedelta(days=journey.dropped_after_days),
    )


def active_rules(*, tenant: Tenant, journey_ids: Iterable[int] | None = None) -> dict[int, Rules]:
    """The rules of the tenant's active journeys (one query: stages with their journey)."""
    stages = JourneyStage.objects.for_tenant(tenant).filter(journey__is_active=True)
    if journey_ids is not None:
        stages = stages.filter(journey_id__in=list(journey_ids))
    journeys: dict[int, Journey] = {}
    by_journey: dict[int, list[JourneyStage]] = defaultdict(list)
    for stage in stages.select_related("journey"):
        journeys[stage.journey_id] = stage.journey
        by_journey[stage.journey_id].append(stage)
    return {pk: rules_for(journeys[pk], by_journey[pk]) for pk in journeys}


def _lock_customers(customer_ids: list[int]) -> None:
    """Serialise position updates per customer across concurrent batches (PostgreSQL)."""
    if connection.vendor != "postgresql" or not customer_ids:
        return
    with bulk_cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('journeys.progress'), (c %% 2147483647)::int) "
            "FROM unnest(%b::bigint[]) AS c ORDER BY c",
            [sorted(set(customer_ids))],
        )


_RUN_FIELDS = (
    "id",
    "journey_id",
    "customer_id",
    "number",
    "entered_at",
    "stage",
    "stage_reached_at",
    "completed_at",
    "last_event_at",
)


_LATEST_RUNS_POSTGRES = f"""
    SELECT {", ".join(_RUN_FIELDS)} FROM journeys_journeyrun
    WHERE tenant_id = %s AND is_latest AND journey_id = ANY(%b::bigint[])
      AND customer_id = ANY(%b::bigint[])
"""  # noqa: S608 (constants only)


def _latest_runs(*, tenant: Tenant, journey_ids: list[int], customer_ids: list[int]) -> list:
    """The latest run of each (journey, customer), as ``_RUN_FIELDS`` rows.

    On PostgreSQL one prepared statement with arrays, read in binary: the default cursor reads
    timestamps as text and parses them in Python (four per run, ~3 µs each).
    """
    if connection.vendor != "postgresql":
        return list(
            JourneyRun.objects.for_tenant(tenant)
            .filter(is_latest=True, journey_id__in=journey_ids, customer_id__in=customer_ids)
            .values_list(*_RUN_FIELDS)
        )
    with bulk_cursor(binary=True) as cursor:
        cursor.execute(_LATEST_RUNS_POSTGRES, [tenant.pk, journey_ids, customer_ids])
        return cursor.fetchall()


def _run_from_row(row: tuple) -> Run:
    pk, _journey_id, _customer_id, number, entered, stage, reached, completed, last = row
    return Run(
        number=number,
        entered_at=entered,
        stage=stage,
        stage_reached_at=reached,
        completed_at=completed,
        last_event_at=last,
        steps=[],
        id=pk,
    )


def _values(count: int, columns: int) -> str:
    """``(%s, %s), (%s, %s)`` for ``count`` rows of ``columns``."""
    row = "(" + ", ".join(["%s"] * columns) + ")"
    return ", ".join([row] * count)


_RUN_COLUMNS = (
    "tenant_id, journey_id, customer_id, number, is_latest, entered_at, stage, "
    "stage_reached_at, completed_at, last_event_at"
)
_STEP_COLUMNS = (
    "tenant_id, run_id, journey_id, customer_id, stage, entered_at, reached_at, observed, "
    "seconds_from_previous"
)
_CHUNK = 1000

_UPDATE_RUNS_POSTGRES = """
    UPDATE journeys_journeyrun AS r
    SET stage = v.stage, stage_reached_at = v.reached, completed_at = v.completed,
        last_event_at = v.last_event, is_latest = v.latest
    FROM unnest(%b::bigint[], %b::smallint[], %b::timestamptz[], %b::timestamptz[],
                %b::timestamptz[], %b::boolean[])
         AS v(id, stage, reached, completed, last_event, latest)
    WHERE r.id = v.id AND r.tenant_id = %s
"""
# A new run copies its customer's segment keys (company, created_at, tags: see
# ``JourneyRun.company``), read in the same statement, one primary-key probe each. Scalar
# sub-selects, not a join: the rows keep the order of the arrays, which RETURNING relies on.
_SEGMENT_COLUMNS = "company, customer_since, tags"
_SEGMENT_OF = "(SELECT c.{column} FROM tickets_customer c WHERE c.tenant_id = %s AND c.id = {id})"


def _segment_selects(customer_id: str) -> str:
    return ", ".join(
        _SEGMENT_OF.format(column=column, id=customer_id)
        for column in ("company", "created_at", "tags")
    )


_INSERT_RUNS_POSTGRES = f"""
    INSERT INTO journeys_journeyrun ({_RUN_COLUMNS}, {_SEGMENT_COLUMNS})
    SELECT %s, v.*, {_segment_selects("v.customer_id")}
    FROM unnest(%b::bigint[], %b::bigint[], %b::integer[], %b::boolean[],
                %b::timestamptz[], %b::smallint[], %b::timestamptz[],
                %b::timestamptz[], %b::timestamptz[])
         AS v(journey_id, customer_id, number, is_latest, entered_at, stage, stage_reached_at,
              completed_at, last_event_at)
    RETURNING id
"""  # noqa: S608 (constants only)
_INSERT_STEPS_POSTGRES = f"""
    INSERT INTO journeys_journeystep ({_STEP_COLUMNS})
    SELECT %s, * FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::smallint[],
                             %b::timestamptz[], %b::timestamptz[], %b::boolean[],
                             %b::integer[])
"""  # noqa: S608 (constants only)


class _Writer:
    """Collects run updates, new runs and new steps, then writes them in a few set-based
    statements (plain SQL: the ORM's bulk_update costs ~1 ms of Python per row)."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.updates: list[tuple[int, Run, bool]] = []
        self.new_runs: list[tuple[int, int, Run, bool]] = []
        self.steps_of_existing: list[tuple[int, int, int, Run]] = []

    def add(self, *, journey_id: int, customer_id: int, runs: list[Run]) -> None:
        """``runs``: the latest stored run (with ``id``) or none, followed by new runs."""
        for index, run in enumerate(runs):
            is_latest = index == len(runs) - 1
            if run.id is not None:
                if run.changed or not is_latest:
                    self.updates.append((run.id, run, is_latest))
                if run.steps:
                    self.steps_of_existing.append((run.id, journey_id, customer_id, run))
                continue
            self.new_runs.append((journey_id, customer_id, run, is_latest))

    def write(self) -> None:
        if connection.vendor == "postgresql":
            self._write_postgres()
        else:
            self._write_generic()

    def _step_rows(self, steps: list[tuple[int, int, int, Run]]) -> list[tuple]:
        return [
            (run_id, journey_id, customer_id, run.entered_at, step)
            for run_id, journey_id, customer_id, run in steps
            for step in run.steps
        ]

    def _write_postgres(self) -> None:
        """Rows as arrays through unnest(): constant statements that psycopg prepares once."""
        tenant_id = self.tenant.pk
        steps: list[tuple[int, int, int, Run]] = list(self.steps_of_existing)
        with bulk_cursor() as cursor:
            if self.updates:
                cursor.execute(
                    _UPDATE_RUNS_POSTGRES,
                    [
                        [run_id for run_id, _run, _latest in self.updates],
                        [run.stage for _id, run, _latest in self.updates],
                        [run.stage_reached_at for _id, run, _latest in self.updates],
                        [run.completed_at for _id, run, _latest in self.updates],
                        [run.last_event_at for _id, run, _latest in self.updates],
                        [latest for _id, _run, latest in self.updates],
                        tenant_id,
                    ],
                )
            if self.new_runs:
                rows = self.new_runs
                cursor.execute(
                    _INSERT_RUNS_POSTGRES,
                    [
                        tenant_id,
                        tenant_id,
                        tenant_id,
                        tenant_id,
                        [journey_id for journey_id, _c, _r, _l in rows],
                        [customer_id for _j, customer_id, _r, _l in rows],
                        [run.number for _j, _c, run, _l in rows],
                        [latest for _j, _c, _r, latest in rows],
                        [run.entered_at for _j, _c, run, _l in rows],
                        [run.stage for _j, _c, run, _l in rows],
                        [run.stage_reached_at for _j, _c, run, _l in rows],
                        [run.completed_at for _j, _c, run, _l in rows],
                        [run.last_event_at for _j, _c, run, _l in rows],
                    ],
                )
                ids = [row[0] for row in cursor.fetchall()]
                steps += [
                    (run_id, journey_id, customer_id, run)
                    for run_id, (journey_id, customer_id, run, _latest) in zip(
                        ids, rows, strict=True
                    )
                ]
            rows = self._step_rows(steps)
            if rows:
                cursor.execute(
                    _INSERT_STEPS_POSTGRES,
                    [
                        tenant_id,
                        [r[0] for r in rows],
                        [r[1] for r in rows],
                        [r[2] for r in rows],
                        [r[4].stage for r in rows],
                        [r[3] for r in rows],
                        [r[4].reached_at for r in rows],
                        [r[4].observed for r in rows],
                        [r[4].seconds_from_previous for r in rows],
                    ],
                )

    def _write_generic(self) -> None:
        dt = connection.ops.adapt_datetimefield_value
        tenant_id = self.tenant.pk
        steps: list[tuple[int, int, int, Run]] = list(self.steps_of_existing)
        with connection.cursor() as cursor:
            for start in range(0, len(self.updates), _CHUNK):
                chunk = self.updates[start : start + _CHUNK]
                params: list = []
                for run_id, run, is_latest in chunk:
                    params += [
                        run_id,
                        run.stage,
                        dt(run.stage_reached_at),
                        dt(run.completed_at),
                        dt(run.last_event_at),
                        is_latest,
                    ]
                cursor.execute(
                    "WITH v(id, stage, reached, completed, last_event, latest) AS "  # noqa: S608
                    f"(VALUES {_values(len(chunk), 6)}) "
                    "UPDATE journeys_journeyrun SET stage = v.stage, stage_reached_at = v.reached, "
                    "completed_at = v.completed, last_event_at = v.last_event, is_latest = v.latest "
                    "FROM v WHERE journeys_journeyrun.id = v.id "
                    "AND journeys_journeyrun.tenant_id = %s",
                    [*params, tenant_id],
                )
            for start in range(0, len(self.new_runs), _CHUNK):
                chunk = self.new_runs[start : start + _CHUNK]
                params = []
                for journey_id, customer_id, run, is_latest in chunk:
                    params += [
                        tenant_id,
                        journey_id,
                        customer_id,
                        run.number,
                        is_latest,
                        dt(run.entered_at),
                        run.stage,
                        dt(run.stage_reached_at),
                        dt(run.completed_at),
                        dt(run.last_event_at),
                        tenant_id,
                        customer_id,
                        tenant_id,
                        customer_id,
                        tenant_id,
                        customer_id,
                    ]
                row = "(" + ", ".join(["%s"] * 10) + ", " + _segment_selects("%s") + ")"
                cursor.execute(
                    f"INSERT INTO journeys_journeyrun ({_RUN_COLUMNS}, {_SEGMENT_COLUMNS}) "  # noqa: S608
                    "VALUES " + ", ".join([row] * len(chunk)) + " RETURNING id",
                    params,
                )
                ids = [row[0] for row in cursor.fetchall()]
                steps += [
                    (run_id, journey_id, customer_id, run)
                    for run_id, (journey_id, customer_id, run, _latest) in zip(
                        ids, chunk, strict=True
                    )
                ]
            rows = self._step_rows(steps)
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                params = []
                for run_id, journey_id, customer_id, entered_at, step in chunk:
                    params += [
                        tenant_id,
                        run_id,
                        journey_id,
                        customer_id,
                        step.stage,
                        dt(entered_at),
                        dt(step.reached_at),
                        step.observed,
                        step.seconds_from_previous,
                    ]
                cursor.execute(
                    f"INSERT INTO journeys_journeystep ({_STEP_COLUMNS}) VALUES "  # noqa: S608
                    + _values(len(chunk), 9),
                    params,
                )


def _delete_runs(*, tenant: Tenant, journey_id: int, customer_ids: list[int]) -> None:
    if not customer_ids:
        return
    runs = JourneyRun.objects.for_tenant(tenant).filter(
        journey_id=journey_id, customer_id__in=customer_ids
    )
    run_ids = list(runs.values_list("id", flat=True))  # by (tenant, customer, entered_at)
    if not run_ids:
        return
    JourneyStep.objects.for_tenant(tenant).filter(run_id__in=run_ids).delete()
    # Steps are gone: delete the runs without Django collecting their (absent) steps one by one.
    runs = JourneyRun.objects.for_tenant(tenant).filter(pk__in=run_ids)
    runs._raw_delete(runs.db)


def _events_by_customer(
    *, tenant: Tenant, customer_ids: list[int], names: set[str]
) -> dict[int, list[tuple[datetime, str]]]:
    events: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    rows = (
        JourneyEvent.objects.for_tenant(tenant)
        .filter(customer_id__in=customer_ids, name__in=names)
        .values_list("customer_id", "occurred_at", "name")
    )
    for customer_id, at, name in rows.iterator(chunk_size=5000):
        events[customer_id].append((at, name))
    return events


def _recompute(*, tenant: Tenant, pairs: set[tuple[int, int]], rules: dict[int, Rules]) -> None:
    """Rewrite the runs of these (journey, customer) pairs from all of the customers' events."""
    customers = sorted({customer_id for _journey_id, customer_id in pairs})
    names = {name for journey_id, _c in pairs for name in rules[journey_id].stage_by_event}
    events = _events_by_customer(tenant=tenant, customer_ids=customers, names=names)
    by_journey: dict[int, list[int]] = defaultdict(list)
    for journey_id, customer_id in pairs:
        by_journey[journey_id].append(customer_id)
    writer = _Writer(tenant)
    for journey_id, customer_ids in by_journey.items():
        _delete_runs(tenant=tenant, journey_id=journey_id, customer_ids=customer_ids)
        for customer_id in customer_ids:
            runs = derive_runs(rules[journey_id], events.get(customer_id, ()))
            writer.add(journey_id=journey_id, customer_id=customer_id, runs=runs)
    writer.write()


def progress_apply_events(
    *, tenant: Tenant, events: list[tuple[int, datetime, str]]
) -> dict[str, int]:
    """Move the positions of the customers of ``events`` (customer id, time, name) just stored.

    Runs inside the caller's tenant transaction. Returns counts for logs and tests.
    """
    stats = {"pairs": 0, "incremental": 0, "recomputed": 0, "unchanged": 0}
    if not events:
        return stats
    rules = active_rules(tenant=tenant)
    names = {name for r in rules.values() for name in r.stage_by_event}
    relevant = [event for event in events if event[2] in names]
    if not relevant:
        return stats
    _lock_customers([customer_id for customer_id, _at, _name in relevant])
    new_events: dict[tuple[int, int], list[tuple[datetime, str]]] = defaultdict(list)
    for customer_id, at, name in relevant:
        for journey_id, journey_rules in rules.items():
            if name in journey_rules.stage_by_event:
                new_events[(journey_id, customer_id)].append((at, name))
    stats["pairs"] = len(new_events)
    latest = {
        (row[1], row[2]): row
        for row in _latest_runs(
            tenant=tenant,
            journey_ids=list(rules),
            customer_ids=sorted({c for _j, c in new_events}),
        )
    }
    writer = _Writer(tenant)
    recompute: set[tuple[int, int]] = set()
    skipped = 0
    for pair, pair_events in new_events.items():
        row = latest.get(pair)
        journey_rules = rules[pair[0]]
        if row is None and not any(journey_rules.stage_by_event[n] == 0 for _at, n in pair_events):
            # Never entered, and none of these events enters: later stages alone change nothing
            # (an older entry event would have opened a run already).
            skipped += 1
            continue
        runs = None
        if row is not None:
            runs = apply_new_events(journey_rules, _run_from_row(row), pair_events)
        if runs is None:
            recompute.add(pair)
            continue
        writer.add(journey_id=pair[0], customer_id=pair[1], runs=runs)
    writer.write()
    if recompute:
        _recompute(tenant=tenant, pairs=recompute, rules=rules)
    stats["incremental"] = len(new_events) - len(recompute) - skipped
    stats["recomputed"] = len(recompute)
    stats["unchanged"] = skipped
    return stats


def journey_rebuild(*, tenant: Tenant, journey_id: int, version: int) -> bool:
    """Recompute every customer's runs in a journey for definition ``version``.

    Chunk by chunk of customers, each in its own transaction under the customers' locks. Returns
    False when the journey is gone, inactive or at another version (a newer rebuild takes over).
    """

    def current() -> Journey | None:
        journey = Journey.objects.for_tenant(tenant).filter(pk=journey_id).first()
        if journey is None or not journey.is_active or journey.version != version:
            return None
        return journey

    with tenant_context(tenant):
        if current() is None:
            return False
    after = 0
    while True:
        with tenant_context(tenant):
            if current() is None:
                return False
            rules = active_rules(tenant=tenant, journey_ids=[journey_id])[journey_id]
            customer_ids = list(
                Customer.objects.for_tenant(tenant)
                .filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:REBUILD_CHUNK]
            )
            if not customer_ids:
                break
            after = customer_ids[-1]
            _lock_customers(customer_ids)
            events = _events_by_customer(
                tenant=tenant, customer_ids=customer_ids, names=set(rules.stage_by_event)
            )
            _delete_runs(tenant=tenant, journey_id=journey_id, customer_ids=customer_ids)
            writer = _Writer(tenant)
            for customer_id, customer_events in events.items():
                writer.add(
                    journey_id=journey_id,
                    customer_id=customer_id,
                    runs=derive_runs(rules, customer_events),
                )
            writer.write()
    with tenant_context(tenant):
        updated = (
            Journey.objects.for_tenant(tenant)
            .filter(pk=journey_id, version=version)
            .update(rebuilt_version=version)
        )
    logger.info("journey %s of tenant %s rebuilt for version %s", journey_id, tenant.pk, version)
    return bool(updated)


_REFRESH_POSTGRES = """
    UPDATE journeys_journeyrun AS r
    SET company = c.company, customer_since = c.created_at, tags = c.tags
    FROM tickets_customer AS c
    WHERE r.tenant_id = %s AND r.customer_id = %s AND c.tenant_id = r.tenant_id
      AND c.id = r.customer_id
      AND (r.company, r.customer_since, r.tags) IS DISTINCT FROM (c.company, c.created_at, c.tags)
"""


def runs_segment_refresh(*, tenant: Tenant, customer_id: int) -> int:
    """Copy the customer's current segment keys onto all of their runs; the number rewritten.

    Takes the customer's progress lock first, so a batch of events writing a new run for them
    either finished before (and its run is updated here) or starts after (and reads the new
    values).
    """
    with tenant_context(tenant):
        _lock_customers([customer_id])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_REFRESH_POSTGRES, [tenant.pk, customer_id])
                return cursor.rowcount
        customer = Customer.objects.for_tenant(tenant).filter(pk=customer_id).first()
        if customer is None:
            return 0
        return (
            JourneyRun.objects.for_tenant(tenant)
            .filter(customer_id=customer_id)
            .update(
                company=customer.company, customer_since=customer.created_at, tags=customer.tags
            )
        )
