"""Reads: survey comments (CSAT comments, NPS reasons, help-page feedback) waiting for analysis.

A comment is waiting while its answer has a comment and neither an analysis
(``extra_answers["_analysis"]``) nor a given-up mark (``"_analysis_failed"``). Only answers of the
last ``SWEEP_WINDOW`` are looked at, so the sweep reads the time index, not the whole table.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet

from empathy_metrics.models import SurveyKind, SurveyResponse
from helpdesk.tenancy.models import Tenant

ANALYSIS_KEY = "_analysis"
ATTEMPTS_KEY = "_analysis_attempts"
FAILED_KEY = "_analysis_failed"
SWEEP_WINDOW = timedelta(days=30)
KINDS = (SurveyKind.CSAT, SurveyKind.NPS, SurveyKind.FEEDBACK)


def _waiting(
    queryset: QuerySet[SurveyResponse],
    *,
    before: datetime,
    window: timedelta | None = SWEEP_WINDOW,
) -> QuerySet[SurveyResponse]:
    queryset = queryset.filter(kind__in=KINDS, created_at__lte=before)
    if window is not None:
        queryset = queryset.filter(created_at__gte=before - window)
    return (
        queryset.exclude(comment="")
        .exclude(extra_answers__has_key=ANALYSIS_KEY)
        .exclude(extra_answers__has_key=FAILED_KEY)
    )


def survey_response_ids_unanalysed(
    *,
    tenant: Tenant,
    before: datetime,
    limit: int = 200,
    window: timedelta | None = SWEEP_WINDOW,
) -> list[int]:
    """Answers whose comment still waits for analysis, given before ``before`` (and within
    ``window`` of it; None: however old, for a backfilled history), oldest first."""
    return list(
        _waiting(SurveyResponse.objects.for_tenant(tenant), before=before, window=window)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def tenant_ids_with_unanalysed_comments(*, before: datetime) -> list[int]:
    """Inside ``system_context``: tenants with survey comments waiting since before ``before``."""
    return list(
        _waiting(SurveyResponse.objects.all(), before=before)
        .order_by()
        .values_list("tenant_id", flat=True)
        .distinct()
    )
