"""Intake channels: inbound and outbound email, mailboxes, attachments, help centre, live chat."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from helpdesk.tenancy.models import PublicIdMixin, TenantOwnedModel, public_id_constraint


class IntakeSettings(TenantOwnedModel):
    """Per-tenant intake configuration."""

    support_address = models.EmailField(
        blank=True, help_text="Where customers write; replies come from it."
    )
    inbound_secret = models.CharField(
        max_length=64, blank=True, help_text="Signs the inbound email webhook."
    )
    chat_wait_seconds = models.PositiveIntegerField(
        default=120, help_text="Offer email if no agent answers."
    )
    auto_reply = models.BooleanField(
        default=True, help_text="Acknowledge new tickets by email with the status link."
    )

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="intakesettings_tenant_uniq"),
        ]

    def __str__(self) -> str:
        return f"Intake settings of tenant {self.tenant_id}"


class Mailbox(TenantOwnedModel):
    """An IMAP mailbox polled for new mail (over TLS)."""

    host = models.CharField(max_length=200)
    port = models.PositiveIntegerField(default=993)
    username = models.CharField(max_length=200)
    password = models.CharField(max_length=500)
    folder = models.CharField(max_length=100, default="INBOX")
    use_tls = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    last_uid = models.BigIntegerField(default=0)
    uid_validity = models.BigIntegerField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "host", "username", "folder"], name="mailbox_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"


class InboundEmail(TenantOwnedModel):
    """Every inbound email, stored before anything else happens to it, with what became of it."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (auto-reply, bounce, loop)"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    rfc_message_id = models.CharField(
        max_length=255, blank=True, help_text="The Message-ID header."
    )
    source = models.CharField(max_length=20, default="webhook", help_text="webhook, imap or import")
    raw = models.FileField(upload_to="inbound-email/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(default=0)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    reason = models.CharField(max_length=300, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "rfc_message_id"],
                condition=~Q(rfc_message_id=""),
                name="inboundemail_msgid_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "received_at"], name="inboundemail_state_idx"),
            models.Index(
                fields=["tenant", "sender", "received_at"], name="inboundemail_sender_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


class OutboundEmail(TenantOwnedModel):
    """An email we send (agent reply, acknowledgement, status update), with delivery state."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    message = models.ForeignKey(
        "tickets.Message",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbound_emails",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="outbound_emails"
    )
    kind = models.CharField(max_length=20, default="reply", help_text="reply, ack or status")
    rfc_message_id = models.CharField(max_length=255, help_text="The Message-ID we sent.")
    to = models.CharField(max_length=320)
    subject = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "rfc_message_id"], name="outboundemail_msgid_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "ticket", "created_at"], name="outboundemail_ticket_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


class Attachment(PublicIdMixin, TenantOwnedModel):
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    content_id = models.CharField(max_length=255, blank=True, help_text="For inline images (cid:).")
    is_inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [*TenantOwnedModel.Meta.constraints, public_id_constraint("attachment")]
        indexes = [models.Index(fields=["tenant", "message"], name="attachment_message_idx")]

    def __str__(self) -> str:
        return self.filename


class Article(PublicIdMixin, TenantOwnedModel):
    """A help-centre (FAQ) article, Markdown rendered safely."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    body = models.TextField(help_text="Markdown")
    category = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    helpful_yes = models.PositiveIntegerField(default=0)
    helpful_no = models.PositiveIntegerField(default=0)
    deflections = models.PositiveIntegerField(
        default=0, help_text="Times it answered a question instead of a ticket."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["category", "title"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("article"),
            models.UniqueConstraint(fields=["tenant", "slug"], name="article_tenant_slug_uniq"),
        ]

    def __str__(self) -> str:
        return self.title


class ChatSession(PublicIdMixin, TenantOwnedModel):
    """A live chat from the widget; its messages are the ticket's messages (channel "chat")."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for an agent"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        CONVERTED = "converted", "Became an email ticket"

    token_hash = models.CharField(max_length=64, help_text="The widget's resume token, hashed.")
    customer = models.ForeignKey(
        "tickets.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    started_at = models.DateTimeField(auto_now_add=True)
    last_customer_at = models.DateTimeField(null=True, blank=True)
    last_agent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("chatsession"),
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="chatsession_token_uniq"),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "started_at"], name="chatsession_state_idx")
        ]

    def __str__(self) -> str:
        return f"chat {self.public_id} ({self.state})"
