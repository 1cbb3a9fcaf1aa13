"""Models of the tickets app, one module per area; import them from here."""

from tickets.models.analysis import (
    SIGNALS,
    AnalysisCorrection,
    AnalysisSettings,
    MessageAnalysis,
    TriageRule,
)
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
    "OPEN_STATUSES",
    "SIGNALS",
    "AnalysisCorrection",
    "AnalysisSettings",
    "Article",
    "Attachment",
    "AuthorType",
    "Channel",
    "ChatSession",
    "CustomFieldDefinition",
    "Customer",
    "Group",
    "GroupMember",
    "IdempotencyKey",
    "InboundEmail",
    "IntakeSettings",
    "Macro",
    "Mailbox",
    "Message",
    "MessageAnalysis",
    "Notification",
    "OutboundEmail",
    "Priority",
    "SavedView",
    "SlaPolicy",
    "Status",
    "StatusLink",
    "Tag",
    "Ticket",
    "TicketEvent",
    "TicketTag",
    "TriageRule",
    "WebhookDelivery",
    "WebhookEndpoint",
]
