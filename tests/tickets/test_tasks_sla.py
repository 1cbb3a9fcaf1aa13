"""SLA checks: a per-tenant task, fanned out every minute by a system task on beat.

The task reads the clock itself, so these tenants are open 24/7 and the tickets are hours old:
the outcome does not depend on when the suite runs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.tasks import TenantTaskError
from tests.factories.tickets import SlaPolicyFactory, TicketFactory
from tickets import services
from tickets.models import Notification, Ticket
from tickets.tasks import ticket_sla_check_fanout_task, ticket_sla_check_task


def always_open(tenant) -> None:
    tenant.business_hours = {}
    tenant.save(update_fields=["business_hours"])


def overdue_ticket(tenant, assignee=None) -> Ticket:
    SlaPolicyFactory(tenant=tenant, first_response_minutes=60)
    created = timezone.now() - timedelta(hours=2)
    ticket = TicketFactory(tenant=tenant, created_at=created, updated_at=created, assignee=assignee)
    return services.sla_apply(tenant=tenant, ticket=ticket, at=created)


def stage_of(ticket) -> int:
    with tenant_context(ticket.tenant):
        return Ticket.objects.get(pk=ticket.pk).sla_stage


def test_task_checks_only_its_own_tenant(tenant, other_tenant, agent, other_agent):
    always_open(tenant)
    always_open(other_tenant)
    mine = overdue_ticket(tenant, assignee=agent)
    theirs = overdue_ticket(other_tenant, assignee=other_agent)

    result = ticket_sla_check_task(tenant.pk)

    assert (result["breached"], result["notifications"]) == (1, 1)
    assert stage_of(mine) == 100
    assert stage_of(theirs) == 0
    with tenant_context(other_tenant):
        assert not Notification.objects.exists()
    assert ticket_sla_check_task(tenant.pk)["raised"] == 0


def test_task_refuses_to_be_enqueued_without_a_tenant_id(db):
    with pytest.raises(TenantTaskError):
        ticket_sla_check_task.delay()
    with pytest.raises(TenantTaskError):
        ticket_sla_check_task.apply_async(args=["acme"])


def test_fan_out_enqueues_one_task_per_tenant_with_pending_targets(tenant, other_tenant, agent):
    always_open(tenant)
    mine = overdue_ticket(tenant, assignee=agent)
    TicketFactory(tenant=other_tenant)  # no SLA targets: no task for this tenant
    seen = []

    def capture(sender=None, args=None, **kwargs):
        seen.append((sender.name, tuple(args or ())))

    task_prerun.connect(capture)
    try:
        assert ticket_sla_check_fanout_task() == 1
    finally:
        task_prerun.disconnect(capture)
    assert [args for name, args in seen if name == "tickets.ticket_sla_check"] == [(tenant.pk,)]
    assert stage_of(mine) == 100


def test_beat_runs_the_fan_out_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["tickets-sla-check"]
    assert entry["task"] == ticket_sla_check_fanout_task.name == "tickets.ticket_sla_check_fanout"
    assert entry["schedule"] == 60.0
    assert ticket_sla_check_task.name == "tickets.ticket_sla_check"


@pytest.mark.redis_only
def test_a_real_worker_runs_the_check_in_the_tenants_scope(
    real_celery_worker, tenant, other_tenant, agent, other_agent
):
    always_open(tenant)
    always_open(other_tenant)
    mine = overdue_ticket(tenant, assignee=agent)
    theirs = overdue_ticket(other_tenant, assignee=other_agent)
    result = ticket_sla_check_task.delay(tenant.pk)
    assert result.get(timeout=30)["breached"] == 1
    assert stage_of(mine) == 100
    assert stage_of(theirs) == 0
