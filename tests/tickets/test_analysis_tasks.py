"""The analysis tasks: called directly with a tenant id, and with a real Celery worker on Redis
(a message posted through the API is analysed and the ticket updated; the sweeper catches up
after a broker outage)."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import Message, MessageAnalysis, Ticket
from tickets.services.analysis import MAX_ATTEMPTS
from tickets.tasks.analysis import (
    message_analyse_task,
    message_analysis_sweep_fanout_task,
    message_analysis_sweep_task,
    messages_analyse_batch_task,
)


def new_ticket(tenant, body, at=None):
    customer = CustomerFactory(tenant=tenant)
    return services.ticket_create(tenant=tenant, customer=customer, subject="S", body=body, at=at)


def messages_of(tenant):
    with tenant_context(tenant):
        return list(Message.objects.for_tenant(tenant).order_by("pk"))


def test_the_task_analyses_the_message_and_its_pending_neighbours(tenant):
    first = new_ticket(tenant, "The app keeps crashing!")
    new_ticket(tenant, "Thanks, all good now")
    new_ticket(tenant, "Where do I find my invoices?")
    message = messages_of(tenant)[0]
    outcome = message_analyse_task(tenant.pk, message.pk)
    assert outcome == {"analysed": 3, "changed": 3, "error": None}
    assert {m.analysis_state for m in messages_of(tenant)} == {"done"}
    # the neighbours' own tasks find nothing left to do
    assert message_analyse_task(tenant.pk, messages_of(tenant)[1].pk)["analysed"] == 0
    with tenant_context(tenant):
        assert Ticket.objects.for_tenant(tenant).get(pk=first.pk).mood_label == "negative"


def test_a_batch_task_reanalyses_only_when_forced(tenant):
    new_ticket(tenant, "It does not work")
    ids = [m.pk for m in messages_of(tenant)]
    assert messages_analyse_batch_task(tenant.pk, ids)["analysed"] == 1
    assert messages_analyse_batch_task(tenant.pk, ids)["analysed"] == 0
    assert messages_analyse_batch_task(tenant.pk, ids, force=True) == {
        "analysed": 1,
        "changed": 0,
        "error": None,
    }


def test_a_failing_analysis_counts_the_attempt_and_never_fails_the_caller(tenant, monkeypatch):
    new_ticket(tenant, "Hello there")
    message = messages_of(tenant)[0]
    # An analyser that cannot load its model (a broken install) is a failure of the attempt.
    from tickets.analysis import analyser as analyser_module

    monkeypatch.setattr(analyser_module, "_analyser", None)
    monkeypatch.setenv("HELPDESK_MINILM_DIR", "/nonexistent-model-dir")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome = message_analyse_task(tenant.pk, message.pk)
        assert outcome["error"] and outcome["analysed"] == 0
        message = messages_of(tenant)[0]
        assert message.analysis_attempts == attempt
    assert message.analysis_state == "failed"


def _poison_keywords(monkeypatch):
    """The analyser's keyword step (a function of the plain analyser module) raises on one text."""
    from tickets.analysis import analyser as analyser_module

    real = analyser_module.extract_keywords

    def extract(text, **kwargs):
        if "POISON" in text:
            raise ValueError("the analyser cannot read this message")
        return real(text, **kwargs)

    monkeypatch.setattr(analyser_module, "extract_keywords", extract)


def test_a_message_the_analyser_cannot_read_costs_only_itself_an_attempt(tenant, monkeypatch):
    _poison_keywords(monkeypatch)
    for body in [
        "The app keeps crashing!",
        "Thanks, all good now",
        "POISON pill",
        "Where is my invoice?",
        "It does not work",
    ]:
        new_ticket(tenant, body)
    poison = next(m for m in messages_of(tenant) if "POISON" in m.body_text)
    outcome = message_analyse_task(tenant.pk, messages_of(tenant)[0].pk)
    assert outcome["analysed"] == 4 and outcome["error"]
    states = {m.body_text: (m.analysis_state, m.analysis_attempts) for m in messages_of(tenant)}
    assert states.pop(poison.body_text) == ("pending", 1)
    assert set(states.values()) == {("done", 0)}
    with tenant_context(tenant):
        assert MessageAnalysis.objects.for_tenant(tenant).count() == 4
    # Its retries fail only itself, until it is failed for good; new neighbours are analysed.
    for attempt in range(2, MAX_ATTEMPTS + 1):
        new_ticket(tenant, f"Still waiting for my refund, day {attempt}")
        outcome = message_analyse_task(tenant.pk, poison.pk)
        assert outcome["analysed"] == 1 and outcome["error"]
    poison = next(m for m in messages_of(tenant) if m.pk == poison.pk)
    assert (poison.analysis_state, poison.analysis_attempts) == ("failed", MAX_ATTEMPTS)
    others = [m for m in messages_of(tenant) if m.pk != poison.pk]
    assert {(m.analysis_state, m.analysis_attempts) for m in others} == {("done", 0)}


def test_the_sweeper_also_spares_the_neighbours_of_a_bad_message(tenant, monkeypatch):
    _poison_keywords(monkeypatch)
    long_ago = timezone.now() - timedelta(minutes=30)
    for body in ["It does not work", "POISON pill", "Thank you so much!"]:
        new_ticket(tenant, body, at=long_ago)
    assert message_analysis_sweep_task(tenant.pk) == 2
    states = sorted((m.analysis_state, m.analysis_attempts) for m in messages_of(tenant))
    assert states == [("done", 0), ("done", 0), ("pending", 1)]


