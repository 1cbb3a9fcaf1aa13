"""Celery entry points of the message analysis pipeline (queue "analysis").

- ``message_analyse_task(tenant_id, message_id)``: enqueued on commit for every customer message.
  It analyses the message together with up to ``BATCH_SIZE - 1`` other pending messages of the
  same tenant: under light load that is a batch of one, started at once (no waiting for a batch
  to fill); under load the encoder gets full batches, and the tasks of messages already analysed
  by a neighbour's batch finish immediately (idempotent).
- ``messages_analyse_batch_task(tenant_id, message_ids)``: an explicit batch (re-analysis).
- ``message_analysis_sweep_task(tenant_id)`` and its beat fan-out: messages still pending after
  ``HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES`` (the broker or the worker was down) are analysed.

Failures: a failed batch is split and tried again, so only a message that fails on its own has
its attempt counted (neighbours of a message the analyser cannot read are analysed); the task is
then retried with exponential backoff (outside that transaction, as in ``webhooks.py``); after
``MAX_ATTEMPTS`` the message is ``failed``. Acks are late: a worker killed mid-batch leaves the
messages to another worker (or to the sweeper).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.tasks import TenantTask
from tickets.selectors_analysis import message_ids_for_batch, tenant_ids_with_pending_analysis
from tickets.services import analysis as analysis_services

logger = logging.getLogger(__name__)

BATCH_SIZE = analysis_services.BATCH_SIZE
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 600


class AnalysisFailed(Exception):
    pass


def sweep_after() -> timedelta:
    return timedelta(minutes=getattr(settings, "HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES", 5))


class AnalysisTask(TenantTask):
    """A ``TenantTask`` whose retry is raised after the body's transaction has committed (so the
    counted attempt is kept). In-process runs (eager, or called directly) never retry: the
    sweeper catches up."""

    abstract = True
    acks_late = True
    max_retries = analysis_services.MAX_ATTEMPTS - 1

    def apply_async(self, args=None, kwargs=None, **options):
        # The analysis queue, read at send time (tests run a worker on a queue of their own).
        options.setdefault("queue", settings.HELPDESK_ANALYSIS_QUEUE)
        return super().apply_async(args=args, kwargs=kwargs, **options)

    def __call__(self, *args, **kwargs):
        outcome = super().__call__(*args, **kwargs)
        in_process = self.request.is_eager or self.request.called_directly
        if outcome and outcome.get("error") and not in_process:
            countdown = min(
                RETRY_BASE_SECONDS * 2 ** (self.request.retries or 0), RETRY_MAX_SECONDS
            )
            raise self.retry(countdown=countdown, exc=AnalysisFailed(outcome["error"]))
        return outcome


def _analyse(tenant, message_ids: list[int], *, force: bool = False) -> dict:
    """A failed batch is split and tried again: only a message that fails on its own has its
    attempt counted (and makes the task retry)."""
    outcome = analysis_services.messages_analyse_isolating(
        tenant=tenant, message_ids=message_ids, force=force
    )
    return {"analysed": outcome.analysed, "changed": outcome.changed, "error": outcome.error}


@shared_task(base=AnalysisTask, name="tickets.message_analyse")
def message_analyse_task(tenant_id: int, message_id: int) -> dict:
    tenant = current_tenant()
    ids = message_ids_for_batch(tenant=tenant, message_id=message_id, limit=BATCH_SIZE)
    return _analyse(tenant, ids)


@shared_task(base=AnalysisTask, name="tickets.messages_analyse_batch")
def messages_analyse_batch_task(
    tenant_id: int, message_ids: list[int], force: bool = False
) -> dict:
    return _analyse(current_tenant(), [int(i) for i in message_ids][:1000], force=force)


@shared_task(base=TenantTask, name="tickets.message_analysis_sweep", acks_late=True)
def message_analysis_sweep_task(tenant_id: int) -> int:
    return analysis_services.messages_analyse_pending(
        tenant=current_tenant(), older_than=sweep_after(), now=timezone.now()
    )


@shared_task(name="tickets.message_analysis_sweep_fanout")
def message_analysis_sweep_fanout_task() -> int:
    """Periodic (beat): one sweep per tenant that has messages pending for too long."""
    with system_context(reason="analysis sweep fan-out"):
        tenant_ids = tenant_ids_with_pending_analysis(before=timezone.now() - sweep_after())
    for tenant_id in tenant_ids:
        message_analysis_sweep_task.apply_async(
            args=[tenant_id], expires=55, queue=settings.HELPDESK_ANALYSIS_QUEUE
        )
    return len(tenant_ids)
