"""Tenant isolation of the exports and the digest email that the route walk does not cover:
``table=journeys``, ``table=questions`` and ``table=feedback``, and the weekly digest email
(its themes, signals, examples and journey drop-off) of a tenant next to one full of sentinels."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core import mail
from django.utils import timezone

from empathy_metrics.models import SurveyKind
from empathy_metrics.periods import local_day, week_start, zone
from empathy_metrics.services_digest import digest_send_due, digest_subscription_set
from tests.empathy_metrics.factories import SurveyResponseFactory
from tests.empathy_metrics.test_pages_dashboard import (  # noqa: F401 (fixtures)
    SENTINEL,
    body_of,
    globex_world,
    world,
)
from tests.factories.journeys import journey_make


def test_the_journeys_questions_and_feedback_exports_and_the_digest_email_stay_in_the_tenant(
    client,
    tenant,
    other_tenant,
    member_factory,
    world,  # noqa: F811
    globex_world,  # noqa: F811
):
    from helpdesk.tenancy.policy import Role

    journey_make(tenant, "Purchase")
    journey_make(other_tenant, SENTINEL)
    SurveyResponseFactory(
        tenant=other_tenant, kind=SurveyKind.FEEDBACK, score=None, comment=SENTINEL
    )
    manager = member_factory(tenant, Role.MANAGER, "manager@acme.test")
    client.force_login(manager)
    for table in ("journeys", "questions", "feedback"):
        response = client.get(f"/t/acme/dashboards/export.csv?period=30d&table={table}")
        assert response.status_code == 200, table
        body = body_of(response)
        assert SENTINEL not in body and SENTINEL.lower() not in body.lower(), table
    journeys = body_of(client.get("/t/acme/dashboards/export.csv?period=30d&table=journeys"))
    assert "Purchase" in journeys  # Acme's own journey is there

    # The digest email of each week that holds Globex's sentinel data.
    digest_subscription_set(tenant=tenant, user=manager, weekly=True)
    tz = zone(tenant.time_zone)
    now = timezone.now()
    mondays = {week_start(local_day(now - timedelta(days=d), tz)) for d in (0, 1)}
    for monday in sorted(mondays):
        send_at = datetime.combine(monday + timedelta(days=7), time(9), tzinfo=tz)
        assert digest_send_due(tenant=tenant, now=send_at) == 1
    assert len(mail.outbox) == len(mondays)
    for message in mail.outbox:
        html = message.alternatives[0][0]
        for text in (message.subject, message.body, html):
            assert SENTINEL not in text and SENTINEL.lower() not in text.lower()
    # the email does carry Acme's own week (its confusion example), so the check means something
    assert any("export button" in m.body for m in mail.outbox)
