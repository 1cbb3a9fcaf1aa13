"""Journey pages: list, funnel, editor, tracking; and the ticket-page include."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from empathy_metrics.services import csat_response_submit
from empathy_metrics.services_nps import survey_response_analyse
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role
from journeys.models import Journey, JourneyStage
from tests.factories.tickets import CustomerFactory
from tickets import services as ticket_services


@pytest.fixture
def manager(tenant, member_factory):
    return member_factory(tenant, Role.MANAGER, "manager@acme.test")


def stage_post(stages, **fields):
    data = {
        "name": "Purchase",
        "description": "From cart to order",
        "is_active": "on",
        "stuck_after_hours": "48",
        "dropped_after_days": "10",
        "stages-TOTAL_FORMS": str(len(stages)),
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "12",
    }
    for i, (name, events, hours) in enumerate(stages):
        data[f"stages-{i}-name"] = name
        data[f"stages-{i}-event_names"] = events
        data[f"stages-{i}-stuck_after_hours"] = hours
    data.update(fields)
    return data


def test_the_nav_shows_journeys_to_managers_and_observers_not_agents(
    client, tenant, manager, agent, member_factory
):
    client.force_login(manager)
    assert b"/t/acme/journeys/" in client.get("/t/acme/queue/").content
    client.force_login(agent)
    assert b"/t/acme/journeys/" not in client.get("/t/acme/queue/").content
    assert client.get("/t/acme/journeys/").status_code == 403
    observer = member_factory(tenant, Role.OBSERVER, "olive@acme.test")
    client.force_login(observer)
    response = client.get("/t/acme/journeys/")
    assert response.status_code == 200
    assert b"New journey" not in response.content


def test_an_admin_creates_a_journey_in_the_editor(
    client, tenant, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    assert client.get("/t/acme/journeys/new/").status_code == 200
    data = stage_post(
        [
            ("Cart", "Cart viewed", ""),
            ("Checkout", "Checkout started, Checkout resumed", ""),
            ("", "", ""),  # an empty row is dropped
            ("Payment", "Payment started", "24"),
            ("Confirmation", "Order confirmed", ""),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/journeys/new/", data)
    assert response.status_code == 302
    with tenant_context(tenant):
        journey = Journey.objects.for_tenant(tenant).get()
        stages = list(
            JourneyStage.objects.for_tenant(tenant)
            .filter(journey=journey)
            .values_list("position", "name", "event_names", "stuck_after_hours")
        )
    assert journey.rebuilt_version == journey.version  # the rebuild ran on commit
    assert stages == [
        (0, "Cart", ["Cart viewed"], None),
        (1, "Checkout", ["Checkout started", "Checkout resumed"], None),
        (2, "Payment", ["Payment started"], 24),
        (3, "Confirmation", ["Order confirmed"], None),
    ]
    assert response["Location"] == f"/t/acme/journeys/{journey.public_id}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Nobody entered in this period" in page.content


@pytest.mark.parametrize(
    ("stages", "fields", "message"),
    [
        ([("Only", "Event", "")], {}, "at least two stages"),
        ([("A", "x", ""), ("B", "x", "")], {}, "an event can mark one stage only"),
        ([("A", "x", ""), ("a", "y", "")], {}, "give each stage its own name"),
        ([("A", "", ""), ("B", "y", "")], {}, "needs at least one event name"),
        ([("A", "x", "500"), ("B", "y", "")], {}, "must be shorter than the drop limit"),
        ([("A", "x", ""), ("B", "y", "")], {"name": ""}, "This field is required"),
        (
            [("A", "x", ""), ("B", "y", "")],
            {"stuck_after_hours": "0"},
            "greater than or equal to 1",
        ),
    ],
)
def test_the_editor_shows_errors_and_keeps_the_input(
    client, tenant, admin_user, stages, fields, message
):
    client.force_login(admin_user)
    response = client.post("/t/acme/journeys/new/", stage_post(stages, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(tenant):
        assert not Journey.objects.for_tenant(tenant).exists()


def test_the_editor_refuses_a_second_journey_with_the_same_name(client, admin_user, purchase):
    client.force_login(admin_user)
    data = stage_post([("A", "x", ""), ("B", "y", "")], name="purchase")
    response = client.post("/t/acme/journeys/new/", data)
    assert response.status_code == 400
    assert "Another journey has this name." in response.content.decode()


def test_editing_stages_recomputes_positions(
    client, tenant, admin_user, purchase, ingest, now, django_capture_on_commit_callbacks
):
    ingest([("u1", "Cart viewed", now - timedelta(days=2)), ("u1", "Pay", now - timedelta(days=1))])
    client.force_login(admin_user)
    url = f"/t/acme/journeys/{purchase.public_id}/edit/"
    page = client.get(url)
    assert page.status_code == 200 and b"Checkout started" in page.content
    data = stage_post([("Cart", "Cart viewed", ""), ("Paid", "Pay", "")])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    with tenant_context(tenant):
        purchase.refresh_from_db()
    assert purchase.version == 2 and purchase.rebuilt_version == 2
    funnel = client.get(f"/t/acme/journeys/{purchase.public_id}/?days=7").context["funnel"]
    assert [s.reached for s in funnel.stages] == [1, 1]


def test_deleting_a_journey_keeps_the_events(client, tenant, admin_user, purchase, ingest, now):
    ingest([("u1", "Cart viewed", now)])
    client.force_login(admin_user)
    response = client.post(f"/t/acme/journeys/{purchase.public_id}/delete/")
    assert response.status_code == 302
    from journeys.models import JourneyEvent, JourneyRun

    with tenant_context(tenant):
        assert not Journey.objects.for_tenant(tenant).exists()
        assert not JourneyRun.objects.for_tenant(tenant).exists()
        assert JourneyEvent.objects.for_tenant(tenant).count() == 1


def test_the_funnel_page_shows_the_table_chart_voice_and_breakdown(
    client, tenant, manager, purchase, ingest, now
):
    customer = CustomerFactory(tenant=tenant, external_id="ada", company="Analytical", tags=["vip"])
    ingest(
        [
            ("ada", "Cart viewed", now - timedelta(days=6)),
            ("ada", "Checkout started", now - timedelta(days=5)),
            ("bob", "Cart viewed", now - timedelta(days=4)),
        ]
    )
    ticket = ticket_services.ticket_create(
        tenant=tenant,
        customer=customer,
        subject="Card declined",
        body="My card is declined",
        at=now - timedelta(days=1),
    )
    client.force_login(manager)
    response = client.get(f"/t/acme/journeys/{purchase.public_id}/?days=30&by=company")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="funnel-chart"' in html
    assert "Voice of the customer, by stage" in html
    assert f"/t/acme/tickets/{ticket.number}/" in html
    assert "stuck at Checkout for 4 days" in html
    assert "By company" in html and "Analytical" in html
    assert response.context["selected"] == 1  # the stage with the largest drop-off
    assert "<script>" not in html  # no inline scripts (CSP)


@pytest.mark.parametrize(
    ("cap", "words"),
    [
        ("MAX_TICKETS", "read only the latest 1 tickets of the period"),
        ("MAX_MESSAGES", "read only the latest 1 analysed messages of the period"),
    ],
)
def test_the_footnote_names_the_cap_that_cut_the_voice_panel(
    client, tenant, manager, purchase, ingest, now, monkeypatch, cap, words
):
    from journeys.selectors import voice as voice_module
    from tests.factories.tickets import ticket_with_analysis

    monkeypatch.setattr(voice_module, cap, 1)
    ada = CustomerFactory(tenant=tenant, external_id="ada")
    ingest([("ada", "Cart viewed", now - timedelta(days=6))])
    # Two tickets with a message each, but no analysis of the second ticket's message: only the
    # cap named by the test is reached.
    ticket_with_analysis(tenant, ada, now - timedelta(days=2), "One", label="neutral")
    ticket_with_analysis(tenant, ada, now - timedelta(days=1), "Two")
    if cap == "MAX_MESSAGES":
        monkeypatch.setattr(voice_module, "MAX_TICKETS", 3)
    client.force_login(manager)
    html = client.get(f"/t/acme/journeys/{purchase.public_id}/?days=30").content.decode()
    assert f"the voice panel {words}" in html
    other = "analysed messages" if cap == "MAX_TICKETS" else "tickets"
    assert f"latest 1 {other}" not in html


def test_the_funnel_page_shows_the_survey_answers_given_at_each_stage(
    client, tenant, manager, admin_user, purchase, ingest, now
):
    """CSAT from empathy_metrics (through its registered feedback source), under the stage where
    the rated ticket was raised, with the customer's comment."""
    customer = CustomerFactory(tenant=tenant, external_id="ada")
    ingest(
        [
            ("ada", "Cart viewed", now - timedelta(days=6)),
            ("ada", "Payment started", now - timedelta(days=5)),
        ]
    )
    ticket = ticket_services.ticket_create(
        tenant=tenant, customer=customer, subject="Fee?", body="A fee?", at=now - timedelta(days=2)
    )
    ticket_services.ticket_set_status(
        tenant=tenant, actor=admin_user, ticket=ticket, status="solved", at=now - timedelta(days=1)
    )
    answer = csat_response_submit(
        tenant=tenant,
        ticket=ticket,
        score=2,
        comment="The fee was never explained",
        at=now - timedelta(hours=20),
    )
    analysis = SimpleNamespace(
        model_version="test",
        language="en",
        sentiment_label="negative",
        sentiment_score=-0.6,
        signals={},
        keywords=["fee"],
    )
    survey_response_analyse(  # the task the answer queues on commit
        tenant=tenant,
        response_id=answer.response.pk,
        analyser=SimpleNamespace(analyse=lambda text, **kwargs: analysis),
    )
    client.force_login(manager)
    response = client.get(f"/t/acme/journeys/{purchase.public_id}/?days=30&stage=2")
    payment = response.context["voice"].stage(2)
    assert (payment.tickets, payment.csat_count, payment.csat_average, payment.surveys) == (
        1,
        1,
        2.0,
        1,
    )
    html = response.content.decode()
    assert "2.0 / 5" in html
    assert "The fee was never explained" in html
    # The analysed comment counts in the stage's mood figures.
    assert payment.survey_scored == 1 and payment.scored == 1
    assert "1 analysed comment in the mood figures" in html


