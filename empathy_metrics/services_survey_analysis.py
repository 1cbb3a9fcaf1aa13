"""Writes: the analysis of survey comments (CSAT comments, NPS reasons, help-page feedback).

The same pipeline as customer messages (``tickets.services.analysis``, ``tickets.tasks.analysis``):

- the answer is stored first; after commit, ``survey_analysis_enqueue`` queues
  ``empathy_metrics.survey_response_analyse``, an ``AnalysisTask`` (the "analysis" queue, acks
  late, retried with exponential backoff after a failed attempt);
- the message analyser reads the comment with the tenant's stop words and product words; the
  result is kept with the answer, in ``extra_answers["_analysis"]`` (label, score, signals,
  keywords, language, model version). Analysing again changes nothing unless forced;
- a failed attempt is counted (``"_analysis_attempts"``); after ``MAX_ATTEMPTS`` the comment is
  given up on (``"_analysis_failed"``), as a message is;
- nothing is lost when the broker or the worker is down: the periodic sweeper
  (``survey_comments_analyse_pending``) analyses comments still waiting after
  ``HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from empathy_metrics.models import SurveyResponse
from empathy_metrics.selectors.survey_analysis import (
    ANALYSIS_KEY,
    ATTEMPTS_KEY,
    FAILED_KEY,
    survey_response_ids_unanalysed,
)
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.services.analysis import (
    MAX_ATTEMPTS,
    analysis_is_deferred,
    analysis_settings_words,
)

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 200


def survey_analysis_enqueue(*, tenant: Tenant, response: SurveyResponse) -> None:
    """After commit, queue the analysis of an answer's comment (a broker outage only logs: the
    comment waits for the sweeper). Nothing inside ``analysis_deferred()`` (bulk seeding)."""
    if not (response.comment or "").strip() or analysis_is_deferred():
        return
    from empathy_metrics.tasks import survey_response_analyse_task  # tasks import services

    survey_response_analyse_task.delay_on_commit(tenant.pk, response.pk)


def survey_analysis_forget(extra_answers: dict) -> dict:
    """The answer's extra answers without its comment's analysis (the comment changed)."""
    return {
        k: v
        for k, v in (extra_answers or {}).items()
        if k not in (ANALYSIS_KEY, ATTEMPTS_KEY, FAILED_KEY)
    }


def _analyser():
    from tickets.analysis import get_analyser

    return get_analyser()


def survey_response_analyse(
    *, tenant: Tenant, response_id: int, analyser=None, force: bool = False
) -> bool:
    """Run the message analyser on an answer's comment and keep the result with the answer.

    False when there is nothing to do: no such answer, no comment, already analysed (unless
    ``force``), or another worker holds it (PostgreSQL, SKIP LOCKED)."""
    with tenant_context(tenant):
        queryset = SurveyResponse.objects.for_tenant(tenant).filter(pk=response_id)
        if connection.vendor == "postgresql":
            queryset = queryset.select_for_update(skip_locked=True)
        response = queryset.first()
        if response is None or not response.comment.strip():
            return False
        extra = dict(response.extra_answers or {})
        if ANALYSIS_KEY in extra and not force:
            return False
        stop_words, product_words = analysis_settings_words(tenant=tenant)
        result = (analyser or _analyser()).analyse(
            response.comment, stop_words=stop_words, product_words=product_words
        )
        extra = survey_analysis_forget(extra)
        extra[ANALYSIS_KEY] = {
            "model_version": result.model_version,
            "language": result.language,
            "is_supported_language": getattr(result, "is_supported_language", True),
            "sentiment_label": result.sentiment_label,
            "sentiment_score": result.sentiment_score,
            "signals": result.signals,
            "keywords": result.keywords,
        }
        response.extra_answers = extra
        response.save(update_fields=["extra_answers"])
    return True


def survey_response_analysis_failed(*, tenant: Tenant, response_id: int, error: str) -> int:
    """Count a failed attempt; after ``MAX_ATTEMPTS`` the comment is given up on (not swept
    again). Returns the attempts so far."""
    with tenant_context(tenant):
        response = (
            SurveyResponse.objects.for_tenant(tenant)
            .select_for_update()
            .filter(pk=response_id)
            .first()
        )
        if response is None or ANALYSIS_KEY in (response.extra_answers or {}):
            return 0
        extra = dict(response.extra_answers or {})
        attempts = int(extra.get(ATTEMPTS_KEY) or 0) + 1
        extra[ATTEMPTS_KEY] = attempts
        if attempts >= MAX_ATTEMPTS:
            extra[FAILED_KEY] = True
            logger.error("analysis of survey answer %s failed for good: %s", response_id, error)
        response.extra_answers = extra
        response.save(update_fields=["extra_answers"])
    return attempts


@dataclass
class CommentOutcome:
    analysed: int = 0
    error: str | None = None


def survey_comments_analyse(
    *, tenant: Tenant, response_ids: list[int], analyser=None
) -> CommentOutcome:
    """Analyse answers' comments one by one, each in its own savepoint: a comment the analyser
    cannot read has its attempt counted and does not stop the others (the outcome carries the
    last error, so that a task retries)."""
    outcome = CommentOutcome()
    for response_id in response_ids:
        try:
            with transaction.atomic():
                done = survey_response_analyse(
                    tenant=tenant, response_id=response_id, analyser=analyser
                )
        except Exception as exc:
            logger.exception("analysis failed for tenant %s, answer %s", tenant.pk, response_id)
            survey_response_analysis_failed(tenant=tenant, response_id=response_id, error=repr(exc))
            outcome.error = repr(exc)
            continue
        outcome.analysed += int(done)
    return outcome


def survey_comments_analyse_pending(
    *,
    tenant: Tenant,
    older_than: timedelta = timedelta(0),
    limit: int = SWEEP_LIMIT,
    analyser=None,
    now: datetime | None = None,
) -> int:
    """The sweeper's work: analyse comments still waiting after ``older_than``. Returns how
    many were analysed."""
    now = now or timezone.now()
    with tenant_context(tenant):
        ids = survey_response_ids_unanalysed(tenant=tenant, before=now - older_than, limit=limit)
    return survey_comments_analyse(tenant=tenant, response_ids=ids, analyser=analyser).analysed
