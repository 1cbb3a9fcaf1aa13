"""Models of the tickets app, one module per area; import them from here."""

from tickets.models.core import (
    OPEN_STATUSES,
    AuthorType,
    Channel,
    Customer,
    Group,
    GroupMember,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    TicketTag,
)
from tickets.models.integrations import IdempotencyKey, WebhookDelivery, WebhookEndpoint
from tickets.models.sla import SlaPolicy
from tickets.models.workspace import CustomFieldDefinition, Macro, Notification, SavedView

__all__ = [
    "OPEN_STATUSES",
    "AuthorType",
    "Channel",
    "CustomFieldDefinition",
    "Customer",
    "Group",
    "GroupMember",
    "IdempotencyKey",
    "Macro",
    "Message",
    "Notification",
    "Priority",
    "SavedView",
    "SlaPolicy",
    "Status",
    "Tag",
    "Ticket",
    "TicketEvent",
    "TicketTag",
    "WebhookDelivery",
    "WebhookEndpoint",
]