def test_the_sweep_task_and_its_fanout(tenant, other_tenant, settings):
    settings.HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES = 5
    long_ago = timezone.now() - timedelta(minutes=10)
    new_ticket(tenant, "Still waiting for my refund!!!", at=long_ago)
    new_ticket(other_tenant, "Just now: it does not work")
    assert message_analysis_sweep_fanout_task.apply().get() == 1  # eager: runs the sweep
    assert [m.analysis_state for m in messages_of(tenant)] == ["done"]
    assert [m.analysis_state for m in messages_of(other_tenant)] == ["pending"]
    assert message_analysis_sweep_task(other_tenant.pk) == 0


def test_tasks_are_routed_to_the_analysis_queue():
    routes = django_settings.CELERY_TASK_ROUTES
    assert routes["tickets.message_analyse"] == {"queue": "analysis"}
    assert routes["tickets.messages_analyse_batch"] == {"queue": "analysis"}
    schedule = django_settings.CELERY_BEAT_SCHEDULE["tickets-analysis-sweep"]
    assert schedule["task"] == "tickets.message_analysis_sweep_fanout"
    assert message_analyse_task.acks_late


# --- With a real worker on Redis ------------------------------------------------------------


@contextmanager
def analysis_worker(settings):
    """A real worker (thread, solo pool) on Redis, consuming this run's queues only."""
    from celery.contrib.testing.worker import start_worker

    from helpdesk.celery import app

    default_queue = f"test-{os.getpid()}"
    analysis_queue = f"analysis-test-{os.getpid()}"
    settings.HELPDESK_ANALYSIS_QUEUE = analysis_queue
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = default_queue
    try:
        with start_worker(
            app,
            queues=[default_queue, analysis_queue],
            pool="solo",
            perform_ping_check=False,
            shutdown_timeout=10,
        ):
            yield app
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.05)


@pytest.fixture
def warm_analyser():
    from tickets.analysis import get_analyser

    return get_analyser()  # loaded before the clock starts


@pytest.mark.redis_only
def test_a_message_posted_through_the_api_is_analysed_by_a_worker(
    transactional_db, tenant, other_tenant, admin_user, api_client_for, settings, warm_analyser
):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    services.triage_rules_install_defaults(tenant=tenant)
    with analysis_worker(settings):
        response = api_client_for(admin_user).post(
            "/api/v1/t/acme/tickets/",
            {
                "subject": "Locked out",
                "body": "URGENT: I'm locked out and this is ridiculous. Please help asap!",
                "customer_email": "w@example.com",
            },
            format="json",
        )
        assert response.status_code == 201
        wait_until(lambda: messages_of(tenant)[0].analysis_state == "done")
        with tenant_context(tenant):
            ticket = Ticket.objects.for_tenant(tenant).get()
            analysis = MessageAnalysis.objects.for_tenant(tenant).get()
    assert analysis.sentiment_label == "negative"
    assert analysis.signals["urgency"]["score"] >= 0.5
    assert ticket.mood_label == "negative" and "urgency" in ticket.mood_signals
    assert ticket.priority == "high"  # the triage rule, applied by the worker
    assert messages_of(other_tenant) == []


@pytest.mark.redis_only
def test_the_sweeper_analyses_what_was_stored_while_the_broker_was_down(
    transactional_db, tenant, admin_user, api_client_for, settings, warm_analyser, caplog
):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
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
            response = api_client_for(admin_user).post(
                "/api/v1/t/acme/tickets/",
                {
                    "subject": "Outage",
                    "body": "Still waiting, this is ridiculous!!!",
                    "customer_email": "o@example.com",
                },
                format="json",
            )
        assert response.status_code == 201  # the request succeeds: stored first
        assert "broker unavailable" in caplog.text
        assert [m.analysis_state for m in messages_of(tenant)] == ["pending"]
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        app.conf.broker_connection_retry = True
        app._pool = None
        app.amqp._producer_pool = None
    # Broker back: beat's periodic fan-out sends the sweep to a worker, which analyses it.
    with analysis_worker(settings):
        assert message_analysis_sweep_fanout_task.apply().get() == 1
        wait_until(lambda: messages_of(tenant)[0].analysis_state == "done")
    with tenant_context(tenant):
        assert Ticket.objects.for_tenant(tenant).get().mood_label == "negative"


@pytest.mark.redis_only
def test_a_failed_analysis_is_retried_by_the_worker_with_backoff(
    transactional_db, tenant, settings, warm_analyser, monkeypatch
):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    from tickets.services import analysis as analysis_services
    from tickets.tasks import analysis as analysis_tasks

    monkeypatch.setattr(analysis_tasks, "RETRY_BASE_SECONDS", 1)  # 1 s, 2 s, 4 s ...
    attempts: list[float] = []

    class FailsOnce:
        """The analyser fails its first batch (a worker running out of memory, say)."""

        model_version = warm_analyser.model_version

        def analyse_batch(self, texts, **kwargs):
            attempts.append(time.monotonic())
            if len(attempts) == 1:
                raise MemoryError("simulated failure")
            return warm_analyser.analyse_batch(texts, **kwargs)

    monkeypatch.setattr(analysis_services, "_analyser", FailsOnce)
    with analysis_worker(settings):
        new_ticket(tenant, "The invoice is wrong and I'm fed up.")
        wait_until(lambda: messages_of(tenant)[0].analysis_state == "done")
    message = messages_of(tenant)[0]
    assert message.analysis_attempts == 1  # the failed attempt was counted, then retried
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.9  # after the backoff, not at once
    with tenant_context(tenant):
        assert MessageAnalysis.objects.for_tenant(tenant).get().sentiment_label == "negative"
