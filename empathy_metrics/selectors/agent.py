"""Reads: an agent's own figures (CSAT, response and resolution times) and their comments."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.periods import Filters, Period
from empathy_metrics.selectors.dashboard import CARDS, change_of, trend_series
from empathy_metrics.selectors.rollup import backlog_on, tallies_for
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

AGENT_CARDS = ("csat", "frt", "resolution", "tickets", "backlog", "reopen_rate")
NO_RETENTION = {"value": None, "start_active": 0, "end_active": 0, "acquired": 0, "retained": 0}


def agent_metrics(
    *, tenant: Tenant, agent_id: int, period: Period, bucket_unit: str, now: datetime
) -> dict:
    """CSAT counts the answers credited to the agent; ticket figures count the tickets assigned
    to them (the agent dimension of the dashboard)."""
    filters = Filters(agent=agent_id)
    previous = period.previous()
    buckets = period.buckets(bucket_unit)
    slots = [(period.start, period.end), (previous.start, previous.end)]
    slots += [(bucket.start, bucket.end) for bucket in buckets]
    current_tally, previous_tally, *bucket_tallies = tallies_for(
        tenant=tenant, slots=slots, filters=filters, bags=False
    )
    backlogs = backlog_on(
        tenant=tenant,
        days=[period.end, previous.end, *(b.end for b in buckets)],
        filters=filters,
        now=now,
        tz=period.tz,
    )

    def figures(tally, day) -> dict:
        return {
            **tally.figures(keywords=0),
            "retention": NO_RETENTION,
            "backlog": {"value": backlogs[day]},
        }

    current = figures(current_tally, period.end)
    before = figures(previous_tally, previous.end)
    series = [
        figures(tally, bucket.end) for tally, bucket in zip(bucket_tallies, buckets, strict=True)
    ]
    cards = []
    for spec in CARDS:
        if spec.key not in AGENT_CARDS:
            continue
        value = spec.value(current)
        cards.append(
            {
                "key": spec.key,
                "label": "Assigned open tickets" if spec.key == "backlog" else spec.label,
                "unit": spec.unit,
                "value": value,
                "detail": spec.detail(current),
                "change": change_of(spec, value, spec.value(before)),
                "series": [spec.value(point) for point in series],
                "drill": spec.drill,
            }
        )
    trend = trend_series(buckets, series)
    trend["nps"] = [None] * len(buckets)  # NPS is about customers, not an agent's tickets
    trend["retention"] = [None] * len(buckets)
    return {
        "period": period,
        "previous": previous,
        "cards": cards,
        "figures": current,
        "trend": trend,
        "bucket_unit": bucket_unit,
    }


def agent_comments(*, tenant: Tenant, agent_id: int, period: Period) -> QuerySet[SurveyResponse]:
    """CSAT answers with a comment credited to the agent in the period, newest first."""
    with tenant_context(tenant):
        return (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(
                kind=SurveyKind.CSAT,
                agent_id=agent_id,
                created_at__gte=period.start_at,
                created_at__lt=period.end_at,
                score__isnull=False,
            )
            .exclude(comment="")
            .select_related("ticket", "customer")
            .order_by("-created_at", "-id")
        )
