"""Drill: Redis goes down while customers write.

A real web process (uvicorn, production settings) runs against the test database and a private
Redis (cache, channel layer, Celery broker and results). Redis is killed; a customer then writes
through the API, the help centre's contact form and the inbound email webhook. Every request
must succeed and every message must be stored. When Redis is back, the periodic sweepers (sent
as beat would send them) re-enqueue what never reached the broker, and a real Celery worker
analyses the messages, turns the email into a ticket and raises the triage notification.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from celery import Celery
from django.db.models import F

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from tests.reliability.clients import api_ticket, email_webhook, raw_email, web_form
from tests.reliability.services import app_env, database_url_for_tests, wait_until
from tickets.models import AuthorType, InboundEmail, Message, MessageAnalysis, Notification
from tickets.services.analysis import triage_rules_install_defaults

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CHURN = (
    "This is the third outage this month. We are cancelling our subscription and moving to a "
    "competitor unless it is fixed today."
)


def _customer_messages(tenant) -> list[Message]:
    with tenant_context(tenant):
        return list(
            Message.objects.for_tenant(tenant)
            .filter(author_type=AuthorType.CUSTOMER)
            .select_related("ticket")
            .order_by("pk")
        )


def _inbound(tenant) -> list[InboundEmail]:
    with tenant_context(tenant):
        return list(InboundEmail.objects.for_tenant(tenant).order_by("pk"))


def test_customers_write_while_redis_is_down_and_everything_catches_up(
    tenant, admin_user, member_factory, redis_up, processes
):
    manager = member_factory(tenant, Role.MANAGER, "manager@acme.test")
    triage_rules_install_defaults(tenant=tenant)
    _key, key = api_key_create(
        tenant=tenant, actor=admin_user, name="drill", scopes=["write", "ingest:email"]
    )
    database_url, role = database_url_for_tests()
    env = app_env(
        database_url=database_url,
        assume_role=role,
        redis_url=redis_up.url(0),
        HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES=0,
    )
    web = processes.web(env)
    assert requests.get(f"{web.url}/healthz", timeout=10).json()["redis"] == "ok"

    redis_up.kill()
    health = requests.get(f"{web.url}/healthz", timeout=10)
    assert (health.status_code, health.json()["redis"]) == (503, "down")

    by_api = api_ticket(
        web.url, "acme", key, email="ann@customer.test", subject="Invoice wrong", body=CHURN
    )
    assert by_api.status_code == 201, by_api.text
    by_form = web_form(
        web.url,
        "acme",
        email="ben@customer.test",
        subject="Cannot log in",
        message="The login page says my password is wrong, but I reset it twice.",
    )
    assert by_form.status_code == 302, by_form.text[:2000]
    assert "/help/contact/sent/" in by_form.headers["Location"]
    by_email = email_webhook(
        web.url,
        "acme",
        key,
        raw_email(
            sender="cleo@customer.test",
            subject="Export is empty",
            body="The CSV export has headers but no rows since yesterday.",
        ),
    )
    assert by_email.status_code == 202, by_email.text

    # Stored while Redis was down, waiting for analysis and processing.
    messages = _customer_messages(tenant)
    assert sorted(m.ticket.subject for m in messages) == ["Cannot log in", "Invoice wrong"]
    assert {m.analysis_state for m in messages} == {"pending"}
    (inbound,) = _inbound(tenant)
    assert inbound.state == "received"

    redis_up.start()
    processes.worker(env)
    # Beat would send the sweeps on its schedule; the email sweep takes mail received more than
    # five minutes ago, so the mail is made that old.
    with tenant_context(tenant):
        InboundEmail.objects.for_tenant(tenant).update(
            received_at=F("received_at") - timedelta(minutes=6)
        )
    beat = Celery(broker=redis_up.url(0))
    try:
        beat.send_task("tickets.message_analysis_sweep_fanout", queue="default")
        beat.send_task("tickets.email_sweep_fanout", queue="default")
    finally:
        beat.close()

    def caught_up() -> bool:
        messages = _customer_messages(tenant)
        return (
            _inbound(tenant)[0].state == "processed"
            and len(messages) == 3
            and all(m.analysis_state == "done" for m in messages)
        )

    wait_until(caught_up, timeout=90, interval=0.5, what="the sweepers and the worker")
    messages = _customer_messages(tenant)
    assert sorted(m.ticket.subject for m in messages) == [
        "Cannot log in",
        "Export is empty",
        "Invoice wrong",
    ]
    with tenant_context(tenant):
        analysed = MessageAnalysis.objects.for_tenant(tenant)
        assert sorted(analysed.values_list("message_id", flat=True)) == [m.pk for m in messages]
        churn = analysed.get(message__ticket__subject="Invoice wrong")
        assert churn.signals["churn_risk"]["score"] >= 0.5
        notices = Notification.objects.for_tenant(tenant).filter(user=manager, kind="triage")
        assert [n.body for n in notices] == ["Invoice wrong"]
