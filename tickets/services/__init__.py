"""Writes of the tickets app (CONVENTIONS.md section 2), one module per area.

Callers use ``from tickets import services`` and ``services.<name>``; every public service is
re-exported here.
"""

from tickets.services.chat import (
    chat_agent_message,
    chat_convert_to_email,
    chat_customer_message,
    chat_end,
    chat_settings_update,
    chat_start,
)
from tickets.services.core import (
    customer_get_or_create,
    message_create,
    ticket_assign,
    ticket_create,
    ticket_escalate,
    ticket_set_status,
    tickets_auto_close,
)
from tickets.services.email_in import (
    email_sweep,
    inbound_email_process,
    inbound_email_receive,
    inbound_email_refuse_oversized,
    inbound_email_retry,
    inbound_secret_rotate,
    intake_email_settings_update,
    mailbox_create,
    mailbox_delete,
    mailbox_poll,
    mailbox_update,
)
from tickets.services.email_out import email_ack_queue, email_reply_queue, outbound_email_send
from tickets.services.helpcenter import (
    article_create,
    article_deflect,
    article_set_published,
    article_update,
    article_vote,
)
from tickets.services.sla import (
    sla_apply,
    sla_check,
    sla_on_message,
    sla_on_status_change,
    sla_policy_for,
)
from tickets.services.webform import webform_submit
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
    "article_create",
    "article_deflect",
    "article_set_published",
    "article_update",
    "article_vote",
    "chat_agent_message",
    "chat_convert_to_email",
    "chat_customer_message",
    "chat_end",
    "chat_settings_update",
    "chat_start",
    "customer_get_or_create",
    "email_ack_queue",
    "email_reply_queue",
    "email_sweep",
    "inbound_email_process",
    "inbound_email_receive",
    "inbound_email_refuse_oversized",
    "inbound_email_retry",
    "inbound_secret_rotate",
    "intake_email_settings_update",
    "mailbox_create",
    "mailbox_delete",
    "mailbox_poll",
    "mailbox_update",
    "message_create",
    "outbound_email_send",
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
    "webform_submit",
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
