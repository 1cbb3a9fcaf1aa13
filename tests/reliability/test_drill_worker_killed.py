"""Drill: a Celery worker process is killed (SIGKILL) in the middle of a message analysis.

The worker (prefork, as deployed) runs the analysis task with ``acks_late`` and
``reject_on_worker_lost``: the killed process's task goes back to the queue and runs again in a
new process, whose transaction sees nothing of the killed one (rolled back, locks released).
The result is stored once: one analysis row per message, one triage notification, one
``triage.applied`` event; and a duplicate delivery of the same task changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest
from celery import Celery

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory
from tests.reliability.services import ROOT, app_env, database_url_for_tests, wait_until
from tickets import services
from tickets.models import Message, MessageAnalysis, Notification, TicketEvent
from tickets.services.analysis import analysis_deferred, triage_rules_install_defaults

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

TEXTS = [
    "We are cancelling our subscription and moving to a competitor unless this is fixed today.",
    "Thanks, the new export works great and saved us hours.",
    "I am not sure how to add a second admin, the settings page confuses me.",
]


def _state(tenant):
    with tenant_context(tenant):
        return {
            "pending": Message.objects.for_tenant(tenant).filter(analysis_state="pending").count(),
            "analyses": sorted(
                MessageAnalysis.objects.for_tenant(tenant).values_list("message_id", flat=True)
            ),
            "notifications": Notification.objects.for_tenant(tenant).filter(kind="triage").count(),
            "triage_events": TicketEvent.objects.for_tenant(tenant)
            .filter(kind="triage.applied")
            .count(),
        }


def test_a_killed_worker_process_leaves_the_analysis_to_a_new_one_and_it_is_stored_once(
    tenant, member_factory, redis_up, processes, tmp_path
):
    member_factory(tenant, Role.MANAGER, "manager@acme.test")
    triage_rules_install_defaults(tenant=tenant)
    with analysis_deferred():
        tickets = [
            services.ticket_create(
                tenant=tenant, customer=CustomerFactory(tenant=tenant), subject=f"T{i}", body=text
            )
            for i, text in enumerate(TEXTS)
        ]
    with tenant_context(tenant):
        message_ids = sorted(
            Message.objects.for_tenant(tenant)
            .filter(ticket__in=tickets)
            .values_list("pk", flat=True)
        )
    assert _state(tenant)["pending"] == 3

    marker = tmp_path / "stalled-pid"
    database_url, role = database_url_for_tests()
    env = app_env(
        database_url=database_url,
        assume_role=role,
        redis_url=redis_up.url(0),
        DRILL_ANALYSIS_MARKER=marker,
    )
    worker = processes.worker(
        env,
        name="prefork-worker",
        pool="prefork",
        argv0=[sys.executable, str(ROOT / "tests/reliability/slow_worker.py")],
    )
    broker = Celery(broker=redis_up.url(0))
    try:
        broker.send_task(
            "tickets.message_analyse", args=[tenant.pk, message_ids[0]], queue="analysis"
        )
        wait_until(marker.exists, timeout=60, what="the analysis to start")
        stalled_pid = int(wait_until(marker.read_text, timeout=5, what="the marker"))
        assert stalled_pid != worker.pid  # the pool's child process, not the main process
        os.kill(stalled_pid, signal.SIGKILL)

        def done() -> bool:
            state = _state(tenant)
            return state["pending"] == 0 and state["notifications"] == 1

        wait_until(done, timeout=90, interval=0.5, what="the task to run again")
        assert "WorkerLostError" in worker.log.read_text(errors="replace")
        first = _state(tenant)
        assert first == {
            "pending": 0,
            "analyses": message_ids,
            "notifications": 1,
            "triage_events": first["triage_events"],
        }
        assert first["triage_events"] >= 1

        # The same task delivered again (a broker redelivery) stores nothing new.
        again = broker.send_task(
            "tickets.message_analyse", args=[tenant.pk, message_ids[0]], queue="analysis"
        )
        wait_until(
            lambda: f"Task tickets.message_analyse[{again.id}] succeeded" in worker.output(),
            timeout=60,
            what="the duplicate delivery to run",
        )
        assert _state(tenant) == first
    finally:
        broker.close()
