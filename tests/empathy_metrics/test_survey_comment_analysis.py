"""Survey comments (CSAT comments, NPS reasons, help-page feedback) go through the message
analysis pipeline: stored first, analysed after commit by a task on the analysis queue (acks
late, retried with backoff), a failed attempt counted, and a sweeper for comments left
unanalysed (the broker or the worker was down), also with a real worker on Redis."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.selectors.survey_analysis import (
    survey_response_ids_unanalysed,
    tenant_ids_with_unanalysed_comments,
)
from empathy_metrics.services import csat_response_add_details, csat_response_submit
from empathy_metrics.services_nps import feedback_submit, nps_response_submit
from empathy_metrics.services_survey_analysis import (
    survey_comments_analyse,
    survey_comments_analyse_pending,
    survey_response_analyse,
)
from empathy_metrics.tasks import (
    BEAT_SCHEDULE,
    survey_analysis_sweep_fanout_task,
    survey_analysis_sweep_task,
    survey_response_analyse_task,
)
from helpdesk.tenancy.context import system_context, tenant_context
from tests.empathy_metrics.factories import SurveyRequestFactory, SurveyResponseFactory
from tests.factories.tickets import CustomerFactory
from tests.tickets.test_analysis_tasks import analysis_worker, wait_until
from tests.tickets.test_status_services import make_ticket
from tickets import services
from tickets.services.analysis import MAX_ATTEMPTS, analysis_settings_update
from tickets.tasks.analysis import AnalysisTask


@dataclass
class FakeAnalysis:
    model_version: str = "fake-1"
    language: str = "en"
    is_supported_language: bool = True
    sentiment_label: str = "negative"
    sentiment_score: float = -0.7
    signals: dict = field(default_factory=lambda: {"confusion": {"score": 0.8}})
    keywords: list = field(default_factory=lambda: ["export button"])


class FakeAnalyser:
    """Stands in for the analyser where the test is about the pipeline, not the model."""

    def __init__(self, fail_on: str = ""):
        self.fail_on = fail_on
        self.calls: list[tuple[str, dict]] = []

    def analyse(self, text, **kwargs):
        self.calls.append((text, kwargs))
        if self.fail_on and self.fail_on in text:
            raise ValueError("unreadable")
        return FakeAnalysis()


def reload(response) -> SurveyResponse:
    with tenant_context(response.tenant):
        return SurveyResponse.objects.for_tenant(response.tenant).get(pk=response.pk)


def solved_ticket(tenant, agent):
    ticket = make_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    return ticket


def comment(tenant, text, *, kind=SurveyKind.FEEDBACK, minutes_ago=30, **extra):
    return SurveyResponseFactory(
        tenant=tenant,
        kind=kind,
        score=None if kind == SurveyKind.FEEDBACK else 3,
        comment=text,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        **extra,
    )


# --- every kind of comment is analysed after commit --------------------------------------------


def test_a_csat_comment_is_analysed_after_commit(tenant, agent, django_capture_on_commit_callbacks):
    ticket = solved_ticket(tenant, agent)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = csat_response_submit(
            tenant=tenant,
            ticket=ticket,
            score=2,
            comment="I'm so confused, where do I find the export button? This is frustrating!",
        )
        assert "_analysis" not in reload(result.response).extra_answers  # stored first
    assert callbacks  # the analysis was queued on commit
    analysis = reload(result.response).extra_answers["_analysis"]
    assert analysis["sentiment_label"] == "negative"
    assert analysis["signals"]["confusion"]["score"] >= 0.5
    assert analysis["model_version"] and analysis["keywords"]


def test_a_csat_comment_added_after_the_one_click_rating_is_analysed(
    tenant, agent, django_capture_on_commit_callbacks
):
    ticket = solved_ticket(tenant, agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = csat_response_submit(tenant=tenant, ticket=ticket, score=5).response
    assert "_analysis" not in reload(response).extra_answers  # no comment, nothing to analyse
    with django_capture_on_commit_callbacks(execute=True):
        csat_response_add_details(
            tenant=tenant, response=response, comment="Thank you so much, great help!"
        )
    assert reload(response).extra_answers["_analysis"]["sentiment_label"] == "positive"


def test_nps_reasons_and_help_page_feedback_are_analysed(
    tenant, django_capture_on_commit_callbacks
):
    request = SurveyRequestFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant))
    with django_capture_on_commit_callbacks(execute=True):
        reason = nps_response_submit(
            tenant=tenant,
            survey_request=request,
            score=3,
            comment="Support is slow and the billing page is broken",
        )
        feedback = feedback_submit(tenant=tenant, body="The search on this help page is useless")
    assert reload(reason).extra_answers["_analysis"]["sentiment_label"] == "negative"
    assert reload(feedback).extra_answers["_analysis"]["sentiment_label"] == "negative"


def test_the_analysis_uses_the_tenants_words_and_is_idempotent(tenant):
    analysis_settings_update(
        tenant=tenant, actor=None, stop_words=["widget"], product_words=["Acme Cloud"]
    )
    response = comment(tenant, "Acme Cloud widget export is confusing")
    analyser = FakeAnalyser()
    assert survey_response_analyse(tenant=tenant, response_id=response.pk, analyser=analyser)
    assert analyser.calls[0][1] == {"stop_words": ["widget"], "product_words": ["Acme Cloud"]}
    stored = reload(response).extra_answers["_analysis"]
    assert stored["keywords"] == ["export button"] and stored["is_supported_language"]
    # analysing again changes nothing (unless forced, after a model change)
    assert not survey_response_analyse(tenant=tenant, response_id=response.pk, analyser=analyser)
    assert len(analyser.calls) == 1
    assert survey_response_analyse(
        tenant=tenant, response_id=response.pk, analyser=analyser, force=True
    )
    # an answer without a comment has nothing to analyse
    empty = comment(tenant, "")
    assert not survey_response_analyse(tenant=tenant, response_id=empty.pk, analyser=analyser)


def test_a_changed_nps_reason_is_analysed_again(tenant):
    request = SurveyRequestFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant))
    first = nps_response_submit(tenant=tenant, survey_request=request, score=4, comment="Slow")
    survey_comments_analyse(tenant=tenant, response_ids=[first.pk], analyser=FakeAnalyser())
    same = nps_response_submit(tenant=tenant, survey_request=request, score=5, comment="Slow")
    assert "_analysis" in same.extra_answers
    changed = nps_response_submit(tenant=tenant, survey_request=request, score=5, comment="Fine")
    assert "_analysis" not in changed.extra_answers
    with tenant_context(tenant):
        waiting = survey_response_ids_unanalysed(
            tenant=tenant, before=timezone.now() + timedelta(minutes=1)
        )
    assert waiting == [changed.pk]


# --- the task: analysis queue, acks late, retries; failures counted -----------------------------


def test_the_task_runs_on_the_analysis_queue_with_late_acks_and_retries(tenant, settings):
    assert isinstance(survey_response_analyse_task, AnalysisTask)
    assert survey_response_analyse_task.acks_late
    assert survey_response_analyse_task.max_retries == MAX_ATTEMPTS - 1
    assert survey_analysis_sweep_task.acks_late
    sweep = BEAT_SCHEDULE["empathy-metrics-survey-analysis-sweep"]
    assert sweep["task"] == survey_analysis_sweep_fanout_task.name
    # called in process, the task analyses the comment and reports
    response = comment(tenant, "Where do I click to export?")
    outcome = survey_response_analyse_task(tenant.pk, response.pk)
    assert outcome == {"analysed": 1, "error": None}
    assert survey_response_analyse_task(tenant.pk, response.pk) == {"analysed": 0, "error": None}


def test_a_comment_the_analyser_cannot_read_counts_an_attempt_and_spares_the_others(tenant):
    bad = comment(tenant, "BAD comment")
    good = comment(tenant, "A fine comment")
    analyser = FakeAnalyser(fail_on="BAD")
    outcome = survey_comments_analyse(
        tenant=tenant, response_ids=[bad.pk, good.pk], analyser=analyser
    )
    assert outcome.analysed == 1 and "unreadable" in outcome.error
    assert reload(bad).extra_answers == {"_analysis_attempts": 1}
    assert "_analysis" in reload(good).extra_answers
    # after MAX_ATTEMPTS it is given up on, and the sweeper leaves it alone
    for _ in range(MAX_ATTEMPTS - 1):
        survey_comments_analyse(tenant=tenant, response_ids=[bad.pk], analyser=analyser)
    assert reload(bad).extra_answers["_analysis_failed"] is True
    assert reload(bad).extra_answers["_analysis_attempts"] == MAX_ATTEMPTS
    assert survey_comments_analyse_pending(tenant=tenant, analyser=analyser) == 0


# --- the sweeper --------------------------------------------------------------------------------


def test_the_sweeper_analyses_comments_left_waiting_in_this_tenant_only(tenant, other_tenant):
    waiting = comment(tenant, "Nobody analysed me", minutes_ago=30)
    fresh = comment(tenant, "Just given", minutes_ago=1)
    ancient = comment(tenant, "Given long ago", minutes_ago=60 * 24 * 40)
    CustomerFactory(tenant=other_tenant)
    theirs = comment(other_tenant, "Another tenant's comment", minutes_ago=30)
    no_comment = comment(tenant, "", kind=SurveyKind.NPS)
    with system_context(reason="test"):
        assert set(
            tenant_ids_with_unanalysed_comments(before=timezone.now() - timedelta(minutes=5))
        ) == {tenant.pk, other_tenant.pk}
    done = survey_comments_analyse_pending(
        tenant=tenant, older_than=timedelta(minutes=5), analyser=FakeAnalyser()
    )
    assert done == 1
    assert "_analysis" in reload(waiting).extra_answers
    assert "_analysis" not in reload(fresh).extra_answers  # its own task is still due
    assert "_analysis" not in reload(ancient).extra_answers  # outside the sweep window
    assert "_analysis" not in reload(theirs).extra_answers
    assert "_analysis" not in reload(no_comment).extra_answers


def test_comments_stored_during_a_bulk_load_wait_and_are_found_however_old(
    tenant, django_capture_on_commit_callbacks
):
    """Inside ``analysis_deferred()`` (the demo's seeding, imports) an answer enqueues nothing;
    the loader analyses the waiting comments in batches, also those older than the sweep's
    window (``window=None``)."""
    from tickets.services.analysis import analysis_deferred

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with analysis_deferred():
            old = feedback_submit(
                tenant=tenant,
                body="The search on this help page is useless",
                at=timezone.now() - timedelta(days=80),
            )
    assert callbacks == []
    with tenant_context(tenant):
        assert survey_response_ids_unanalysed(tenant=tenant, before=timezone.now()) == []
        waiting = survey_response_ids_unanalysed(tenant=tenant, before=timezone.now(), window=None)
    assert waiting == [old.pk]
    survey_comments_analyse(tenant=tenant, response_ids=waiting, analyser=FakeAnalyser())
    assert "_analysis" in reload(old).extra_answers


# --- with a real worker on Redis ----------------------------------------------------------------


@pytest.fixture
def warm_analyser():
    from tickets.analysis import get_analyser

    return get_analyser()


@pytest.mark.redis_only
def test_a_worker_on_the_analysis_queue_analyses_a_csat_comment(
    transactional_db, tenant, agent, settings, warm_analyser
):
    from celery.contrib.testing.worker import start_worker

    from helpdesk.celery import app

    ticket = solved_ticket(tenant, agent)
    analysis_queue = f"analysis-survey-test-{os.getpid()}"
    settings.HELPDESK_ANALYSIS_QUEUE = analysis_queue
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = f"unused-{os.getpid()}"  # nothing consumes the default queue
    try:
        with start_worker(
            app, queues=[analysis_queue], pool="solo", perform_ping_check=False, shutdown_timeout=10
        ):
            response = csat_response_submit(
                tenant=tenant, ticket=ticket, score=1, comment="Still broken and nobody helps!!!"
            ).response
            wait_until(lambda: "_analysis" in reload(response).extra_answers)
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
    assert reload(response).extra_answers["_analysis"]["sentiment_label"] == "negative"


@pytest.mark.redis_only
def test_the_sweeper_analyses_a_comment_stored_while_the_broker_was_down(
    transactional_db, tenant, settings, warm_analyser, caplog
):
    from helpdesk.celery import app

    settings.HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES = 0
    # Broker stopped: the app publishes to a port where nothing listens.
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.task_always_eager = False
    app.conf.broker_connection_retry = False
    app._pool = None
    app.amqp._producer_pool = None
    try:
        with caplog.at_level(logging.ERROR):
            feedback = feedback_submit(
                tenant=tenant, body="I'm confused, I don't know what to click to export."
            )
        assert "broker unavailable" in caplog.text  # stored first; only the enqueue failed
        assert "_analysis" not in reload(feedback).extra_answers
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        app.conf.broker_connection_retry = True
        app._pool = None
        app.amqp._producer_pool = None
    # Broker back: beat's periodic fan-out sends the sweep to a worker, which analyses it.
    with analysis_worker(settings):
        assert survey_analysis_sweep_fanout_task.apply().get() == 1
        wait_until(lambda: "_analysis" in reload(feedback).extra_answers)
    analysis = reload(feedback).extra_answers["_analysis"]
    assert analysis["signals"]["confusion"]["score"] >= 0.5
