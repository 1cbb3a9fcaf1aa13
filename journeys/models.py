"""Journeys: ordered stages matched by event names, the events customers send, and each customer's
derived position (runs through a journey and the stages they reached).

Events are the input (``JourneyEvent``, append-only, idempotent by ``event_id``). Runs and steps
are derived from them (see ``journeys/derive.py``) and are the pre-aggregation the funnels read:

- ``JourneyRun``: one pass of a customer through a journey: when they entered, the furthest stage
  reached and when, completion. A customer starts a new run when they hit the first stage again
  after completing the journey or after dropping out.
- ``JourneyStep``: one row per stage reached in a run (observed, or implied when a later stage was
  reached without it), with the time since the previous stage. A funnel is a GROUP BY over steps.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from helpdesk.tenancy.models import PublicIdMixin, Tenant, TenantOwnedModel, public_id_constraint

MAX_STAGES = 12


def tenant_key(**kwargs) -> models.ForeignKey:
    """The tenant of a table written at ingestion speed (events, runs, steps).

    Their composite foreign keys ``(tenant_id, x_id) -> x (tenant_id, id)`` (the row-level security
    migration) already prove that the tenant exists and that the row points into it, and every
    index of these tables starts with the tenant. So the single-column constraints Django would add
    are left out (``db_constraint=False``): each was one more check per row, about a third of
    PostgreSQL's cost of storing an event. The same goes for the tenant's own index.
    """
    return models.ForeignKey(
        Tenant,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        **kwargs,
    )


EVENT_NAME_MAX = 100
EVENT_ID_MAX = 100


class Journey(PublicIdMixin, TenantOwnedModel):
    """A path customers take (Onboarding, Purchase), as ordered stages."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive journeys keep their data but are not updated."
    )
    stuck_after_hours = models.PositiveIntegerField(
        default=72, help_text="Default: no progress for this long at a stage means stuck."
    )
    dropped_after_days = models.PositiveIntegerField(
        default=14,
        help_text="No progress for this long means dropped; the first stage then starts a new run.",
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Bumped when the stages change; positions are then recomputed."
    )
    rebuilt_version = models.PositiveIntegerField(
        default=0, help_text="The version the derived positions were last recomputed for."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("journey"),
            models.UniqueConstraint(fields=["tenant", "name"], name="journey_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_rebuilding(self) -> bool:
        return self.rebuilt_version < self.version


class JourneyStage(TenantOwnedModel):
    """One stage of a journey, reached when the customer sends any of ``event_names``."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField(help_text="0 is the entry stage.")
    name = models.CharField(max_length=80)
    event_names = models.JSONField(default=list)
    stuck_after_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the journey's default."
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["journey", "position"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "journey", "position"], name="journeystage_position_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.name}"


class JourneyEvent(TenantOwnedModel):
    """Something a customer did on the tenant's site or product (``track('Checkout started')``).

    Append-only; ``event_id`` makes ingestion idempotent (retries and duplicates are ignored).
    """

    tenant = tenant_key()
    # No index of its own: (tenant, customer, occurred_at) serves every lookup, and one index
    # less on the largest table is ~15% more ingestion. Deleting a customer scans the events.
    # Checked by the composite key (tenant, customer) only (see ``tenant_key``).
    customer = models.ForeignKey(
        "tickets.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    event_id = models.CharField(max_length=EVENT_ID_MAX)
    name = models.CharField(max_length=EVENT_NAME_MAX)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "event_id"], name="journeyevent_event_id_uniq"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "customer", "occurred_at"], name="journeyevent_customer_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} by customer {self.customer_id}"


class CustomerKey(TenantOwnedModel):
    """Which customer an external id sent with events belongs to.

    ``tickets.Customer.external_id`` has no index, so ingestion keeps its own unique map; it is
    filled the first time an external id is seen (then matched against the customers once).
    """

    external_id = models.CharField(max_length=100)
    customer = models.ForeignKey("tickets.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="customerkey_external_id_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} -> customer {self.customer_id}"


class JourneyRun(TenantOwnedModel):
    """One pass of a customer through a journey (derived from events; rewritten, never edited)."""

    tenant = tenant_key()
    # The composite indexes below (tenant first) serve the lookups by journey and by customer;
    # the composite keys (tenant, journey) and (tenant, customer) check them (see ``tenant_key``).
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        "tickets.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    number = models.PositiveIntegerField(default=1)
    is_latest = models.BooleanField(default=True)
    entered_at = models.DateTimeField()
    stage = models.PositiveSmallIntegerField(help_text="Furthest stage position reached.")
    stage_reached_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(
        help_text="Latest stage event applied; an older one arriving later means a recompute."
    )
    # The customer's segment keys, copied here so that the funnel's breakdowns by company, signup
    # month and tag read the runs alone (no join to the customers per run or step). They are the
    # customer's *current* values, as the breakdowns always showed: written with the run, and
    # rewritten on every run of the customer when ``customer_update`` changes their company or
    # tags (``journeys.services.runs_segment_refresh``). Migration 0004 filled the runs before.
    company = models.CharField(max_length=200, blank=True, default="")
    customer_since = models.DateTimeField(
        null=True, blank=True, help_text="The customer's created_at (signup month breakdown)."
    )
    tags = models.JSONField(default=list, blank=True)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "journey", "customer", "number"], name="journeyrun_number_uniq"
            ),
            models.UniqueConstraint(
                fields=["tenant", "journey", "customer"],
                condition=Q(is_latest=True),
                name="journeyrun_latest_uniq",
            ),
        ]
        indexes = [
            # Funnel "now" figures: every column the query reads, so PostgreSQL answers from the
            # index alone.
            models.Index(
                fields=["tenant", "journey", "entered_at", "stage", "stage_reached_at"],
                name="journeyrun_entered_idx",
            ),
            models.Index(
                fields=["tenant", "customer", "entered_at"], name="journeyrun_customer_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.number} of customer {self.customer_id} in journey {self.journey_id}"


class JourneyStep(TenantOwnedModel):
    """A stage reached in a run. ``observed`` is False when a later stage implied it."""

    tenant = tenant_key()
    # Keys checked by the composite keys (tenant, run), (tenant, journey), (tenant, customer)
    # (see ``tenant_key``). The run keeps its index: deleting runs deletes their steps by run id.
    run = models.ForeignKey(
        JourneyRun, on_delete=models.CASCADE, related_name="steps", db_constraint=False
    )
    # Served by the funnel index (tenant, journey, ...); with an index of its own the planner
    # prefers a bitmap scan of the whole journey over the index-only scan of the period.
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        "tickets.Customer",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    stage = models.PositiveSmallIntegerField()
    entered_at = models.DateTimeField(help_text="The run's entry time (funnels filter on it).")
    reached_at = models.DateTimeField()
    observed = models.BooleanField(default=True)
    seconds_from_previous = models.PositiveIntegerField(
        null=True, blank=True, help_text="Both this and the previous stage observed, else empty."
    )

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "run", "stage"], name="journeystep_uniq"),
        ]
        indexes = [
            # The funnel query reads only these columns: an index-only scan on PostgreSQL.
            models.Index(
                fields=[
                    "tenant",
                    "journey",
                    "entered_at",
                    "stage",
                    "reached_at",
                    "observed",
                    "seconds_from_previous",
                ],
                name="journeystep_funnel_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"stage {self.stage} of run {self.run_id}"
