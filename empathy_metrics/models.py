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


# --- Metrics rollups (maintained by Celery beat, rebuilt by `manage.py metrics_rebuild`) ---------
#
# A rollup row holds the figures of one tenant-local day for one "grouping set" of dimensions:
# ``gset`` is a bitmask of the dimensions that the row is specific to (1 channel, 2 group,
# 4 agent, 8 tag); the other dimensions hold their "all" marker (channel "*", keys -1). Rows of
# the set 0 are the day's totals. See empathy_metrics/rollups.py for the definitions.

ALL_CHANNELS = "*"
ALL_KEYS = -1


class MetricsRollup(TenantOwnedModel):
    """One tenant-local day (or week, or month) of figures for one combination of channel,
    group, agent and tag. Week and month rows are the sums of their day rows."""

    class Unit(models.TextChoices):
        DAY = "day", "Day"
        WEEK = "week", "Week (Monday to Sunday)"
        MONTH = "month", "Calendar month"

    unit = models.CharField(max_length=5, choices=Unit.choices, default=Unit.DAY)
    day = models.DateField(help_text="The day; the Monday of a week; the 1st of a month.")
    gset = models.PositiveSmallIntegerField(
        help_text="Bitmask: 1 channel, 2 group, 4 agent, 8 tag."
    )
    channel = models.CharField(max_length=10, default=ALL_CHANNELS)
    group_key = models.BigIntegerField(default=ALL_KEYS, help_text="-1 all, 0 none, else group id.")
    agent_key = models.BigIntegerField(default=ALL_KEYS, help_text="-1 all, 0 none, else user id.")
    tag_key = models.BigIntegerField(default=ALL_KEYS, help_text="-1 all, else tag id.")
    # Tickets created on the day (a cohort: every ticket figure is counted on its creation day).
    tickets = models.PositiveIntegerField(default=0)
    repeats = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    solved_ever = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    sla_attained = models.PositiveIntegerField(default=0)
    sla_missed = models.PositiveIntegerField(default=0)
    frt_count = models.PositiveIntegerField(default=0)
    frt_steps = models.BinaryField(
        default=b"", help_text="First response times: (step, tickets) pairs, uint32 LE."
    )
    res_count = models.PositiveIntegerField(default=0)
    res_steps = models.BinaryField(
        default=b"", help_text="Resolution times: (step, tickets) pairs, uint32 LE."
    )
    # CSAT answers given on the day.
    csat_count = models.PositiveIntegerField(default=0)
    csat_satisfied = models.PositiveIntegerField(default=0)
    csat_score_sum = models.PositiveIntegerField(default=0)
    # NPS answers given on the day (rows of the set 0 only: NPS is about customers, not tickets).
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_passives = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    # Analysed customer messages written on the day.
    msg_count = models.PositiveIntegerField(default=0)
    msg_negative = models.PositiveIntegerField(default=0)
    msg_neutral = models.PositiveIntegerField(default=0)
    msg_positive = models.PositiveIntegerField(default=0)
    msg_scored = models.PositiveIntegerField(default=0)
    msg_score_micros = models.BigIntegerField(
        default=0, help_text="Sum of sentiment scores in millionths (exact sums)."
    )
    signals = models.JSONField(default=dict, help_text="{signal: messages}")
    keywords = models.JSONField(default=dict, help_text="{keyword: messages}")
    computed_at = models.DateTimeField()

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=[
                    "tenant",
                    "unit",
                    "day",
                    "gset",
                    "channel",
                    "group_key",
                    "agent_key",
                    "tag_key",
                ],
                name="metricsrollup_unit_key_uniq",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "gset", "unit", "day"], name="metricsrollup_unit_day_idx"
            )
        ]

    def __str__(self) -> str:
        return f"rollup {self.unit} {self.day} set {self.gset}"


class BacklogSnapshot(TenantOwnedModel):
    """Open tickets at the last snapshot of a tenant-local day (the day's end once it is over)."""

    day = models.DateField()
    gset = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=10, default=ALL_CHANNELS)
    group_key = models.BigIntegerField(default=ALL_KEYS)
    agent_key = models.BigIntegerField(default=ALL_KEYS)
    tag_key = models.BigIntegerField(default=ALL_KEYS)
    open_tickets = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField()

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "day", "gset", "channel", "group_key", "agent_key", "tag_key"],
                name="backlogsnapshot_key_uniq",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "gset", "day"], name="backlog_gset_day_idx")]

    def __str__(self) -> str:
        return f"backlog {self.day}: {self.open_tickets}"


class CustomerActivitySpan(TenantOwnedModel):
    """Days on which a customer counts as active (retention): each contact makes the customer
    active from its local day for ``SurveySettings.active_days`` days; overlapping ranges merge."""

    customer = models.ForeignKey("tickets.Customer", on_delete=models.CASCADE, related_name="+")
    start_day = models.DateField()
    end_day = models.DateField()
    acquired_day = models.DateField(help_text="Local day the customer was created.")

    class Meta(TenantOwnedModel.Meta):
        indexes = [
            models.Index(fields=["tenant", "customer"], name="activityspan_customer_idx"),
            models.Index(fields=["tenant", "acquired_day"], name="activityspan_acquired_idx"),
            models.Index(fields=["tenant", "end_day", "start_day"], name="activityspan_end_idx"),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} active {self.start_day}..{self.end_day}"


class RetentionDaily(TenantOwnedModel):
    """Customers active at the end of a tenant-local day."""

    day = models.DateField()
    active = models.PositiveIntegerField(default=0)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "day"], name="retentiondaily_day_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.active} active"


class RollupState(TenantOwnedModel):
    """Where the incremental rollup of a tenant stopped: the last id seen per source table."""

    watermarks = models.JSONField(default=dict, blank=True)
    active_days = models.PositiveSmallIntegerField(
        default=0, help_text="SurveySettings.active_days the spans were built with."
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text="Zone the days are in.")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_rebuild_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="rollupstate_tenant_uniq"),
        ]

    def __str__(self) -> str:
        return f"rollup state of tenant {self.tenant_id}"


class DigestSubscription(TenantOwnedModel):
    """A manager's or observer's choice to get the weekly digest email (opt-in)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weekly = models.BooleanField(default=True)
    last_sent_week = models.DateField(
        null=True, blank=True, help_text="Monday of the last week whose digest was sent."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "user"], name="digestsubscription_user_uniq"),
        ]

    def __str__(self) -> str:
        return f"digest for user {self.user_id}: {'on' if self.weekly else 'off'}"
