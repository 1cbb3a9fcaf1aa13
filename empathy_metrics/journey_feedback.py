"""Survey answers for the journeys' voice of the customer (journeys sits below this app).

``journeys`` cannot import the survey models, so this app registers a feedback source with it
(see ``journeys/feedback.py``) from ``EmpathyMetricsConfig.ready()``. The journeys panel places each
answer at the stage its customer was in when they answered, and each CSAT score under the stage
where the rated ticket was raised.
"""

from __future__ import annotations

from datetime import datetime

from empathy_metrics.models import SurveyResponse
from helpdesk.tenancy.models import Tenant
from journeys.feedback import FeedbackItem

MAX_ANSWERS = 50_000  # as the panel's caps on tickets and messages: the newest of a period


def survey_answers_for_journeys(
    *, tenant: Tenant, start: datetime, end: datetime
) -> list[FeedbackItem]:
    """Answers given in ``[start, end)`` by known customers, newest first."""
    rows = (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(created_at__gte=start, created_at__lt=end, customer__isnull=False)
        .order_by("-created_at")
        .values_list("customer_id", "created_at", "kind", "score", "comment", "ticket_id")
    )[:MAX_ANSWERS]
    return [
        FeedbackItem(
            customer_id=customer_id,
            at=at,
            kind=kind,
            score=score,
            comment=comment or "",
            ticket_id=ticket_id,
        )
        for customer_id, at, kind, score, comment, ticket_id in rows
    ]
