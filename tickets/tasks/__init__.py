"""Celery entry points of the tickets app, one module per area (imported here for discovery)."""

from tickets.tasks.analysis import (
    message_analyse_task,
    message_analysis_sweep_fanout_task,
    message_analysis_sweep_task,
    messages_analyse_batch_task,
)
from tickets.tasks.auto_close import ticket_auto_close_fanout_task, ticket_auto_close_task
from tickets.tasks.email import (
    email_sweep_fanout_task,
    email_sweep_task,
    inbound_email_process_task,
    mailbox_poll_fanout_task,
    mailbox_poll_task,
    outbound_email_send_task,
)
from tickets.tasks.sla import ticket_sla_check_fanout_task, ticket_sla_check_task
from tickets.tasks.status import (
    status_notify_sweep_fanout_task,
    status_notify_sweep_task,
    status_notify_task,
)
from tickets.tasks.webhooks import webhook_deliver_task

__all__ = [
    "email_sweep_fanout_task",
    "email_sweep_task",
    "inbound_email_process_task",
    "mailbox_poll_fanout_task",
    "mailbox_poll_task",
    "message_analyse_task",
    "message_analysis_sweep_fanout_task",
    "message_analysis_sweep_task",
    "messages_analyse_batch_task",
    "outbound_email_send_task",
    "status_notify_sweep_fanout_task",
    "status_notify_sweep_task",
    "status_notify_task",
    "ticket_auto_close_fanout_task",
    "ticket_auto_close_task",
    "ticket_sla_check_fanout_task",
    "ticket_sla_check_task",
    "webhook_deliver_task",
]
