"""Reads of the raw events: the latest ones (to check a site's tracking works) and their names."""

from __future__ import annotations

from collections import Counter

from django.db.models import QuerySet

from helpdesk.tenancy.models import Tenant
from journeys.models import JourneyEvent

RECENT_SAMPLE = 5000


def event_list(*, tenant: Tenant) -> QuerySet[JourneyEvent]:
    """Newest first (by arrival): served by the (tenant, id) index."""
    return JourneyEvent.objects.for_tenant(tenant).select_related("customer").order_by("-id")


def event_names_recent(*, tenant: Tenant, sample: int = RECENT_SAMPLE) -> list[tuple[str, int]]:
    """Event names among the latest ``sample`` events, most frequent first (editor hints)."""
    names = (
        JourneyEvent.objects.for_tenant(tenant).order_by("-id").values_list("name", flat=True)
    )[:sample]
    return Counter(names).most_common(40)
