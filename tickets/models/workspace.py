"""The agent's tools: macros, saved queue views, custom fields, notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpdesk.tenancy.models import PublicIdMixin, TenantOwnedModel, public_id_constraint


class Macro(PublicIdMixin, TenantOwnedModel):
    """A canned reply with placeholders ({{customer.first_name}}) that may also set fields."""

    name = models.CharField(max_length=100)
    body = models.TextField(blank=True)
    set_status = models.CharField(max_length=10, blank=True)
    set_priority = models.CharField(max_length=10, blank=True)
    add_tags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("macro"),
            models.UniqueConstraint(fields=["tenant", "name"], name="macro_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class SavedView(PublicIdMixin, TenantOwnedModel):
    """A named queue filter. Personal (owner set) or shared with the whole team (owner empty)."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    filters = models.JSONField(default=dict, help_text="Queue filters, e.g. {'status': ['open']}.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [*TenantOwnedModel.Meta.constraints, public_id_constraint("savedview")]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(TenantOwnedModel):
    """A tenant's own ticket field; values live in ``Ticket.custom_fields`` under ``key``."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        CHOICE = "choice", "Choice"
        DATE = "date", "Date"

    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=100)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "key"], name="customfield_tenant_key_uniq"),
        ]

    def __str__(self) -> str:
        return self.label


class Notification(TenantOwnedModel):
    """An in-app notice to a staff member (SLA warnings, mentions, churn risk)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "user", "-created_at"], name="notification_user_idx")
        ]

    def __str__(self) -> str:
        return self.title
