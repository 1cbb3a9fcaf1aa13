"""What the analysis workers found in customer messages, agents' corrections, triage rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpdesk.tenancy.models import TenantOwnedModel

SIGNALS = ("frustration", "confusion", "urgency", "gratitude", "churn_risk")


class MessageAnalysis(TenantOwnedModel):
    """The analyser's output for one message. Re-running replaces it (same message, same model)."""

    message = models.ForeignKey(
        "tickets.Message", on_delete=models.CASCADE, related_name="analyses"
    )
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="analyses")
    customer = models.ForeignKey(
        "tickets.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="analyses",
    )
    model_version = models.CharField(max_length=40)
    language = models.CharField(max_length=10, blank=True)
    is_supported_language = models.BooleanField(
        default=True, help_text="False: stored and marked, not scored."
    )
    sentiment_label = models.CharField(max_length=10, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    signals = models.JSONField(
        default=dict, blank=True, help_text='{"urgency": {"score": 0.8, "phrases": ["asap"]}}'
    )
    keywords = models.JSONField(default=list, blank=True, help_text="Normalised keyphrases.")
    message_created_at = models.DateTimeField(
        help_text="Copied from the message, for time-series queries."
    )
    analysed_at = models.DateTimeField()

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "message"], name="messageanalysis_message_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "message_created_at"], name="analysis_time_idx"),
            models.Index(
                fields=["tenant", "customer", "message_created_at"], name="analysis_customer_idx"
            ),
            models.Index(
                fields=["tenant", "sentiment_label", "message_created_at"],
                name="analysis_label_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sentiment_label} ({self.model_version}) for message {self.message_id}"


class AnalysisCorrection(TenantOwnedModel):
    """An agent's or manager's correction, kept beside the prediction (never overwriting it)."""

    message = models.ForeignKey(
        "tickets.Message", on_delete=models.CASCADE, related_name="corrections"
    )
    field = models.CharField(max_length=20, help_text="'sentiment' or a signal name.")
    predicted = models.CharField(max_length=20, blank=True)
    corrected = models.CharField(max_length=20)
    model_version = models.CharField(max_length=40, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "message", "field"], name="correction_uniq"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="correction_created_idx")]

    def __str__(self) -> str:
        return f"{self.field}: {self.predicted} -> {self.corrected}"


class TriageRule(TenantOwnedModel):
    """When an analysed message matches ``conditions``, apply ``actions`` (as timeline events).

    conditions: {"sentiment": "negative", "signals": ["urgency"], "min_score": 0.5}
    actions: {"set_priority": "high", "add_tags": ["needs-clarity"], "notify": "managers"}
    """

    name = models.CharField(max_length=100)
    conditions = models.JSONField(default=dict)
    actions = models.JSONField(default=dict)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=100)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="triagerule_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class AnalysisSettings(TenantOwnedModel):
    """Per-tenant analyser settings: extra stop words and product words left out of keywords."""

    stop_words = models.JSONField(default=list, blank=True)
    product_words = models.JSONField(default=list, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="analysissettings_tenant_uniq"),
        ]

    def __str__(self) -> str:
        return f"Analysis settings of tenant {self.tenant_id}"
