"""Reads of the journeys app: funnels, breakdowns, voice of the customer, insights, positions."""

from journeys.selectors.events import event_list, event_names_recent
from journeys.selectors.funnels import (
    BREAKDOWNS,
    Breakdown,
    Funnel,
    FunnelStage,
    Period,
    journey_breakdown,
    journey_funnel,
    journey_get,
    journey_headlines,
    journey_list,
    journey_stages,
    period_between,
    period_last_days,
)
from journeys.selectors.insights import Insight, journey_insights
from journeys.selectors.positions import JourneyPosition, journey_positions_for_customer
from journeys.selectors.voice import StageVoice, Voice, journey_voice

__all__ = [
    "BREAKDOWNS",
    "Breakdown",
    "Funnel",
    "FunnelStage",
    "Insight",
    "JourneyPosition",
    "Period",
    "StageVoice",
    "Voice",
    "event_list",
    "event_names_recent",
    "journey_breakdown",
    "journey_funnel",
    "journey_get",
    "journey_headlines",
    "journey_insights",
    "journey_list",
    "journey_positions_for_customer",
    "journey_stages",
    "journey_voice",
    "period_between",
    "period_last_days",
]
