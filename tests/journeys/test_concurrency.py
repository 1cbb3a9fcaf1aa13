"""Two batches for the same customers at the same time (two web workers): the customers' locks
make them apply one after the other, so positions equal a recompute from all events, and an
unknown customer is created once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from journeys import services
from journeys.derive import derive_runs
from journeys.models import JourneyEvent, JourneyRun
from journeys.services.progress import active_rules
from tests.factories.journeys import journey_make
from tests.factories.tenancy import TenantFactory
from tickets.models import Customer

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_concurrent_batches_for_the_same_customers_keep_positions_exact():
    tenant = TenantFactory(slug="race", reference_prefix="RACE")
    journey_make(tenant)
    now = timezone.now()
    names = ["Cart viewed", "Checkout started", "Payment started", "Order confirmed"]
    batches = [[], []]
    for customer in range(20):
        for step, name in enumerate(names):
            # Worker 0 gets the even steps, worker 1 the odd ones: each customer is in both.
            batches[step % 2].append(
                {
                    "id": f"{customer}-{step}",
                    "name": name,
                    "customer_id": f"new-{customer}",  # unknown: both batches create them
                    "timestamp": (now - timedelta(hours=10 - step)).isoformat(),
                }
            )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(batch):
        try:
            barrier.wait()
            for _ in range(3):  # repeats are ignored
                services.events_ingest(tenant=tenant, events=batch)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with tenant_context(tenant):
        assert Customer.objects.for_tenant(tenant).count() == 20
        assert JourneyEvent.objects.for_tenant(tenant).count() == 80
        rules = next(iter(active_rules(tenant=tenant).values()))
        for customer in Customer.objects.for_tenant(tenant):
            events = list(
                JourneyEvent.objects.for_tenant(tenant)
                .filter(customer=customer)
                .values_list("occurred_at", "name")
            )
            expected = [(r.number, r.stage, r.completed_at) for r in derive_runs(rules, events)]
            stored = list(
                JourneyRun.objects.for_tenant(tenant)
                .filter(customer=customer)
                .values_list("number", "stage", "completed_at")
            )
            assert stored == expected == [(1, 3, now - timedelta(hours=7))]
