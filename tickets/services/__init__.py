"""Writes of the tickets app (CONVENTIONS.md section 2), one module per area.

Callers use ``from tickets import services`` and ``services.<name>``; every public service is
re-exported here.
"""

from tickets.services.core import (
    customer_get_or_create,
    message_create,
    ticket_assign,
    ticket_create,
    ticket_escalate,
    ticket_set_status,
    tickets_auto_close,
)
from tickets.services.sla import (
    sla_apply,
    sla_check,
    sla_on_message,
    sla_on_status_change,
    sla_policy_for,
)
from tickets.services.webhooks import (
    webhook_delivery_attempt,
    webhook_delivery_replay,
    webhook_dispatch,
    webhook_dispatch_for_event,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_event_for,
    webhook_signature_verify,
)

__all__ = [
    "customer_get_or_create",
    "message_create",
    "sla_apply",
    "sla_check",
    "sla_on_message",
    "sla_on_status_change",
    "sla_policy_for",
    "ticket_assign",
    "ticket_create",
    "ticket_escalate",
    "ticket_set_status",
    "tickets_auto_close",
    "webhook_delivery_attempt",
    "webhook_delivery_replay",
    "webhook_dispatch",
    "webhook_dispatch_for_event",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_update",
    "webhook_event_for",
    "webhook_signature_verify",
]
