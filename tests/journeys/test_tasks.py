"""The rebuild task (tenant id first, stale versions exit) and its sweeper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.tasks import TenantTaskError
from journeys import services
from journeys.models import Journey, JourneyRun
from journeys.services import StageSpec
from journeys.tasks import journey_rebuild_sweep_task, journey_rebuild_task


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
