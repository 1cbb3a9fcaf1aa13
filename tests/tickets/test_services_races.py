"""Concurrent writers on PostgreSQL: the first messages of one new sender arriving together."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from helpdesk.tenancy.context import tenant_context
from tickets import services
from tickets.models import Customer

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_new_sender_writing_twice_at_once_becomes_one_customer(tenant):
    inserted = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first_writer() -> None:
        try:
            with tenant_context(tenant):
                Customer.objects.create(tenant=tenant, email="new@example.com", name="First")
                inserted.set()
                release.wait(10)  # holds the new row uncommitted while the second writer runs
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert inserted.wait(10)
    # the second insert blocks on the unique index until the first commits, then fails; the
    # service must then find the first writer's customer instead of failing the request
    threading.Timer(0.5, release.set).start()
    ticket = services.ticket_create(
        tenant=tenant,
        customer=services.customer_get_or_create(tenant=tenant, email="NEW@example.com")[0],
        subject="Second message",
        body="Same sender, same moment",
    )
    thread.join(10)
    assert errors == []
    with tenant_context(tenant):
        customers = list(Customer.objects.for_tenant(tenant).filter(email="new@example.com"))
        assert [c.name for c in customers] == ["First"]
        assert ticket.customer_id == customers[0].pk
