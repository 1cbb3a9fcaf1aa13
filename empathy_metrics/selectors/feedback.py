"""Reads: the free-form feedback left on the help page, for managers.

Feedback has no score and no ticket; like NPS it is about customers, so the channel, group, agent
and tag filters do not apply. The dashboard shows how many came in during the period, the
sentiment mix of those whose text was analysed (``extra_answers["_analysis"]``, written by the
survey comment analysis), and the latest few; the ``feedback`` drill lists every one of them.
"""

from __future__ import annotations

from django.db.models import QuerySet

from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.periods import Period
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

LATEST = 5
SENTIMENTS = ("negative", "neutral", "positive")


def feedback_responses(*, tenant: Tenant, period: Period) -> QuerySet[SurveyResponse]:
    """The feedback given in the period, newest first (the rows of the ``feedback`` drill)."""
    return (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(
            kind=SurveyKind.FEEDBACK,
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
        )
        .select_related("customer", "ticket", "agent")
        .order_by("-created_at", "-id")
    )


def feedback_sentiment(extra_answers) -> str:
    """The analysed sentiment of a feedback text ("" when not analysed or not scored)."""
    found = extra_answers.get("_analysis") if isinstance(extra_answers, dict) else None
    if not isinstance(found, dict) or not found.get("is_supported_language", True):
        return ""
    label = found.get("sentiment_label") or ""
    return label if label in SENTIMENTS else ""


def feedback_summary(*, tenant: Tenant, period: Period, latest: int = LATEST) -> dict:
    """``{"count", "analysed", "sentiment": {label: n} or None, "latest": [...]}``."""
    with tenant_context(tenant):
        rows = feedback_responses(tenant=tenant, period=period)
        mix = dict.fromkeys(SENTIMENTS, 0)
        count = 0
        for extra in rows.values_list("extra_answers", flat=True).iterator(chunk_size=2000):
            count += 1
            label = feedback_sentiment(extra)
            if label:
                mix[label] += 1
        newest = list(rows[:latest]) if count else []
    analysed = sum(mix.values())
    return {
        "count": count,
        "analysed": analysed,
        "sentiment": mix if analysed else None,
        "latest": [
            {
                "id": r.pk,
                "text": r.comment,
                "at": r.created_at,
                "page": (r.extra_answers or {}).get("page", ""),
                "sentiment": feedback_sentiment(r.extra_answers),
                "customer": None
                if r.customer is None
                else {
                    "name": r.customer.name or r.customer.email,
                    "public_id": str(r.customer.public_id),
                },
            }
            for r in newest
        ],
    }
