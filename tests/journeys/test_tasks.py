"""The rebuild task (tenant id first, stale versions exit) and its sweeper."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.tasks import TenantTaskError
from journeys import services
from journeys.models import Journey, JourneyRun, JourneyStage
from journeys.services import StageSpec
from journeys.tasks import journey_rebuild_sweep_task, journey_rebuild_task

HOUR = timedelta(hours=1)


def test_the_rebuild_task_recomputes_positions_for_its_version(tenant, purchase, ingest, now):
    ingest([("u1", "Cart viewed", now - timedelta(hours=2)), ("u1", "Pay", now)])
    services.journey_update(
        tenant=tenant,
        actor=None,
        journey=purchase,
        name="Purchase",
        stages=[StageSpec("Cart", ("Cart viewed",)), StageSpec("Paid", ("Pay",))],
    )
    assert journey_rebuild_task(tenant.pk, purchase.pk, 1) is False  # a stale version: no-op
    assert journey_rebuild_task(tenant.pk, purchase.pk, 2) is True
    with tenant_context(tenant):
        run = JourneyRun.objects.for_tenant(tenant).get()
        journey = Journey.objects.for_tenant(tenant).get(pk=purchase.pk)
    assert (run.stage, run.completed_at) == (1, now)
    assert journey.rebuilt_version == 2


def test_the_rebuild_task_needs_the_tenant_id_first(tenant, purchase):
    with pytest.raises(TenantTaskError):
        journey_rebuild_task.delay_on_commit(tenant.slug, purchase.pk, 1)


def test_saving_a_journey_enqueues_its_rebuild_with_the_tenant_id(
    tenant, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        journey_rebuild_task, "apply_async", lambda args=None, **kw: sent.append(args)
    )
    from tests.factories.journeys import journey_make

    with django_capture_on_commit_callbacks(execute=True):
        journey = journey_make(tenant)
    assert sent == [(tenant.pk, journey.pk, 1)]


def test_the_sweeper_re_enqueues_rebuilds_that_never_ran(tenant, purchase, monkeypatch):
    sent = []
    monkeypatch.setattr(journey_rebuild_task, "delay", lambda *args: sent.append(args))
    assert journey_rebuild_sweep_task() == 0  # saved just now: its own task may still be queued
    with tenant_context(tenant):
        Journey.objects.for_tenant(tenant).filter(pk=purchase.pk).update(
            updated_at=timezone.now() - timedelta(hours=1)
        )
    assert journey_rebuild_sweep_task() == 1
    assert sent == [(tenant.pk, purchase.pk, 1)]


def test_beat_runs_the_rebuild_sweep_every_ten_minutes():
    from helpdesk.celery import app

    entry = app.conf.beat_schedule["journeys-rebuild-sweep"]
    assert entry["task"] == journey_rebuild_sweep_task.name == "journeys.journey_rebuild_sweep"
    assert entry["schedule"] == 600.0
    assert entry["task"] in app.tasks


def _ingest_cart_and_pay(tenant, at):
    services.events_ingest(
        tenant=tenant,
        events=[
            {"id": "a", "name": "Cart viewed", "customer_id": "u1", "timestamp": at.isoformat()},
            {"id": "b", "name": "Pay", "customer_id": "u1", "timestamp": (at + HOUR).isoformat()},
        ],
    )


def _two_stage_update(tenant, journey):
    return services.journey_update(
        tenant=tenant,
        actor=None,
        journey=journey,
        name=journey.name,
        stages=[StageSpec("Cart", ("Cart viewed",)), StageSpec("Paid", ("Pay",))],
    )


def _state(tenant, journey):
    with tenant_context(tenant):
        run = JourneyRun.objects.for_tenant(tenant).filter(journey_id=journey.pk).get()
        rebuilt = Journey.objects.for_tenant(tenant).get(pk=journey.pk).rebuilt_version
    return run.stage, run.completed_at is not None, rebuilt


@pytest.mark.redis_only
def test_a_real_worker_rebuilds_and_sweeps_in_the_tenants_scope(
    real_celery_worker, tenant, other_tenant
):
    from tests.factories.journeys import journey_make

    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    mine, theirs = journey_make(tenant), journey_make(other_tenant)
    _ingest_cart_and_pay(tenant, at)
    _ingest_cart_and_pay(other_tenant, at)
    _two_stage_update(tenant, mine)
    # The rebuild of version 2 through the broker and the worker: "Pay" now completes the run.
    assert journey_rebuild_task.delay(tenant.pk, mine.pk, 2).get(timeout=30) is True
    assert _state(tenant, mine) == (1, True, 2)
    assert _state(other_tenant, theirs)[:2] == (0, False)  # the other tenant's is untouched

    # What a lost rebuild task leaves behind: new stages, version 2, positions of version 1.
    with tenant_context(other_tenant):
        JourneyStage.objects.for_tenant(other_tenant).filter(
            journey_id=theirs.pk, position__gte=2
        ).delete()
        JourneyStage.objects.for_tenant(other_tenant).filter(
            journey_id=theirs.pk, position=1
        ).update(name="Paid", event_names=["Pay"])
        Journey.objects.for_tenant(other_tenant).filter(pk=theirs.pk).update(
            version=2, updated_at=timezone.now() - timedelta(hours=1)
        )
    assert journey_rebuild_sweep_task.delay().get(timeout=30) == 1
    deadline = time.monotonic() + 30
    while _state(other_tenant, theirs) != (1, True, 2) and time.monotonic() < deadline:
        time.sleep(0.05)  # the swept rebuild runs after the sweep, on the same worker
    assert _state(other_tenant, theirs) == (1, True, 2)
