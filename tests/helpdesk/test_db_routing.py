"""Read-replica routing (helpdesk/db_routing.py) with a second database alias.

The ``replica`` alias is added for these tests as a mirror of the test database (what
``HELPDESK_REPLICA_DATABASE_URL`` adds in production, pointing at a streaming replica), with
its own connection, as the application role. The dashboard's reads must go through that
connection, under row-level security for the right tenant; writes and other reads must not.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from helpdesk.db_routing import REPLICA, ReplicaRouter, replica_reads
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import MessageFactory, TagFactory, TicketFactory
from tickets.models import Tag, Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup):
    """A ``replica`` alias on a connection of its own to the test database (added before the
    tests' database access is set up, which must know the alias)."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "MIRROR": "default"}
    connections.settings[REPLICA] = settings_dict
    try:
        yield
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


@pytest.fixture
def replica():
    return connections[REPLICA]


def _table_reads(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and " FROM " in q["sql"].upper()
    ]


def test_the_metrics_api_reads_from_the_replica_and_nothing_of_it_from_the_primary(
    tenant, member_factory, api_client_for, replica
):
    manager = member_factory(tenant, Role.MANAGER, "manager@acme.test")
    MessageFactory(tenant=tenant, body_text="Where is my refund?")
    client = api_client_for(manager)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get("/api/v1/t/acme/metrics/")
    assert response.status_code == 200, response.content
    replica_reads_ = _table_reads(on_replica.captured_queries)
    assert any("tickets_" in sql or "empathy_metrics_" in sql for sql in replica_reads_)
    # The primary still serves the request itself (session, membership, tenant), not the data.
    primary_tables = " ".join(_table_reads(on_primary.captured_queries))
    assert "empathy_metrics_" not in primary_tables
    assert "tickets_messageanalysis" not in primary_tables


def test_reads_inside_replica_reads_go_to_the_replica_and_writes_to_the_primary(tenant, replica):
    TagFactory(tenant=tenant, name="billing")
    with replica_reads(tenant):
        tag = Tag.objects.for_tenant(tenant).get(name="billing")
        assert tag._state.db == REPLICA
        with CaptureQueriesContext(connections["default"]) as on_primary:
            Tag.objects.create(tenant=tenant, name="written-during-a-dashboard-read")
        assert any("INSERT" in q["sql"] for q in on_primary.captured_queries)
    with tenant_context(tenant):
        assert Tag.objects.for_tenant(tenant).get(name="billing")._state.db == "default"
        assert Tag.objects.for_tenant(tenant).filter(name__startswith="written").count() == 1
    router = ReplicaRouter()
    assert router.db_for_read(Tag) is None  # outside replica_reads: the default routing
    assert router.db_for_write(Tag) == "default"
    assert router.allow_migrate(REPLICA, "tickets") is False


@pytest.mark.postgres_only
def test_row_level_security_holds_on_the_replica_connection(tenant, other_tenant, replica):
    TicketFactory(tenant=tenant, subject="Ours")
    TicketFactory(tenant=other_tenant, subject="Theirs")
    with replica_reads(tenant):
        with replica.cursor() as cursor:
            # Raw SQL with no tenant filter: the policy on app.tenant_id still applies.
            cursor.execute("SELECT subject FROM tickets_ticket")
            assert [row[0] for row in cursor.fetchall()] == ["Ours"]
            cursor.execute("SELECT current_setting('transaction_read_only')")
            assert cursor.fetchone()[0] == "on"
        assert [t.subject for t in Ticket.objects.for_tenant(tenant)] == ["Ours"]


def test_the_replica_url_adds_a_mirrored_alias_as_the_same_role():
    from tests.helpdesk.test_settings import run_python

    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "r = s.DATABASES.get('replica'); print(json.dumps({'replica': r and {k: r.get(k) for k "
        "in ('ENGINE', 'HOST', 'NAME', 'CONN_HEALTH_CHECKS', 'TEST', 'OPTIONS')}, "
        "'routers': s.DATABASE_ROUTERS}))"
    )
    without = run_python(probe, DATABASE_URL="postgres://app@db:5432/helpdesk")
    assert json.loads(without.stdout)["replica"] is None, without.stderr
    configured = run_python(
        probe,
        DATABASE_URL="postgres://app@db:5432/helpdesk",
        HELPDESK_REPLICA_DATABASE_URL="postgres://app@replica-1:5432/helpdesk",
        HELPDESK_DB_ASSUME_ROLE="helpdesk_app",
    )
    config = json.loads(configured.stdout)
    assert config["routers"] == ["helpdesk.db_routing.ReplicaRouter"]
    replica = config["replica"]
    assert replica.pop("TEST")["MIRROR"] == "default"  # tests use the primary's database
    assert replica == {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "replica-1",
        "NAME": "helpdesk",
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"assume_role": "helpdesk_app", "options": "-c jit=off"},
    }
