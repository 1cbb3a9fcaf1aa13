"""Celery entry points of the empathy metrics: load by id, call a service.

Periodic jobs are system tasks that fan out one task per tenant (CONVENTIONS.md, Celery). The
schedule is registered with Celery beat in ``register_beat_schedule`` (called from the app's
``ready()``): beat runs every fan-out in UTC, and the per-tenant tasks decide by the tenant's own
clock (digest on Monday morning, surveys in the local daytime).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.tasks import TenantTask
from tickets.tasks.analysis import AnalysisTask, sweep_after

logger = logging.getLogger(__name__)

ROLLUP_EVERY_SECONDS = 300.0
CSAT_EVERY_SECONDS = 300.0
HOURLY = 3600.0
SURVEY_SWEEP_EVERY_SECONDS = 120.0

BEAT_SCHEDULE = {
    "empathy-metrics-rollup": {
        "task": "empathy_metrics.metrics_rollup_fanout",
        "schedule": ROLLUP_EVERY_SECONDS,
        "options": {"expires": ROLLUP_EVERY_SECONDS - 10},
    },
    "empathy-metrics-csat": {
        "task": "empathy_metrics.csat_send_fanout",
        "schedule": CSAT_EVERY_SECONDS,
        "options": {"expires": CSAT_EVERY_SECONDS - 10},
    },
    "empathy-metrics-surveys": {
        "task": "empathy_metrics.survey_schedule_fanout",
        "schedule": HOURLY,
        "options": {"expires": HOURLY - 60},
    },
    # Survey comments still unanalysed after N minutes (task lost, broker or worker down).
    "empathy-metrics-survey-analysis-sweep": {
        "task": "empathy_metrics.survey_analysis_sweep_fanout",
        "schedule": SURVEY_SWEEP_EVERY_SECONDS,
        "options": {"expires": SURVEY_SWEEP_EVERY_SECONDS - 5},
    },
    "empathy-metrics-digest": {
        "task": "empathy_metrics.digest_fanout",
        "schedule": HOURLY,
        "options": {"expires": HOURLY - 60},
    },
}


def register_beat_schedule(app) -> None:
    """Add this app's periodic jobs to Celery beat (kept beside the tasks they start)."""
    schedule = dict(app.conf.beat_schedule or {})
    schedule.update(BEAT_SCHEDULE)
    app.conf.beat_schedule = schedule


def _tenant_ids(reason: str) -> list[int]:
    with system_context(reason=reason):
        return list(Tenant.objects.order_by("pk").values_list("pk", flat=True))


# --- rollups --------------------------------------------------------------------------------


@shared_task(base=TenantTask, name="empathy_metrics.metrics_rollup_update")
def metrics_rollup_update_task(tenant_id: int) -> dict:
    from empathy_metrics.services_rollups import metrics_rollup_update

    return metrics_rollup_update(tenant=current_tenant(), now=timezone.now())


@shared_task(name="empathy_metrics.metrics_rollup_fanout")
def metrics_rollup_fanout_task() -> int:
    """Periodic (beat, every 5 minutes): one incremental rollup run per tenant."""
    tenant_ids = _tenant_ids("metrics rollup fan-out")
    for tenant_id in tenant_ids:
        metrics_rollup_update_task.apply_async(args=[tenant_id], expires=ROLLUP_EVERY_SECONDS)
    return len(tenant_ids)


# --- surveys --------------------------------------------------------------------------------


@shared_task(base=TenantTask, name="empathy_metrics.survey_schedule")
def survey_schedule_task(tenant_id: int) -> dict:
    from empathy_metrics.services_nps import nps_schedule_run, survey_reminders_send

    tenant = current_tenant()
    now = timezone.now()
    return {
        "nps_sent": nps_schedule_run(tenant=tenant, now=now),
        "reminders": survey_reminders_send(tenant=tenant, now=now),
    }


