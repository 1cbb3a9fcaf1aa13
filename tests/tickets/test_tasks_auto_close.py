"""Solved tickets close after the tenant's N days: per-tenant tasks fanned out by a system task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.tasks import TenantTaskError
from tests.factories.tickets import TicketFactory
from tickets.models import Status, Ticket, TicketEvent
from tickets.tasks import ticket_auto_close_fanout_task, ticket_auto_close_task


def solved_ticket(tenant, days_ago: float):
    when = timezone.now() - timedelta(days=days_ago)
    return TicketFactory(tenant=tenant, status=Status.SOLVED, solved_at=when)


def status_of(ticket) -> str:
    with tenant_context(ticket.tenant):
        return Ticket.objects.get(pk=ticket.pk).status


def test_task_closes_only_old_solved_tickets_of_its_own_tenant(tenant, other_tenant):
    old, recent = solved_ticket(tenant, 5), solved_ticket(tenant, 1)
    foreign = solved_ticket(other_tenant, 30)
    assert ticket_auto_close_task(tenant.pk) == 1
    assert status_of(old) == Status.CLOSED
    assert status_of(recent) == Status.SOLVED
    assert status_of(foreign) == Status.SOLVED
    with tenant_context(tenant):
        event = TicketEvent.objects.get(ticket=old, kind="ticket.status_changed")
    assert (event.from_value, event.to_value, event.actor_user) == ("solved", "closed", None)


def test_task_respects_the_tenants_own_delay(tenant):
    tenant.auto_close_after_days = 10
    tenant.save()
    ticket = solved_ticket(tenant, 5)
    assert ticket_auto_close_task(tenant.pk) == 0
    assert status_of(ticket) == Status.SOLVED


def test_running_twice_changes_nothing_more(tenant):
    solved_ticket(tenant, 5)
    assert ticket_auto_close_task(tenant.pk) == 1
    assert ticket_auto_close_task(tenant.pk) == 0


def test_tenant_tasks_refuse_to_be_enqueued_without_a_tenant_id(db):
    with pytest.raises(TenantTaskError):
        ticket_auto_close_task.delay()
    with pytest.raises(TenantTaskError):
        ticket_auto_close_task.apply_async(args=["acme"])
    with pytest.raises(TenantTaskError):
        ticket_auto_close_task.delay_on_commit()


def test_fan_out_enqueues_one_task_per_tenant_each_carrying_its_tenant_id(tenant, other_tenant):
    seen = []

    def capture(sender=None, args=None, **kwargs):
        seen.append((sender.name, tuple(args or ())))

    task_prerun.connect(capture)
    try:
        assert ticket_auto_close_fanout_task() == 2
    finally:
        task_prerun.disconnect(capture)
    per_tenant = [args for name, args in seen if name == "tickets.ticket_auto_close"]
    assert sorted(per_tenant) == sorted([(tenant.pk,), (other_tenant.pk,)])


@pytest.mark.redis_only
def test_a_real_worker_runs_the_task_in_the_tenants_scope(real_celery_worker, tenant, other_tenant):
    old = solved_ticket(tenant, 6)
    foreign = solved_ticket(other_tenant, 6)
    result = ticket_auto_close_task.delay(tenant.pk)
    assert result.get(timeout=30) == 1
    assert status_of(old) == Status.CLOSED
    assert status_of(foreign) == Status.SOLVED
