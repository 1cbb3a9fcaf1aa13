"""Service-level agreements: targets in business minutes, chosen per ticket."""

from __future__ import annotations

from django.db import models

from helpdesk.tenancy.models import TenantOwnedModel


class SlaPolicy(TenantOwnedModel):
    """Targets for tickets of a priority, optionally only for a company or a customer tag.

    The most specific active policy wins (company or tag match before priority only); ties go to the
    lowest ``position``. Targets are in business minutes of the tenant's calendar.
    """

    name = models.CharField(max_length=100)
    priority = models.CharField(
        max_length=10,
        blank=True,
        help_text="Empty: any priority.",
        choices=[
            ("", "Any"),
            ("low", "Low"),
            ("normal", "Normal"),
            ("high", "High"),
            ("urgent", "Urgent"),
        ],
    )
    match_company = models.CharField(
        max_length=200, blank=True, help_text="Only this customer company."
    )
    match_tag = models.CharField(
        max_length=50, blank=True, help_text="Only customers with this tag."
    )
    first_response_minutes = models.PositiveIntegerField()
    next_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="slapolicy_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return (
            (2 if self.match_company else 0)
            + (2 if self.match_tag else 0)
            + (1 if self.priority else 0)
        )
