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
from tickets.models.analysis import (
    SIGNALS,
    AnalysisCorrection,
    AnalysisSettings,
    MessageAnalysis,
    TriageRule,
)
from tickets.models.intake import (
    Article,
    Attachment,
    ChatSession,
    InboundEmail,
    IntakeSettings,
    Mailbox,
    OutboundEmail,
)
from tickets.models.integrations import IdempotencyKey, WebhookDelivery, WebhookEndpoint
from tickets.models.sla import SlaPolicy
from tickets.models.status import StatusLink
from tickets.models.workspace import CustomFieldDefinition, Macro, Notification, SavedView

__all__ = [
    "SIGNALS",
    "AnalysisCorrection",
    "AnalysisSettings",
    "Article",
    "Attachment",
    "ChatSession",
    "InboundEmail",
    "IntakeSettings",
    "Mailbox",
    "MessageAnalysis",
    "OutboundEmail",
    "StatusLink",
    "TriageRule",
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
