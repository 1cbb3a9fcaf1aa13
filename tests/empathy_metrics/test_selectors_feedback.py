"""Help-page feedback for managers: the dashboard block, the ``feedback`` drill, the CSV export
and the metrics API, each with exactly the feedback of the period and of the tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from empathy_metrics.models import SurveyKind
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import SurveyResponseFactory
from tests.empathy_metrics.test_pages_dashboard import csv_rows
from tests.factories.tickets import CustomerFactory

SENTINEL = "Globex feedback sentinel"


def analysed(label: str) -> dict:
    return {"_analysis": {"sentiment_label": label, "is_supported_language": True}}


@pytest.fixture
def feedback(tenant, other_tenant):
    now = timezone.now()
    ada = CustomerFactory(tenant=tenant, name="Ada Lovelace", email="ada@example.com")

    def give(owner, text, ago, customer=None, extra=None):
        return SurveyResponseFactory(
            tenant=owner,
            kind=SurveyKind.FEEDBACK,
            score=None,
            customer=customer,
            comment=text,
            extra_answers=extra or {},
            created_at=now - ago,
        )

    give(tenant, "The search never finds refunds", timedelta(days=2), ada, analysed("negative"))
    give(tenant, "Lovely new help articles", timedelta(days=3), extra=analysed("positive"))
    give(tenant, "Where is the API page?", timedelta(days=4), extra={"page": "/help/api"})
    give(tenant, "Long ago", timedelta(days=60))  # outside the 30 days
    give(other_tenant, SENTINEL, timedelta(days=1))
    return ada


def test_managers_see_the_feedback_on_the_dashboard_and_behind_its_count(
    client, tenant, member_factory, feedback
):
    client.force_login(member_factory(tenant, Role.MANAGER, "manager@acme.test"))
    page = client.get("/t/acme/dashboards/?period=30d")
    summary = page.context["data"]["feedback"]
    assert (summary["count"], summary["analysed"]) == (3, 2)
    assert summary["sentiment"] == {"negative": 1, "neutral": 0, "positive": 1}
    assert [item["text"] for item in summary["latest"]] == [
        "The search never finds refunds",
        "Lovely new help articles",
        "Where is the API page?",
    ]
    html = page.content.decode()
    assert "Feedback from the help page" in html and "3 pieces of feedback" in html
    assert "1 negative, 0 neutral, 1 positive" in html
    assert f"/t/acme/customers/{feedback.public_id}/" in html  # the customer behind a comment
    assert "Long ago" not in html and SENTINEL not in html

    drill = client.get("/t/acme/dashboards/drill/?period=30d&metric=feedback")
    assert drill.status_code == 200
    assert drill.context["page"].paginator.count == summary["count"]
    drill_html = drill.content.decode()
    assert "Where is the API page?" in drill_html and SENTINEL not in drill_html
    assert "3</strong> pieces of feedback" in drill_html
    # like NPS, feedback is about customers: a ticket filter changes nothing
    filtered = client.get("/t/acme/dashboards/drill/?period=30d&metric=feedback&channel=email")
    assert filtered.context["page"].paginator.count == 3

    rows = csv_rows(client.get("/t/acme/dashboards/export.csv?period=30d&table=feedback"))
    assert rows[0] == ["created_at", "feedback", "sentiment", "customer", "email", "page"]
    assert [row[1:] for row in rows[1:]] == [
        ["The search never finds refunds", "negative", "Ada Lovelace", "ada@example.com", ""],
        ["Lovely new help articles", "positive", "", "", ""],
        ["Where is the API page?", "", "", "", "/help/api"],
    ]
    drill_rows = csv_rows(
        client.get("/t/acme/dashboards/export.csv?period=30d&table=drill&metric=feedback")
    )
    assert len(drill_rows) == 1 + 3


def test_the_metrics_api_has_the_feedback(api_client_for, tenant, member_factory, feedback):
    client = api_client_for(member_factory(tenant, Role.MANAGER, "bi@acme.test"))
    body = client.get("/api/v1/t/acme/metrics/?period=30d").json()
    assert body["feedback"]["count"] == 3
    assert body["feedback"]["sentiment"] == {"negative": 1, "neutral": 0, "positive": 1}
    assert body["feedback"]["latest"][0]["customer"]["name"] == "Ada Lovelace"
    assert SENTINEL not in str(body)


def test_another_tenant_sees_only_its_own_feedback(
    client, api_client_for, other_tenant, other_admin, feedback
):
    client.force_login(other_admin)
    page = client.get("/t/globex/dashboards/?period=30d")
    assert page.context["data"]["feedback"]["count"] == 1
    assert SENTINEL in page.content.decode()
    assert "The search never finds refunds" not in page.content.decode()
    drill = client.get("/t/globex/dashboards/drill/?period=30d&metric=feedback")
    assert drill.context["page"].paginator.count == 1
    rows = csv_rows(client.get("/t/globex/dashboards/export.csv?period=30d&table=feedback"))
    assert [row[1] for row in rows[1:]] == [SENTINEL]
    body = api_client_for(other_admin).get("/api/v1/t/globex/metrics/?period=30d").json()
    assert body["feedback"]["count"] == 1 and "refunds" not in str(body)
    # and the other tenant's pages are not reachable at all
    assert client.get("/t/acme/dashboards/export.csv?period=30d&table=feedback").status_code == 404