@shared_task(name="empathy_metrics.survey_schedule_fanout")
def survey_schedule_fanout_task() -> int:
    """Periodic (beat, hourly): surveys go out in each tenant's local daytime only."""
    from empathy_metrics.services_nps import survey_sending_hour

    with system_context(reason="survey schedule fan-out"):
        tenants = list(Tenant.objects.order_by("pk").only("pk", "time_zone"))
    now = timezone.now()
    due = [t.pk for t in tenants if survey_sending_hour(tenant=t, now=now)]
    for tenant_id in due:
        survey_schedule_task.apply_async(args=[tenant_id], expires=HOURLY)
    return len(due)


@shared_task(base=TenantTask, name="empathy_metrics.csat_send")
def csat_send_task(tenant_id: int) -> int:
    from empathy_metrics.services import csat_requests_send_due

    return csat_requests_send_due(tenant=current_tenant(), now=timezone.now())


@shared_task(name="empathy_metrics.csat_send_fanout")
def csat_send_fanout_task() -> int:
    """Periodic (beat, every 5 minutes): the automatic CSAT emails of recently solved tickets."""
    tenant_ids = _tenant_ids("csat survey fan-out")
    for tenant_id in tenant_ids:
        csat_send_task.apply_async(args=[tenant_id], expires=CSAT_EVERY_SECONDS)
    return len(tenant_ids)


# --- analysis of survey comments (the "analysis" queue, like customer messages) ---------------


@shared_task(base=AnalysisTask, name="empathy_metrics.survey_response_analyse")
def survey_response_analyse_task(tenant_id: int, response_id: int) -> dict:
    """An answer's comment, after commit: acks late, retried with backoff on failure."""
    from empathy_metrics.services_survey_analysis import survey_comments_analyse

    outcome = survey_comments_analyse(tenant=current_tenant(), response_ids=[response_id])
    return {"analysed": outcome.analysed, "error": outcome.error}


@shared_task(base=TenantTask, name="empathy_metrics.survey_analysis_sweep", acks_late=True)
def survey_analysis_sweep_task(tenant_id: int) -> int:
    from empathy_metrics.services_survey_analysis import survey_comments_analyse_pending

    return survey_comments_analyse_pending(
        tenant=current_tenant(), older_than=sweep_after(), now=timezone.now()
    )


@shared_task(name="empathy_metrics.survey_analysis_sweep_fanout")
def survey_analysis_sweep_fanout_task() -> int:
    """Periodic (beat): one sweep per tenant with survey comments waiting for too long (the
    broker or the worker was down when they were given)."""
    from empathy_metrics.selectors.survey_analysis import tenant_ids_with_unanalysed_comments

    with system_context(reason="survey analysis sweep fan-out"):
        tenant_ids = tenant_ids_with_unanalysed_comments(before=timezone.now() - sweep_after())
    for tenant_id in tenant_ids:
        survey_analysis_sweep_task.apply_async(
            args=[tenant_id],
            expires=SURVEY_SWEEP_EVERY_SECONDS - 5,
            queue=settings.HELPDESK_ANALYSIS_QUEUE,
        )
    return len(tenant_ids)


# --- the weekly digest ----------------------------------------------------------------------


@shared_task(base=TenantTask, name="empathy_metrics.digest_send")
def digest_send_task(tenant_id: int) -> int:
    from empathy_metrics.services_digest import digest_send_due

    return digest_send_due(tenant=current_tenant(), now=timezone.now())


@shared_task(name="empathy_metrics.digest_fanout")
def digest_fanout_task() -> int:
    """Periodic (beat, hourly): the digest of tenants whose local time is Monday morning."""
    from empathy_metrics.services_digest import digest_is_due

    with system_context(reason="weekly digest fan-out"):
        tenants = list(Tenant.objects.order_by("pk").only("pk", "time_zone"))
    now = timezone.now()
    due = [t.pk for t in tenants if digest_is_due(tenant=t, now=now)]
    for tenant_id in due:
        digest_send_task.apply_async(args=[tenant_id], expires=HOURLY)
    return len(due)
