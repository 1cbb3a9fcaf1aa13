"""Journeys for tests, made through the real services (stages, rebuild on commit)."""

from __future__ import annotations

from journeys import services
from journeys.services import StageSpec

PURCHASE = [
    ("Cart", ["Cart viewed"]),
    ("Checkout", ["Checkout started"]),
    ("Payment", ["Payment started"]),
    ("Confirmation", ["Order confirmed"]),
]
ONBOARDING = [
    ("Sign-up", ["Signed up"]),
    ("Verify email", ["Email verified"]),
    ("Set up profile", ["Profile completed"]),
    ("First project", ["Project created"]),
]


def journey_make(tenant, name="Purchase", stages=None, actor=None, **fields):
    stages = PURCHASE if stages is None else stages
    return services.journey_create(
        tenant=tenant,
        actor=actor,
        name=name,
        stages=[StageSpec(stage, tuple(events)) for stage, events in stages],
        **fields,
    )
