"""Tenant isolation of journeys, events and funnels: every way across is closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import ProgrammingError, connection, transaction
from rest_framework.test import APIClient

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create
from journeys import selectors, services
from journeys.models import JourneyEvent, JourneyRun, JourneyStep
from tests.factories.journeys import journey_make
from tests.factories.tickets import CustomerFactory
from tests.isolation.probe import discover_tenant_routes, probe, snapshot_of_tenant
from tickets.models import Customer

SENTINEL = "SENTINEL-OF-GLOBEX"


@pytest.fixture
def globex(other_tenant, now):
    """B: a journey with the sentinel in its names, events and positions."""
    journey = journey_make(
        other_tenant, SENTINEL, [(SENTINEL, ["Cart viewed"]), ("Paid", ["Order confirmed"])]
    )
    CustomerFactory(tenant=other_tenant, external_id="shared-id", name=SENTINEL)
    services.events_ingest(
        tenant=other_tenant,
        events=[
            {
                "id": f"b-{i}",
                "name": "Cart viewed",
                "customer_id": "shared-id",
                "timestamp": (now - timedelta(days=1, minutes=i)).isoformat(),
                "properties": {"note": SENTINEL},
            }
            for i in range(3)
        ],
    )
    return journey


def journey_routes():
    return [
        r for r in discover_tenant_routes() if "journeys" in r.pattern or "/events/" in r.pattern
    ]


def test_the_probe_finds_every_journeys_route():
    patterns = {r.pattern for r in journey_routes()}
    assert {
        "/t/<slug:tenant_slug>/journeys/",
        "/t/<slug:tenant_slug>/journeys/<uuid:public_id>/",
        "/t/<slug:tenant_slug>/journeys/<uuid:public_id>/edit/",
        "/t/<slug:tenant_slug>/journeys/<uuid:public_id>/delete/",
        "/api/v1/t/<slug:tenant_slug>/events/",
        "/api/v1/t/<slug:tenant_slug>/journeys/<uuid:public_id>/funnel/",
    } <= patterns


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.AGENT, Role.OBSERVER])
def test_no_journeys_route_serves_or_changes_another_tenants_data(
    client, tenant, other_tenant, globex, member_factory, role
):
    journey_make(tenant)  # A has its own journey too
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    before = snapshot_of_tenant(other_tenant)
    leaks = probe(
        client,
        own_slug=tenant.slug,
        foreign_slug=other_tenant.slug,
        foreign_ids={"public_id": [str(globex.public_id)]},
        sentinel=SENTINEL,
        routes=journey_routes(),
    )
    assert leaks == []
    assert snapshot_of_tenant(other_tenant) == before


def test_events_and_funnels_stay_in_their_tenant(tenant, other_tenant, globex, now, admin_user):
    mine = journey_make(
        tenant, "Purchase", [("Cart", ["Cart viewed"]), ("Paid", ["Order confirmed"])]
    )
    # A customer with the same external id exists in both tenants: each batch matches its own.
    CustomerFactory(tenant=tenant, external_id="shared-id")
    services.events_ingest(
        tenant=tenant,
        events=[{"id": "b-0", "name": "Order confirmed", "customer_id": "shared-id"}],
    )
    with tenant_context(tenant):
        events = list(
            JourneyEvent.objects.for_tenant(tenant).values_list("customer__tenant_id", flat=True)
        )
        assert events == [tenant.pk]  # the same event id as B's is new here: ids are per tenant
        funnel = selectors.journey_funnel(
            tenant=tenant, journey=mine, period=selectors.period_last_days(days=30)
        )
        assert funnel.entered == 0  # B's three cart views do not count in A
        assert selectors.journey_get(tenant=tenant, public_id=globex.public_id) is None
    with tenant_context(other_tenant):
        funnel = selectors.journey_funnel(
            tenant=other_tenant, journey=globex, period=selectors.period_last_days(days=30)
        )
        assert funnel.entered == 1
        assert Customer.objects.for_tenant(other_tenant).count() == 1


def test_segment_keys_on_runs_stay_in_their_tenant(tenant, other_tenant, globex, now):
    """Runs copy their customer's company and tags: only their own tenant's customer's, in the
    breakdowns and when a customer changes."""
    from tickets.services.customers import customer_update

    mine = journey_make(tenant, "Purchase", [("Cart", ["Cart viewed"]), ("Paid", ["Paid"])])
    ada = CustomerFactory(tenant=tenant, external_id="shared-id", company="Acme", tags=["vip"])
    services.events_ingest(
        tenant=tenant, events=[{"id": "a-0", "name": "Cart viewed", "customer_id": "shared-id"}]
    )
    with tenant_context(other_tenant):
        stranger = Customer.objects.for_tenant(other_tenant).get(external_id="shared-id")
    customer_update(tenant=other_tenant, customer=stranger, company=SENTINEL, tags=[SENTINEL])
    customer_update(tenant=tenant, customer=ada, tags=["vip", "beta"])
    period = selectors.period_last_days(days=30)
    with tenant_context(tenant):
        for by in ("company", "tag", "signup_month"):
            breakdown = selectors.journey_breakdown(
                tenant=tenant, journey=mine, period=period, by=by, stage_count=2
            )
            assert SENTINEL.lower() not in str([row.label for row in breakdown.rows]).lower()
            assert sum(row.entered for row in breakdown.rows) == (2 if by == "tag" else 1)
        assert list(JourneyRun.objects.for_tenant(tenant).values_list("company", "tags")) == [
            ("Acme", ["beta", "vip"])
        ]
    with tenant_context(other_tenant):
        runs = JourneyRun.objects.for_tenant(other_tenant).values_list("company", "tags")
        assert list(runs) == [(SENTINEL, [SENTINEL.lower()])]  # tags are kept in lower case


def test_another_tenants_journey_is_404_in_the_funnel_api_and_pages(
    client, tenant, globex, member_factory
):
    manager = member_factory(tenant, Role.MANAGER, "m@acme.test")
    api = APIClient()
    api.force_login(manager)
    url = f"/api/v1/t/acme/journeys/{globex.public_id}/funnel/"
    response = api.get(url)
    assert response.status_code == 404 and SENTINEL not in response.content.decode()
    assert api.get("/api/v1/t/acme/journeys/").json() == []
    client.force_login(manager)
    assert client.get(f"/t/acme/journeys/{globex.public_id}/").status_code == 404
    assert client.get(f"/t/acme/journeys/{globex.public_id}/edit/").status_code == 404


def test_an_api_key_cannot_post_into_another_tenant(tenant, other_tenant, admin_user, globex):
    _k, raw = api_key_create(tenant=tenant, actor=admin_user, name="a", scopes=["ingest:events"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    body = [{"id": "x", "name": "Cart viewed", "customer_id": "shared-id"}]
    assert client.post("/api/v1/t/globex/events/", body, format="json").status_code == 401
    with tenant_context(other_tenant):
        assert JourneyEvent.objects.for_tenant(other_tenant).count() == 3


def test_the_ticket_include_ignores_a_ticket_of_another_tenant(tenant, other_tenant, globex):
    from django.template import Context, Template

    from tickets import services as ticket_services

    with tenant_context(other_tenant):
        customer = Customer.objects.for_tenant(other_tenant).get()
    ticket = ticket_services.ticket_create(
        tenant=other_tenant, customer=customer, subject="x", body="y"
    )
    html = Template("{% load journey_tags %}{% journey_position ticket %}").render(
        Context({"ticket": ticket, "current_tenant": tenant})
    )
    assert html.strip() == ""


@pytest.mark.postgres_only
def test_row_level_security_hides_and_refuses_other_tenants_journey_rows(
    tenant, other_tenant, globex
):
    journey_make(tenant)
    with tenant_context(tenant), connection.cursor() as cursor:
        for table in (
            "journeys_journey",
            "journeys_journeystage",
            "journeys_journeyevent",
            "journeys_customerkey",
            "journeys_journeyrun",
            "journeys_journeystep",
        ):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [other_tenant.pk])
            assert cursor.fetchone() == (0,), table
        cursor.execute("SELECT count(*) FROM journeys_journey")
        assert cursor.fetchone() == (1,)
    with tenant_context(tenant), pytest.raises(ProgrammingError, match="row-level security"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO journeys_journeyevent (tenant_id, customer_id, event_id, name, "
                "occurred_at, received_at, properties) VALUES (%s, 1, 'x', 'x', now(), now(), '{}')",
                [other_tenant.pk],
            )


@pytest.mark.postgres_only
def test_a_composite_foreign_key_stops_a_run_pointing_at_another_tenants_customer(
    tenant, other_tenant, globex
):
    from django.db import IntegrityError

    from helpdesk.tenancy.context import system_context

    mine = journey_make(tenant)
    with system_context(reason="test"):
        foreign = Customer.objects.filter(tenant=other_tenant).first()
        run = JourneyRun.objects.filter(tenant=other_tenant).first()
        assert JourneyStep.objects.filter(tenant=other_tenant).exists()
    with system_context(reason="test"), pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "UPDATE journeys_journeyrun SET journey_id = %s WHERE id = %s", [mine.pk, run.pk]
            )
    assert foreign is not None


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("table", "references"),
    [
        ("journeys_journeyevent", {("tenant_id", "customer_id")}),
        (
            "journeys_journeyrun",
            {("tenant_id", "customer_id"), ("tenant_id", "journey_id")},
        ),
        (
            "journeys_journeystep",
            {("tenant_id", "customer_id"), ("tenant_id", "journey_id"), ("tenant_id", "run_id")},
        ),
    ],
)
def test_ingestion_tables_check_their_keys_through_the_tenant_safe_composite_keys_only(
    db, table, references
):
    """One check per reference when a row is stored: the composite key, which also proves the
    tenant. (Django's single-column constraints would double the checks on every event.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT array_agg(a.attname::text ORDER BY k.ord)
            FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.conrelid = %s::regclass AND c.contype = 'f'
            GROUP BY c.oid
            """,
            [table],
        )
        assert {tuple(row[0]) for row in cursor.fetchall()} == references
        cursor.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = %s::regclass AND i.indnatts = 1 AND a.attname = 'tenant_id'",
            [table],
        )
        assert cursor.fetchone() == (0,)  # every index starts with the tenant already


@pytest.mark.postgres_only
def test_an_event_for_another_tenants_or_a_missing_customer_is_refused(
    tenant, other_tenant, globex
):
    from django.db import IntegrityError

    with tenant_context(other_tenant):
        foreign = Customer.objects.for_tenant(other_tenant).first()
    for customer_id in (foreign.pk, 2**62):
        with tenant_context(tenant), pytest.raises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(
                    "INSERT INTO journeys_journeyevent (tenant_id, customer_id, event_id, name, "
                    "occurred_at, received_at, properties) "
                    "VALUES (%s, %s, 'x', 'x', now(), now(), '{}')",
                    [tenant.pk, customer_id],
                )
