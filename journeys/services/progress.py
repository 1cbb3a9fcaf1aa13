"""Customers' positions in journeys (runs and steps), kept up to date from their events.

- ``progress_apply_events``: called by ingestion with the events it just stored. For each
  (customer, journey) it applies the new events on top of the latest run when they are all newer
  than the last event applied (the usual case), else recomputes that customer's runs from all of
  their events (late and out-of-order events). Customers are locked (PostgreSQL advisory locks, in
  id order) so two batches for the same customer apply one after the other.
- ``journey_rebuild``: recomputes a whole journey after its stages change, in chunks of customers
  (each chunk its own transaction), so ingestion is never blocked for long.
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
    journeys = Journey.objects.for_tenant(tenant).filter(is_active=True)
    if journey_ids is not None:
        journeys = journeys.filter(pk__in=list(journey_ids))
    journeys = {j.pk: j for j in journeys}
    stages: dict[int, list[JourneyStage]] = defaultdict(list)
    for stage in JourneyStage.objects.for_tenant(tenant).filter(journey_id__in=list(journeys)):
        stages[stage.journey_id].append(stage)
    return {pk: rules_for(j, stages[pk]) for pk, j in journeys.items() if len(stages[pk]) >= 1}


def _lock_customers(customer_ids: list[int]) -> None:
    """Serialise position updates per customer across concurrent batches (PostgreSQL)."""
    if connection.vendor != "postgresql" or not customer_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('journeys.progress'), (c %% 2147483647)::int) "
            "FROM unnest(%s::bigint[]) AS c ORDER BY c",
            [sorted(set(customer_ids))],
        )


def _run_from_row(row: JourneyRun) -> Run:
    return Run(
        number=row.number,
        entered_at=row.entered_at,
        stage=row.stage,
        stage_reached_at=row.stage_reached_at,
        completed_at=row.completed_at,
        last_event_at=row.last_event_at,
        steps=[],
        id=row.pk,
    )


class _Writer:
    """Collects run updates, new runs and new steps, then writes them in a few statements."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.updates: list[JourneyRun] = []
        self.new_runs: list[tuple[JourneyRun, Run]] = []
        self.steps_of_existing: list[tuple[int, int, int, Run]] = []

    def add(self, *, journey_id: int, customer_id: int, runs: list[Run]) -> None:
        """``runs``: the latest stored run (with ``id``) or none, followed by new runs."""
        for index, run in enumerate(runs):
            is_latest = index == len(runs) - 1
            if run.id is not None:
                if run.changed or not is_latest:
                    self.updates.append(
                        JourneyRun(
                            pk=run.id,
                            tenant=self.tenant,
                            stage=run.stage,
                            stage_reached_at=run.stage_reached_at,
                            completed_at=run.completed_at,
                            last_event_at=run.last_event_at,
                            is_latest=is_latest,
                        )
                    )
                if run.steps:
                    self.steps_of_existing.append((run.id, journey_id, customer_id, run))
                continue
            row = JourneyRun(
                tenant=self.tenant,
                journey_id=journey_id,
                customer_id=customer_id,
                number=run.number,
                is_latest=is_latest,
                entered_at=run.entered_at,
                stage=run.stage,
                stage_reached_at=run.stage_reached_at,
                completed_at=run.completed_at,
                last_event_at=run.last_event_at,
            )
            self.new_runs.append((row, run))

    def write(self) -> None:
        if self.updates:
            JourneyRun.objects.bulk_update(
                self.updates,
                ["stage", "stage_reached_at", "completed_at", "last_event_at", "is_latest"],
            )
        if self.new_runs:
            JourneyRun.objects.bulk_create([row for row, _run in self.new_runs])
        steps = [
            self._step(run_id, journey_id, customer_id, run.entered_at, step)
            for run_id, journey_id, customer_id, run in self.steps_of_existing
            for step in run.steps
        ]
        steps += [
            self._step(row.pk, row.journey_id, row.customer_id, run.entered_at, step)
            for row, run in self.new_runs
            for step in run.steps
        ]
        if steps:
            JourneyStep.objects.bulk_create(steps)

    def _step(self, run_id, journey_id, customer_id, entered_at, step) -> JourneyStep:
        return JourneyStep(
            tenant=self.tenant,
            run_id=run_id,
            journey_id=journey_id,
            customer_id=customer_id,
            stage=step.stage,
            entered_at=entered_at,
            reached_at=step.reached_at,
            observed=step.observed,
            seconds_from_previous=step.seconds_from_previous,
        )


def _delete_runs(*, tenant: Tenant, journey_id: int, customer_ids: list[int]) -> None:
    if not customer_ids:
        return
    JourneyStep.objects.for_tenant(tenant).filter(
        journey_id=journey_id, customer_id__in=customer_ids
    ).delete()
    # Steps are gone: delete the runs without Django collecting their (absent) steps one by one.
    runs = JourneyRun.objects.for_tenant(tenant).filter(
        journey_id=journey_id, customer_id__in=customer_ids
    )
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
    stats = {"pairs": 0, "incremental": 0, "recomputed": 0}
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
        (row.journey_id, row.customer_id): row
        for row in JourneyRun.objects.for_tenant(tenant).filter(
            is_latest=True,
            journey_id__in=list(rules),
            customer_id__in=sorted({c for _j, c in new_events}),
        )
    }
    writer = _Writer(tenant)
    recompute: set[tuple[int, int]] = set()
    for pair, pair_events in new_events.items():
        row = latest.get(pair)
        runs = None
        if row is not None:
            runs = apply_new_events(rules[pair[0]], _run_from_row(row), pair_events)
        if runs is None:
            recompute.add(pair)
            continue
        writer.add(journey_id=pair[0], customer_id=pair[1], runs=runs)
    writer.write()
    if recompute:
        _recompute(tenant=tenant, pairs=recompute, rules=rules)
    stats["incremental"] = len(new_events) - len(recompute)
    stats["recomputed"] = len(recompute)
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
