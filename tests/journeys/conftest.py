from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from journeys import services
from tests.factories.journeys import ONBOARDING, PURCHASE, journey_make


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def purchase(tenant):
    return journey_make(tenant, "Purchase", PURCHASE)


@pytest.fixture
def onboarding(tenant):
    return journey_make(tenant, "Onboarding", ONBOARDING)


@pytest.fixture
def ingest(tenant):
    """ingest([(customer_id, name, at), ...]) through the real service; returns the result."""
    counter = {"n": 0}

    def run(rows, target=None):
        events = []
        for row in rows:
            customer, name, at = row[:3]
            counter["n"] += 1
            event = {"id": f"e{counter['n']}", "name": name, "timestamp": at.isoformat()}
            if "@" in customer:
                event["email"] = customer
            else:
                event["customer_id"] = customer
            events.append(event)
        return services.events_ingest(tenant=target or tenant, events=events)

    return run


def ago(now, days=0, hours=0):
    return now - timedelta(days=days, hours=hours)