@pytest.mark.parametrize(
    "query",
    ["?days=3", "?start=2025-02-30&end=2025-03-01", "?start=2025-03-05&end=2025-03-01", "?by=x"],
)
def test_bad_filters_fall_back_with_a_message(client, manager, purchase, query):
    client.force_login(manager)
    response = client.get(f"/t/acme/journeys/{purchase.public_id}/{query}")
    assert response.status_code == 200
    assert "Showing the last 30 days instead." in response.content.decode()


def test_a_date_range_is_read_in_the_tenants_time_zone(client, manager, purchase):
    client.force_login(manager)
    response = client.get(f"/t/acme/journeys/{purchase.public_id}/?start=2025-03-01&end=2025-03-31")
    period = response.context["period"]
    assert period.start.isoformat() == "2025-03-01T00:00:00+01:00"  # Europe/Berlin
    assert period.label == "1 Mar 2025 to 31 Mar 2025"


def test_the_tracking_page_shows_the_endpoint_snippet_and_latest_events(
    client, tenant, admin_user, purchase, ingest, now
):
    ingest([("u-77", "Cart viewed", now)])
    client.force_login(admin_user)
    response = client.get("/t/acme/journeys/tracking/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "http://testserver/api/v1/t/acme/events/" in html
    assert "/static/js/track.js" in html
    assert "u-77" in html and "Cart viewed" in html


def render_position(tenant, ticket, membership=None):
    request = RequestFactory().get("/")
    request.tenant = tenant
    request.membership = membership
    template = Template("{% load journey_tags %}{% journey_position ticket %}")
    with tenant_context(tenant):
        return template.render(
            Context({"ticket": ticket, "request": request, "current_tenant": tenant})
        )


def test_the_ticket_page_include_says_where_the_customer_was_when_they_wrote(
    tenant, admin_user, purchase, onboarding, ingest, now
):
    customer = CustomerFactory(tenant=tenant, external_id="ada")
    ingest(
        [
            ("ada", "Cart viewed", now - timedelta(days=6)),
            ("ada", "Payment started", now - timedelta(days=5, hours=1)),
            ("ada", "Order confirmed", now - timedelta(hours=5)),
        ]
    )
    ticket = ticket_services.ticket_create(
        tenant=tenant, customer=customer, subject="Fee?", body="Why?", at=now - timedelta(days=2)
    )
    membership = Membership.objects.get(tenant=tenant, user=admin_user)
    html = render_position(tenant, ticket, membership)
    assert "Stuck at Payment for 3 days" in html
    assert "Now: completed the journey" in html
    assert f"/t/acme/journeys/{purchase.public_id}/?stage=2#voice" in html
    assert "Onboarding" not in html  # not in that journey


def test_the_ticket_page_tag_reads_the_ticket_pages_own_context_in_four_queries(
    client, tenant, agent, purchase, onboarding, ingest, now, django_assert_max_num_queries
):
    """Rendered with the context of the real ticket page (as ``{% journey_position ticket %}``
    there): one row per journey the customer was in when they wrote; no funnel links for an
    agent, whose role cannot see journeys."""
    customer = CustomerFactory(tenant=tenant, external_id="ada")
    wrote = now - timedelta(days=1)
    ingest(
        [
            ("ada", "Signed up", wrote - timedelta(days=4)),
            ("ada", "Cart viewed", wrote - timedelta(hours=20)),
            ("ada", "Checkout started", now - timedelta(hours=2)),  # after writing
        ]
    )
    ticket = ticket_services.ticket_create(
        tenant=tenant, customer=customer, subject="Fee?", body="Why?", at=wrote
    )
    client.force_login(agent)
    response = client.get(f"/t/acme/tickets/{ticket.number}/")
    assert response.status_code == 200
    template = Template("{% load journey_tags %}{% journey_position ticket %}")
    with tenant_context(tenant), django_assert_max_num_queries(4):
        html = template.render(Context(response.context[0].flatten()))
    assert "Stuck at Sign-up for 4 days" in html
    assert "At Cart for 20 h" in html and "Now: at Checkout for 2 h" in html
    assert html.index("Onboarding") < html.index("Purchase")
    assert "/journeys/" not in html  # agents cannot open the funnel


def test_the_agents_ticket_page_shows_where_the_customer_was_when_they_wrote(
    client, tenant, manager, purchase, ingest, now
):
    """End to end through templates/tickets/ticket.html (``{% journey_position ticket %}`` under
    the customer card)."""
    customer = CustomerFactory(tenant=tenant, external_id="ada")
    ingest(
        [
            ("ada", "Cart viewed", now - timedelta(days=6)),
            ("ada", "Payment started", now - timedelta(days=5, hours=1)),
        ]
    )
    ticket = ticket_services.ticket_create(
        tenant=tenant, customer=customer, subject="Fee?", body="Why?", at=now - timedelta(days=2)
    )
    client.force_login(manager)
    html = client.get(f"/t/acme/tickets/{ticket.number}/").content.decode()
    assert "Journey when they wrote" in html
    assert "Stuck at Payment for 3 days" in html
    assert "Now: " not in html  # still at Payment
    assert f"/t/acme/journeys/{purchase.public_id}/?stage=2#voice" in html


def test_the_ticket_page_include_renders_nothing_outside_journeys(tenant, purchase):
    customer = CustomerFactory(tenant=tenant)
    ticket = ticket_services.ticket_create(tenant=tenant, customer=customer, subject="Hi", body="x")
    assert render_position(tenant, ticket).strip() == ""


@pytest.mark.parametrize(
    "tamper",
    [
        {"stages-TOTAL_FORMS": "1000"},
        {"stages-TOTAL_FORMS": "x"},
        {"stages-TOTAL_FORMS": None},
        {"dropped_after_days": "99999999999999999999"},
    ],
)
def test_a_tampered_editor_form_is_a_400_not_a_500(client, tenant, admin_user, tamper):
    client.force_login(admin_user)
    data = stage_post([("A", "x", ""), ("B", "y", "")])
    for key, value in tamper.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    response = client.post("/t/acme/journeys/new/", data)
    assert response.status_code == 400
    with tenant_context(tenant):
        assert not Journey.objects.for_tenant(tenant).exists()
