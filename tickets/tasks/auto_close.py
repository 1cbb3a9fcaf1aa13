"""Celery entry points of the tickets app: load by id, call a service."""

from __future__ import annotations

from celery import shared_task

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.tasks import TenantTask
from tickets import services


@shared_task(base=TenantTask, name="tickets.ticket_auto_close")
def ticket_auto_close_task(tenant_id: int) -> int:
    return services.tickets_auto_close(tenant=current_tenant())


@shared_task(name="tickets.ticket_auto_close_fanout")
def ticket_auto_close_fanout_task() -> int:
    """Periodic (beat): one auto-close task per tenant."""
    with system_context(reason="auto-close fan-out"):
        tenant_ids = list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        ticket_auto_close_task.delay(tenant_id)
    return len(tenant_ids)
