"""Customer feedback: CSAT after each resolution, NPS on a schedule, free-form feedback."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from helpdesk.tenancy.models import PublicIdMixin, TenantOwnedModel, public_id_constraint


class SurveyKind(models.TextChoices):
    CSAT = "csat", "CSAT"
    NPS = "nps", "NPS"
    FEEDBACK = "feedback", "Free-form feedback"


class SurveySettings(TenantOwnedModel):
    """How a tenant asks for feedback. One row per tenant (created with defaults on first use)."""

    class Scale(models.TextChoices):
        NUMBERS = "numbers", "Numbers"
        STARS = "stars", "Stars"
        FACES = "faces", "Faces"

    csat_question = models.CharField(
        max_length=200, default="How satisfied are you with the help you received?"
    )
    csat_scale = models.CharField(max_length=10, choices=Scale.choices, default=Scale.NUMBERS)
    csat_auto_send = models.BooleanField(default=True, help_text="Off: agents send CSAT by hand.")
    nps_question = models.CharField(
        max_length=200, default="How likely are you to recommend us to a friend or colleague?"
    )
    nps_first_after_days = models.PositiveSmallIntegerField(default=30)
    nps_interval_days = models.PositiveSmallIntegerField(default=90)
    reminder_after_hours = models.PositiveSmallIntegerField(null=True, blank=True, default=48)
    extra_questions = models.JSONField(
        default=list,
        blank=True,
        help_text='Up to 3: [{"id": "q1", "text": "...", "kind": "rating"|"text"}]',
    )
    active_days = models.PositiveSmallIntegerField(
        default=90, help_text="Retention: a customer is active with any contact in the last N days."
    )

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="surveysettings_tenant_uniq"),
        ]

    def __str__(self) -> str:
        return f"Survey settings of tenant {self.tenant_id}"


class SurveyRequest(PublicIdMixin, TenantOwnedModel):
    """A survey we asked a customer (by email link or on the status page)."""

    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    customer = models.ForeignKey("tickets.Customer", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    resolution = models.PositiveSmallIntegerField(
        default=0, help_text="CSAT: which resolution of the ticket."
    )
    sent_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("surveyrequest"),
            models.UniqueConstraint(
                fields=["tenant", "ticket", "resolution"],
                condition=Q(kind="csat"),
                name="surveyrequest_csat_once_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "sent_at"], name="surveyrequest_sent_idx"),
            models.Index(
                fields=["tenant", "customer", "kind", "sent_at"], name="surveyrequest_customer_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} request to customer {self.customer_id}"


class SurveyResponse(TenantOwnedModel):
    """An answer. CSAT: 1-5, once per ticket resolution. NPS: 0-10. Feedback: text only."""

    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    request = models.ForeignKey(
        SurveyRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        "tickets.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.PositiveSmallIntegerField(default=0)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    extra_answers = models.JSONField(default=dict, blank=True)
    channel = models.CharField(
        max_length=20, default="status_page", help_text="status_page, email or help_page"
    )
    created_at = models.DateTimeField()

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "ticket", "resolution"],
                condition=Q(kind="csat"),
                name="surveyresponse_csat_once_uniq",
            ),
            models.CheckConstraint(
                condition=Q(kind="feedback") | Q(score__isnull=False), name="surveyresponse_scored"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "created_at"], name="surveyresponse_time_idx"),
            models.Index(
                fields=["tenant", "agent", "kind", "created_at"], name="surveyresponse_agent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} from customer {self.customer_id}"
