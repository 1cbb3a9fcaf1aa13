"""Survey answers for the journeys' voice of the customer (journeys sits below this app).

``journeys`` cannot import the survey models, so this app registers a feedback source with it
(see ``journeys/feedback.py``) from ``EmpathyMetricsConfig.ready()``. The journeys panel places each
answer at the stage its customer was in when they answered, and each CSAT score under the stage
where the rated ticket was raised. The analysis of an answer's comment
(``extra_answers["_analysis"]``, written by ``survey_response_analyse``) goes with it, so survey
comments count in the stage's sentiment mix, signals and keywords.
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
        .values_list(
            "customer_id", "created_at", "kind", "score", "comment", "ticket_id", "extra_answers"
        )
    )[:MAX_ANSWERS]
    items = []
    for customer_id, at, kind, score, comment, ticket_id, extra in rows:
        analysis = _analysis_of(extra)
        keywords = analysis.get("keywords")
        score_of_text = analysis.get("sentiment_score")
        items.append(
            FeedbackItem(
                customer_id=customer_id,
                at=at,
                kind=kind,
                score=score,
                comment=comment or "",
                ticket_id=ticket_id,
                sentiment_label=str(analysis.get("sentiment_label") or ""),
                sentiment_score=(
                    float(score_of_text) if isinstance(score_of_text, int | float) else None
                ),
                signals=analysis.get("signals") or (),
                keywords=tuple(k for k in keywords if isinstance(k, str))
                if isinstance(keywords, list)
                else (),
            )
        )
    return items


def _analysis_of(extra_answers) -> dict:
    """The stored analysis of an answer's comment (see ``survey_response_analyse``), or {}."""
    if not isinstance(extra_answers, dict):
        return {}
    analysis = extra_answers.get("_analysis")
    return analysis if isinstance(analysis, dict) else {}
