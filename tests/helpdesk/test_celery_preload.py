"""Worker processes that consume the analysis queue load the analyser when they start (the real
``worker_process_init`` signal, the real loader); other workers and eager runs do not."""

from __future__ import annotations

import pytest
from celery.signals import worker_process_init

from helpdesk.celery import app as celery_app
from tickets.analysis import analyser as analyser_module


@pytest.fixture
def worker(monkeypatch, settings):
    """A worker process of this app, about to start: ``worker(queues, eager=False)`` sets what
    it consumes (as ``-Q`` does), with no analyser loaded yet."""
    settings.HELPDESK_ANALYSIS_QUEUE = "analysis"
    queues = celery_app.amqp.queues
    monkeypatch.setattr(analyser_module, "_analyser", None)
    monkeypatch.setattr(queues, "_consume_from", None)
    was_eager = celery_app.conf.task_always_eager

    def start(names: list[str], *, eager: bool = False) -> None:
        celery_app.conf.task_always_eager = eager
        queues.select(names)
        worker_process_init.send(sender="celery@test")

    yield start
    celery_app.conf.task_always_eager = was_eager


def test_a_worker_of_the_analysis_queue_loads_the_analyser_when_its_process_starts(worker):
    worker(["default", "analysis"])
    assert analyser_module._analyser is not None
    assert analyser_module._analyser is analyser_module.get_analyser()


def test_other_workers_and_eager_runs_do_not_load_it(worker):
    worker(["default"])
    assert analyser_module._analyser is None
    worker(["analysis"], eager=True)
    assert analyser_module._analyser is None
