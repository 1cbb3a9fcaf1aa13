"""Celery entry points of the customer status emails: one send per batch, and a sweep.

``status_notify_task`` is queued (with a countdown of the batch window) by the first public change
of a burst; it sends one email for the whole burst. ``status_notify_sweep_fanout_task`` (beat)
sends the batches whose task was lost (a broker outage, a worker crash).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.tasks import TenantTask
from tickets.models import Ticket
from tickets.services.status_notify import (
    status_email_batch_seconds,
    status_notify_send,
    status_notify_sweep,
)


@shared_task(
    base=TenantTask,
    name="tickets.status_notify",
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def status_notify_task(tenant_id: int, ticket_id: int) -> bool:
    return status_notify_send(tenant=current_tenant(), ticket_id=ticket_id) is not None


@shared_task(base=TenantTask, name="tickets.status_notify_sweep")
def status_notify_sweep_task(tenant_id: int) -> int:
    return status_notify_sweep(tenant=current_tenant())


@shared_task(name="tickets.status_notify_sweep_fanout")
def status_notify_sweep_fanout_task() -> int:
    """Periodic (beat): one sweep per tenant with a batch overdue by a whole window."""
    cutoff = timezone.now() - timedelta(seconds=2 * status_email_batch_seconds())
    with system_context(reason="status email sweep fan-out"):
        overdue = Ticket.objects.filter(customer_notify_pending_since__lte=cutoff)
        tenant_ids = list(
            Tenant.objects.filter(pk__in=overdue.values("tenant_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    for tenant_id in tenant_ids:
        status_notify_sweep_task.delay(tenant_id)
    return len(tenant_ids)
