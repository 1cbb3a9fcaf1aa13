"""PostgreSQL row-level security: the second line, proven with raw SQL as the application role."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from helpdesk.tenancy.context import system_context, tenant_context
from tests.factories.tickets import CustomerFactory, TicketFactory
from tests.isolation.test_model_invariants import tenant_owned_models

pytestmark = pytest.mark.postgres_only


def _raw(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def test_the_suite_runs_as_the_application_role_which_cannot_bypass_rls(db):
    user, superuser, bypass = _raw(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )[0]
    assert user == "helpdesk_app"
    assert superuser is False
    assert bypass is False
    owned = _raw(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
    )
    assert owned == [(0,)]


def test_every_tenant_table_has_forced_row_level_security(db):
    rows = {
        name: (enabled, forced)
        for name, enabled, forced in _raw(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relkind = 'r'"
        )
    }
    for model in tenant_owned_models():
        if model._meta.label in {"tenancy.Membership"}:
            continue
        assert rows[model._meta.db_table] == (True, True), model._meta.db_table


def test_raw_sql_under_tenant_a_cannot_read_tenant_b_rows(tenant, other_tenant):
    CustomerFactory(tenant=tenant, name="Alice of A")
    CustomerFactory(tenant=other_tenant, name="Bob of B")
    with tenant_context(tenant):
        names = _raw("SELECT name FROM tickets_customer")
        by_id = _raw(
            "SELECT count(*) FROM tickets_customer WHERE tenant_id = %s", [other_tenant.pk]
        )
    assert names == [("Alice of A",)]
    assert by_id == [(0,)]


def test_raw_sql_without_scope_sees_no_tenant_rows(tenant):
    CustomerFactory(tenant=tenant)
    assert _raw("SELECT count(*) FROM tickets_customer") == [(0,)]


def test_system_context_sees_all_rows(tenant, other_tenant):
    CustomerFactory(tenant=tenant)
    CustomerFactory(tenant=other_tenant)
    with system_context(reason="test"):
        assert _raw("SELECT count(*) FROM tickets_customer") == [(2,)]


def test_raw_insert_into_another_tenant_is_rejected(tenant, other_tenant):
    with tenant_context(tenant), pytest.raises(ProgrammingError, match="row-level security"):
        with transaction.atomic():
            _raw(
                "INSERT INTO tickets_customer (tenant_id, public_id, name, email, phone, company, tags,"
                " locale, notes, external_id, created_at) VALUES (%s, gen_random_uuid(), 'x', '', '',"
                " '', '[]', 'en', '', '', now()) RETURNING id",
                [other_tenant.pk],
            )


def test_composite_foreign_key_stops_a_ticket_pointing_at_another_tenants_customer(
    tenant, other_tenant
):
    ticket = TicketFactory(tenant=tenant)
    foreign_customer = CustomerFactory(tenant=other_tenant)
    with system_context(reason="test"), pytest.raises(IntegrityError), transaction.atomic():
        _raw("SET CONSTRAINTS ALL IMMEDIATE")
        _raw(
            "UPDATE tickets_ticket SET customer_id = %s WHERE id = %s",
            [foreign_customer.pk, ticket.pk],
        )


def _db_tenant() -> str:
    return _raw("SELECT current_setting('app.tenant_id', true)")[0][0] or ""


@pytest.mark.django_db(transaction=True)
def test_reentering_the_same_tenant_skips_set_config_but_keeps_the_scope(tenant, other_tenant):
    from django.test.utils import CaptureQueriesContext

    with tenant_context(tenant):
        CustomerFactory(tenant=tenant, name="Mine")
    with tenant_context(other_tenant):
        CustomerFactory(tenant=other_tenant, name="Theirs")
    with tenant_context(tenant):
        with CaptureQueriesContext(connection) as nested:
            with tenant_context(tenant), tenant_context(tenant):
                names = [row[0] for row in _raw("SELECT name FROM tickets_customer")]
        assert names == ["Mine"]  # raw SQL: only the policy stands between us and Globex
        assert not [q for q in nested.captured_queries if "set_config" in q["sql"]]
        assert _db_tenant() == str(tenant.pk)  # the inner exits did not clear the outer scope
    assert _db_tenant() == ""


@pytest.mark.django_db(transaction=True)
def test_a_scope_that_follows_into_another_thread_is_applied_to_that_threads_connection(
    tenant, other_tenant
):
    from asgiref.sync import async_to_sync, sync_to_async

    with tenant_context(other_tenant):
        CustomerFactory(tenant=other_tenant, name="Theirs")
    with tenant_context(tenant):
        CustomerFactory(tenant=tenant, name="Mine")
    with tenant_context(tenant):

        def in_thread() -> list[str]:
            # the context variable came along; this thread's connection has no scope yet
            with tenant_context(tenant):
                return [row[0] for row in _raw("SELECT name FROM tickets_customer")]

        async def hop() -> list[str]:
            return await sync_to_async(in_thread, thread_sensitive=False)()

        assert async_to_sync(hop)() == ["Mine"]


@pytest.mark.django_db(transaction=True)
def test_a_scope_that_opened_the_transaction_leaves_clearing_its_settings_to_the_commit(
    tenant, other_tenant
):
    from django.test.utils import CaptureQueriesContext

    with tenant_context(other_tenant):
        CustomerFactory(tenant=other_tenant, name="Theirs")
    with CaptureQueriesContext(connection) as queries:
        with tenant_context(tenant):
            CustomerFactory(tenant=tenant, name="Mine")
    # One set_config to enter; the commit ends the transaction-local settings.
    assert len([q for q in queries.captured_queries if "set_config" in q["sql"]]) == 1
    assert _db_tenant() == ""
    assert _raw("SELECT name FROM tickets_customer") == []  # no scope, no rows
    with pytest.raises(RuntimeError), tenant_context(tenant):
        raise RuntimeError("refused")  # rolled back, settings and all
    assert _db_tenant() == ""
    with system_context(reason="test"):
        names = sorted(row[0] for row in _raw("SELECT name FROM tickets_customer"))
    assert names == ["Mine", "Theirs"]
    assert _db_tenant() == "" and _raw("SELECT current_setting('app.bypass_rls', true)")[0][0] in (
        "",
        "off",
    )
    with transaction.atomic():  # a scope inside someone else's transaction still clears it
        with tenant_context(tenant):
            pass
        assert _db_tenant() == ""
        assert _raw("SELECT name FROM tickets_customer") == []
