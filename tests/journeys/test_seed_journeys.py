"""The demo seed: journeys and events for the demo tenants, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys import selectors
from journeys.models import JourneyEvent, JourneyRun


@pytest.fixture
def demo(db):
    call_command("seed_demo", customers=10, tickets=30, no_progress=True, stdout=StringIO())


def test_seed_journeys_creates_journeys_and_events_and_a_second_run_adds_nothing(
    demo, django_capture_on_commit_callbacks
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_journeys", site_users=40, no_progress=True, stdout=out)
    assert "acme:" in out.getvalue() and "globex:" in out.getvalue()
    tenant = Tenant.objects.get(slug="acme")
    with tenant_context(tenant):
        journeys = {j.name: j for j in selectors.journey_list(tenant=tenant)}
        assert set(journeys) == {"Onboarding", "Purchase"}
        events = JourneyEvent.objects.for_tenant(tenant).count()
        assert events > 200
        assert JourneyRun.objects.for_tenant(tenant).filter(journey=journeys["Purchase"]).exists()
        funnel = selectors.journey_funnel(
            tenant=tenant,
            journey=journeys["Onboarding"],
            period=selectors.period_last_days(days=60),
        )
        assert funnel.entered > 20
        assert funnel.stages[1].reached < funnel.entered
    again = StringIO()
    call_command("seed_journeys", site_users=40, no_progress=True, stdout=again)
    assert "already seeded" in again.getvalue()
    with tenant_context(tenant):
        assert JourneyEvent.objects.for_tenant(tenant).count() == events


def test_seed_journeys_skips_missing_tenants(db):
    out = StringIO()
    call_command("seed_journeys", tenants="nowhere", no_progress=True, stdout=out)
    assert "nowhere: no such tenant" in out.getvalue()


def test_the_demo_seed_runs_seed_journeys_after_seed_demo():
    """`make demo` (through `make seed`) gives the demo its journeys."""
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    target = makefile.split("\nseed:", 1)[1].split("\n\n", 1)[0]
    commands = [line.strip() for line in target.splitlines()[1:] if line.startswith("\t")]
    assert commands == [
        "$(BIN)/python manage.py seed_demo",
        "$(BIN)/python manage.py seed_journeys",
    ]
