"""Integrations: outbound webhooks with a delivery log, and API idempotency keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpdesk.tenancy.models import PublicIdMixin, TenantOwnedModel, public_id_constraint

WEBHOOK_EVENTS = ("ticket.created", "ticket.updated", "message.created", "survey.answered")


class WebhookEndpoint(PublicIdMixin, TenantOwnedModel):
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, help_text="Signs payloads (HMAC-SHA256).")
    events = models.JSONField(default=list, help_text=f"Any of {', '.join(WEBHOOK_EVENTS)}.")
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [*TenantOwnedModel.Meta.constraints, public_id_constraint("webhookendpoint")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(PublicIdMixin, TenantOwnedModel):
    """One event sent (or to be sent) to one endpoint, with every attempt's outcome."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [*TenantOwnedModel.Meta.constraints, public_id_constraint("webhookdelivery")]
        indexes = [
            models.Index(
                fields=["tenant", "endpoint", "-created_at"], name="webhookdelivery_log_idx"
            ),
            models.Index(
                fields=["tenant", "state", "created_at"], name="webhookdelivery_state_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}"


class IdempotencyKey(TenantOwnedModel):
    """Remembers the answer to a create request sent with an Idempotency-Key header."""

    key = models.CharField(max_length=200)
    principal = models.CharField(
        max_length=100, help_text="Who sent it: user id or API key prefix."
    )
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "principal", "key"], name="idempotency_uniq"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key
