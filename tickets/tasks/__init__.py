"""Celery entry points of the tickets app, one module per area (imported here for discovery)."""

from tickets.tasks.auto_close import ticket_auto_close_fanout_task, ticket_auto_close_task
from tickets.tasks.sla import ticket_sla_check_fanout_task, ticket_sla_check_task
from tickets.tasks.webhooks import webhook_deliver_task

__all__ = [
    "ticket_auto_close_fanout_task",
    "ticket_auto_close_task",
    "ticket_sla_check_fanout_task",
    "ticket_sla_check_task",
    "webhook_deliver_task",
]
