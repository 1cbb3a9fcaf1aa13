"""Agent pages of the tickets app, one module per page family."""

from tickets.views.customers import customer_edit, customer_list_page, customer_page
from tickets.views.queue import queue, queue_bulk, queue_view_save
from tickets.views.ticket import (
    macro_preview,
    ticket_assign,
    ticket_deescalate_view,
    ticket_escalate,
    ticket_fields,
    ticket_merge_view,
    ticket_page,
    ticket_priority,
    ticket_reply,
    ticket_status,
    ticket_tags,
    ticket_take_it,
)

__all__ = [
    "customer_edit",
    "customer_list_page",
    "customer_page",
    "macro_preview",
    "queue",
    "queue_bulk",
    "queue_view_save",
    "ticket_assign",
    "ticket_deescalate_view",
    "ticket_escalate",
    "ticket_fields",
    "ticket_merge_view",
    "ticket_page",
    "ticket_priority",
    "ticket_reply",
    "ticket_status",
    "ticket_tags",
    "ticket_take_it",
]
