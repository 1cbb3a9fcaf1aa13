"""Reads: the dashboard's breakdown by journey stage, from the journeys app's voice of the
customer (each ticket, message and survey answer placed at the stage its customer had reached
when they wrote; each CSAT under the stage where the rated ticket was raised).

Like NPS and retention this is about customers: the channel, group, agent and tag filters do not
apply. One table per journey (the first few by name); cached for a few minutes, since it reads
the period's tickets, messages and answers rather than the rollups.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError

from empathy_metrics.journey_feedback import MAX_ANSWERS
from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.periods import Period
from empathy_metrics.tally import share
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys.selectors.funnels import Period as JourneyPeriod
from journeys.selectors.funnels import journey_get, journey_list, journey_stages
from journeys.selectors.positions import RunIndex, stage_info
from journeys.selectors.voice import MAX_MESSAGES, MAX_TICKETS, journey_voice
from tickets.models import MessageAnalysis, Ticket

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
                "negative": stage.sentiment.get("negative", 0),
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


STAGE_FIGURES = ("tickets", "csat", "nps", "messages", "negative")


def journey_stage_items(
    *, tenant: Tenant, period: Period, journey_id: str, stage: int
) -> dict[str, list[int]] | None:
    """The ids behind one row of a journey-stage table (the drill-down of its cells): tickets
    raised, CSAT answers (of tickets raised there), NPS answers, analysed messages and the
    negative ones, placed exactly as ``journeys.selectors.voice.journey_voice`` places them
    (the customer's stage at the moment they wrote). None when the journey is not found."""
    with tenant_context(tenant):
        try:
            journey = journey_get(tenant=tenant, public_id=journey_id)
        except (ValueError, ValidationError):  # not a UUID
            journey = None
        if journey is None:
            return None
        stages = journey_stages(tenant=tenant, journey=journey)
        found: dict[str, list[int]] = {name: [] for name in STAGE_FIGURES}
        if not stages or not 0 <= stage < len(stages):
            return found
        start, end = period.start_at, period.end_at
        tickets = list(
            Ticket.objects.for_tenant(tenant)
            .filter(created_at__gte=start, created_at__lt=end, merged_into=None)
            .order_by("-created_at")
            .values_list("id", "customer_id", "created_at")[:MAX_TICKETS]
        )
        analyses = list(
            MessageAnalysis.objects.for_tenant(tenant)
            .filter(message_created_at__gte=start, message_created_at__lt=end)
            .filter(customer__isnull=False)
            .order_by("-message_created_at")
            .values_list("id", "customer_id", "message_created_at", "sentiment_label")[
                :MAX_MESSAGES
            ]
        )
        answers = list(
            SurveyResponse.objects.for_tenant(tenant)
            .filter(created_at__gte=start, created_at__lt=end, customer__isnull=False)
            .order_by("-created_at")
            .values_list("id", "kind", "customer_id", "created_at", "score", "ticket_id")[
                :MAX_ANSWERS
            ]
        )
        rated = {a[5] for a in answers if a[1] == SurveyKind.CSAT and a[5]}
        raised = {
            pk: (customer_id, created_at)
            for pk, customer_id, created_at in Ticket.objects.for_tenant(tenant)
            .filter(pk__in=rated)
            .values_list("id", "customer_id", "created_at")
        }
        customers = {t[1] for t in tickets} | {a[1] for a in analyses} | {a[2] for a in answers}
        customers |= {c for c, _at in raised.values()}
        customers.discard(None)
        runs = RunIndex.load(
            tenant=tenant,
            journey=journey,
            info=stage_info(journey, stages),
            customer_ids=customers,
        )

    def here(customer_id, at) -> bool:
        position = runs.position(customer_id, at)
        return position is not None and position.stage == stage

    found["tickets"] = [pk for pk, customer_id, at in tickets if here(customer_id, at)]
    for pk, customer_id, at, label in analyses:
        if here(customer_id, at):
            found["messages"].append(pk)
            if label == "negative":
                found["negative"].append(pk)
    for pk, kind, customer_id, at, score, ticket_id in answers:
        if score is None:
            continue
        if kind == SurveyKind.CSAT and ticket_id in raised and here(*raised[ticket_id]):
            found["csat"].append(pk)
        if kind == SurveyKind.NPS and here(customer_id, at):
            found["nps"].append(pk)
    return found
