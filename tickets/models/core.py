"""Customers, groups, tags, tickets, the conversation and the append-only ticket timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from helpdesk.tenancy.models import PublicIdMixin, TenantOwnedModel, public_id_constraint


class Customer(PublicIdMixin, TenantOwnedModel):
    """An end user of a tenant. Not a login: reached through status links and the portal."""

    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(
        blank=True, help_text="Stored lower-case; matched case-insensitively."
    )
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    locale = models.CharField(max_length=10, default="en")
    notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("customer"),
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=~Q(email=""),
                name="customer_tenant_email_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="customer_tenant_created_idx"),
            models.Index(fields=["tenant", "company"], name="customer_tenant_company_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.pk}"

    @property
    def first_name(self) -> str:
        return (self.name or self.email.split("@")[0] or "there").split()[0]


class Group(TenantOwnedModel):
    """A team that tickets are routed to; tier 2 holds the specialists."""

    name = models.CharField(max_length=100)
    tier = models.PositiveSmallIntegerField(default=1, choices=[(1, "Tier 1"), (2, "Tier 2")])
    assignment = models.CharField(
        max_length=20,
        choices=[
            ("manual", "Manual"),
            ("round_robin", "Round-robin"),
            ("load_balanced", "Load-balanced (fewest open tickets)"),
        ],
        default="manual",
    )
    last_assigned_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="GroupMember", related_name="+", blank=True
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["tier", "name"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="group_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class GroupMember(TenantOwnedModel):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "group", "user"], name="groupmember_uniq"),
        ]


class Tag(TenantOwnedModel):
    name = models.CharField(max_length=50)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="tag_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Live chat"
    WEB = "web", "Web form"
    API = "api", "API"
    PHONE = "phone", "Phone note"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending on customer"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Ticket(PublicIdMixin, TenantOwnedModel):
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=250)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    group = models.ForeignKey(
        Group, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    tier = models.PositiveSmallIntegerField(default=1)
    tags = models.ManyToManyField(Tag, through="TicketTag", related_name="tickets", blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    reopen_count = models.PositiveIntegerField(default=0)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_tickets"
    )
    repeat_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repeats",
        help_text="An earlier ticket of the same customer on the same topic (repeat contact).",
    )
    sla_policy = models.ForeignKey(
        "tickets.SlaPolicy", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sla_stage = models.PositiveSmallIntegerField(
        default=0,
        help_text="Highest share of an SLA target used so far: 0, 50, 75 or 100 (breached).",
    )
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    # Mood, from the analysis of the customer's messages (see tickets/analysis).
    mood_label = models.CharField(
        max_length=10, blank=True, help_text="Latest: negative, neutral, positive."
    )
    mood_score = models.FloatField(
        null=True, blank=True, help_text="Latest customer sentiment, -1..1."
    )
    mood_worst_score = models.FloatField(null=True, blank=True)
    mood_trend = models.FloatField(null=True, blank=True, help_text="Latest minus first score.")
    mood_signals = models.JSONField(
        default=list, blank=True, help_text="Signals present, e.g. ['urgency']."
    )
    # Customer status page: the token lives in tickets.StatusLink; email updates are batched.
    customer_notify_pending_since = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-updated_at", "-id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("ticket"),
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_tenant_number_uniq"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-updated_at"], name="ticket_queue_idx"),
            models.Index(fields=["tenant", "assignee", "status"], name="ticket_assignee_idx"),
            models.Index(fields=["tenant", "-created_at"], name="ticket_created_idx"),
            models.Index(fields=["tenant", "customer", "-created_at"], name="ticket_customer_idx"),
            models.Index(fields=["tenant", "group", "status"], name="ticket_group_idx"),
            # The queue's default view: open tickets, most recently updated first (keyset pages).
            models.Index(
                fields=["tenant", "-updated_at", "-id"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"], merged_into=None),
                name="ticket_open_recent_idx",
            ),
            models.Index(fields=["tenant", "-updated_at", "-id"], name="ticket_recent_idx"),
            models.Index(fields=["tenant", "mood_label", "status"], name="ticket_mood_idx"),
            models.Index(fields=["tenant", "sla_stage", "status"], name="ticket_sla_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    def reference_with(self, prefix: str) -> str:
        return f"{prefix}-{self.number}"

    @property
    def reference(self) -> str:
        return self.reference_with(self.tenant.reference_prefix)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketTag(TenantOwnedModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "ticket", "tag"], name="tickettag_uniq"),
        ]


class AuthorType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System"


class Message(PublicIdMixin, TenantOwnedModel):
    """One entry of the conversation. Stored first; analysed later by the workers."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_type = models.CharField(max_length=10, choices=AuthorType.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    is_internal = models.BooleanField(
        default=False, help_text="Internal note: never shown to customers."
    )
    body_text = models.TextField()
    body_html = models.TextField(blank=True, help_text="Sanitised HTML (nh3).")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    external_id = models.CharField(max_length=255, blank=True, help_text="E.g. email Message-ID.")
    created_at = models.DateTimeField()
    analysis_state = models.CharField(
        max_length=10,
        choices=[
            ("pending", "Pending"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("skipped", "Not analysed"),
        ],
        default="skipped",
        help_text="Customer messages start pending; the analysis workers move them on.",
    )
    analysis_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["created_at", "id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("message"),
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="message_tenant_external_id_uniq",
            ),
            models.CheckConstraint(
                condition=~Q(author_type="customer", is_internal=True),
                name="message_customer_never_internal",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "ticket", "created_at"], name="message_ticket_idx"),
            models.Index(fields=["tenant", "-created_at"], name="message_created_idx"),
            models.Index(
                fields=["tenant", "created_at"],
                condition=Q(analysis_state="pending"),
                name="message_analysis_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_type} message on ticket {self.ticket_id}"


class TicketEvent(TenantOwnedModel):
    """Append-only timeline: the audit trail, the status page's source and the metrics' input.

    The id is the cursor that real-time clients resume from.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=False, help_text="Shown on the customer's status page.")
    created_at = models.DateTimeField()

    class Meta(TenantOwnedModel.Meta):
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "ticket", "id"], name="event_ticket_cursor_idx"),
            models.Index(fields=["tenant", "kind", "created_at"], name="event_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Ticket events are append-only")
        super().save(*args, **kwargs)
