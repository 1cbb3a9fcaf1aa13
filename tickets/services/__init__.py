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

__all__ = [
    "customer_get_or_create",
    "message_create",
    "ticket_assign",
    "ticket_create",
    "ticket_escalate",
    "ticket_set_status",
    "tickets_auto_close",
]
