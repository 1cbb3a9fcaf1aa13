"""Celery entry points of the metrics: per-tenant tasks, beat fan-outs in each tenant's time
zone, the beat schedule, and the rebuild command."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from celery.signals import task_prerun
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from empathy_metrics.models import MetricsRollup, RollupState, SurveyRequest
from empathy_metrics.tasks import (
    BEAT_SCHEDULE,
    metrics_rollup_fanout_task,
    metrics_rollup_update_task,
    survey_schedule_fanout_task,
    survey_schedule_task,
)
from helpdesk.celery import app
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.tasks import TenantTaskError
from tests.factories.tickets import CustomerFactory, TicketFactory


def captured(run):
    seen = []

    def capture(sender=None, args=None, **kwargs):
        seen.append((sender.name, tuple(args or ())))

    task_prerun.connect(capture)
    try:
        result = run()
    finally:
        task_prerun.disconnect(capture)
    return result, seen


def test_the_beat_schedule_has_the_metrics_jobs():
    for name, entry in BEAT_SCHEDULE.items():
        assert app.conf.beat_schedule[name] == entry
    assert app.conf.beat_schedule["empathy-metrics-rollup"]["schedule"] == 300.0
    assert "tickets-sla-check" in app.conf.beat_schedule  # the other apps' jobs are kept


def test_the_rollup_task_works_in_its_tenants_scope(tenant, other_tenant):
    TicketFactory(tenant=tenant, created_at=timezone.now() - timedelta(days=1))
    TicketFactory(tenant=other_tenant, created_at=timezone.now() - timedelta(days=1))
    result = metrics_rollup_update_task(tenant.pk)
    assert result["rebuilt"] == 1
    with tenant_context(tenant):
        assert MetricsRollup.objects.for_tenant(tenant).filter(gset=0, unit="day").count() == 1
    with tenant_context(other_tenant):
        assert not MetricsRollup.objects.for_tenant(other_tenant).exists()
    assert metrics_rollup_update_task(tenant.pk)["rebuilt"] == 0


def test_tasks_refuse_to_be_enqueued_without_a_tenant_id(db):
    with pytest.raises(TenantTaskError):
        metrics_rollup_update_task.delay()
    with pytest.raises(TenantTaskError):
        survey_schedule_task.apply_async(args=["acme"])


def test_the_rollup_fan_out_starts_one_task_per_tenant_with_its_id(tenant, other_tenant):
    count, seen = captured(metrics_rollup_fanout_task)
    assert count == 2
    per_tenant = [args for name, args in seen if name == "empathy_metrics.metrics_rollup_update"]
    assert sorted(per_tenant) == sorted([(tenant.pk,), (other_tenant.pk,)])
    with tenant_context(tenant):
        assert RollupState.objects.for_tenant(tenant).get().last_run_at is not None


def test_the_survey_fan_out_runs_in_each_tenants_daytime(
    tenant, other_tenant, monkeypatch, django_capture_on_commit_callbacks
):
    tuesday_morning_in_berlin = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    other_tenant.time_zone = "America/Los_Angeles"  # 01:00 there
    other_tenant.save(update_fields=["time_zone"])
    customer = CustomerFactory(tenant=tenant, email="due@example.test")
    TicketFactory(
        tenant=tenant, customer=customer, created_at=tuesday_morning_in_berlin - timedelta(days=40)
    )
    late = CustomerFactory(tenant=other_tenant, email="asleep@example.test")
    TicketFactory(
        tenant=other_tenant,
        customer=late,
        created_at=tuesday_morning_in_berlin - timedelta(days=40),
    )
    monkeypatch.setattr("empathy_metrics.tasks.timezone.now", lambda: tuesday_morning_in_berlin)
    with django_capture_on_commit_callbacks(execute=True):
        count, seen = captured(survey_schedule_fanout_task)
    assert count == 1
    assert [args for name, args in seen if name == "empathy_metrics.survey_schedule"] == [
        (tenant.pk,)
    ]
    assert [m.to for m in mail.outbox] == [["due@example.test"]]
    with tenant_context(other_tenant):
        assert not SurveyRequest.objects.for_tenant(other_tenant).exists()


def test_the_rebuild_command(tenant, other_tenant):
    TicketFactory(tenant=tenant, created_at=timezone.now() - timedelta(days=2))
    out = StringIO()
    call_command("metrics_rebuild", "--tenant", "acme", stdout=out)
    assert "acme:" in out.getvalue()
    with tenant_context(tenant):
        assert MetricsRollup.objects.for_tenant(tenant).exists()
    out = StringIO()
    call_command("metrics_rebuild", stdout=out)  # every tenant
    assert "globex:" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("metrics_rebuild", "--tenant", "nobody")
    with pytest.raises(CommandError):
        call_command("metrics_rebuild", "--tenant", "acme", "--since", "yesterday")


@pytest.mark.redis_only
def test_a_real_worker_maintains_the_rollups_in_the_tenants_scope(
    real_celery_worker, tenant, other_tenant
):
    TicketFactory(tenant=tenant, created_at=timezone.now() - timedelta(hours=3))
    result = metrics_rollup_update_task.delay(tenant.pk)
    assert result.get(timeout=60)["rebuilt"] == 1
    with tenant_context(tenant):
        assert (
            MetricsRollup.objects.for_tenant(tenant).filter(gset=0, unit="day").get().tickets == 1
        )
    with tenant_context(other_tenant):
        assert not RollupState.objects.for_tenant(other_tenant).exists()


def test_the_benchmark_seed_builds_data_whose_rollups_match_the_direct_figures(db):
    from empathy_metrics.periods import Filters, local_day, period_from_preset, zone
    from empathy_metrics.selectors.direct import metrics_direct
    from empathy_metrics.selectors.rollup import metrics_rollup
    from helpdesk.tenancy.models import Tenant

    out = StringIO()
    call_command(
        "seed_metrics_bench",
        slug="tiny",
        tickets=400,
        csat=120,
        nps=60,
        messages=80,
        customers=60,
        agents=3,
        days=60,
        stdout=out,
        stderr=StringIO(),
    )
    assert "Seeded tiny: 400 tickets" in out.getvalue()
    call_command("metrics_rebuild", "--tenant", "tiny", stdout=StringIO())
    tenant = Tenant.objects.get(slug="tiny")
    tz = zone(tenant.time_zone)
    now = timezone.now()
    for preset in ("30d", "90d"):
        period = period_from_preset(preset, today=local_day(now, tz), tz=tz)
        direct = metrics_direct(tenant=tenant, period=period, filters=Filters(), now=now)
        assert metrics_rollup(tenant=tenant, period=period, filters=Filters(), now=now) == direct
    assert direct["tickets"] == 400 and direct["csat"]["count"] == 120
    with pytest.raises(CommandError):
        call_command("seed_metrics_bench", slug="tiny", tickets=10, csat=5, stdout=StringIO())
