"""Celery entry points for SLA warnings: a per-tenant check, fanned out every minute by beat."""

from __future__ import annotations

from celery import shared_task
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.tasks import TenantTask
from tickets import services
from tickets.models import OPEN_STATUSES, Ticket

# A fan-out older than this is dropped by the worker: the next one is already due.
SLA_CHECK_EXPIRES_SECONDS = 55


@shared_task(base=TenantTask, name="tickets.ticket_sla_check")
def ticket_sla_check_task(tenant_id: int) -> dict[str, int]:
    return services.sla_check(tenant=current_tenant(), now=timezone.now())


@shared_task(name="tickets.ticket_sla_check_fanout")
def ticket_sla_check_fanout_task() -> int:
    """Periodic (beat, every minute): one SLA check per tenant that has a pending SLA target."""
    with system_context(reason="SLA check fan-out"):
        pending = Ticket.objects.filter(
            Q(first_response_due_at__isnull=False)
            | Q(next_response_due_at__isnull=False)
            | Q(resolution_due_at__isnull=False),
            tenant_id=OuterRef("pk"),
            status__in=OPEN_STATUSES,
        )
        tenant_ids = list(
            Tenant.objects.filter(Exists(pending)).order_by("pk").values_list("pk", flat=True)
        )
    for tenant_id in tenant_ids:
        ticket_sla_check_task.apply_async(args=[tenant_id], expires=SLA_CHECK_EXPIRES_SECONDS)
    return len(tenant_ids)
