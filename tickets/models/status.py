"""Customer-facing links: the live status page of a ticket."""

from __future__ import annotations

from django.db import models


class StatusLink(models.Model):
    """Routes an unguessable token to (tenant, ticket). Global: it is read before any tenant scope
    exists, and holds nothing but ids and the token (on the registry allowlist). Rotating a link
    revokes the old row and creates a new one."""

    token = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+")
    ticket_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "ticket_id"], name="statuslink_ticket_idx")]

    def __str__(self) -> str:
        return f"status link of ticket {self.ticket_id}"
