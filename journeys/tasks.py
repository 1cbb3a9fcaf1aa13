"""Celery entry points of the journeys app: load by id, call a service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.tasks import TenantTask
from journeys import services
from journeys.models import Journey


@shared_task(base=TenantTask, name="journeys.journey_rebuild")
def journey_rebuild_task(tenant_id: int, journey_id: int, version: int) -> bool:
    """Recompute a journey's positions after its definition changed (or it was created)."""
    return services.journey_rebuild(tenant=current_tenant(), journey_id=journey_id, version=version)


@shared_task(name="journeys.journey_rebuild_sweep")
def journey_rebuild_sweep_task() -> int:
    """Periodic (beat): re-enqueue rebuilds that never ran (broker down when the journey was
    saved) or died with their worker. A rebuild at a stale version exits at once."""
    stale = timezone.now() - timedelta(minutes=10)
    with system_context(reason="journeys rebuild sweep"):
        pending = list(
            Journey.objects.filter(
                is_active=True, rebuilt_version__lt=F("version"), updated_at__lt=stale
            ).values_list("tenant_id", "pk", "version")
        )
    for tenant_id, journey_id, version in pending:
        journey_rebuild_task.delay(tenant_id, journey_id, version)
    return len(pending)
