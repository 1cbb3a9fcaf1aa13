"""Reads: the dashboard's breakdown by journey stage, from the journeys app's voice of the
customer (each ticket, message and survey answer placed at the stage its customer had reached
when they wrote; each CSAT under the stage where the rated ticket was raised).

Like NPS and retention this is about customers: the channel, group, agent and tag filters do not
apply. One table per journey (the first few by name); cached for a few minutes, since it reads
the period's tickets, messages and answers rather than the rollups.
"""

from __future__ import annotations

from django.core.cache import cache

from empathy_metrics.periods import Period
from empathy_metrics.tally import share
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys.selectors.funnels import Period as JourneyPeriod
from journeys.selectors.funnels import journey_list
from journeys.selectors.voice import journey_voice

MAX_JOURNEYS = 3
CACHE_SECONDS = 300


def _rows_of(voice) -> list[dict]:
    rows = []
    for stage in voice.stages:
        rows.append(
            {
                "label": f"{stage.position + 1}. {stage.name}",
                "value": stage.position,
                "tickets": stage.tickets,
                "csat": {
                    "value": share(stage.csat_satisfied, stage.csat_count),
                    "count": stage.csat_count,
                },
                "nps": {"value": stage.nps_score, "count": stage.nps_count},
                "messages": stage.messages,
                "negative_share": None
                if stage.negative_share is None
                else stage.negative_share * 100,
                "surveys": stage.surveys,
            }
        )
    return rows


def journey_stage_breakdowns(*, tenant: Tenant, period: Period) -> list[dict]:
    """``[{"journey", "public_id", "rows"}]`` for the tenant's journeys (none: an empty list)."""
    key = f"metrics:journey-stages:{tenant.pk}:{period.start}:{period.end}"
    found = cache.get(key)
    if found is not None:
        return found
    found = []
    with tenant_context(tenant):
        journeys = journey_list(tenant=tenant)[:MAX_JOURNEYS]
        window = JourneyPeriod(period.start_at, period.end_at, period.label())
        for journey in journeys:
            voice = journey_voice(tenant=tenant, journey=journey, period=window)
            found.append(
                {
                    "journey": journey.name,
                    "public_id": str(journey.public_id),
                    "rows": _rows_of(voice),
                    "outside": voice.outside,
                    "truncated": voice.truncated,
                }
            )
    cache.set(key, found, CACHE_SECONDS)
    return found
