"""What the agent sees on the queue and ticket pages after the rendering shortcuts: cached queue
rows that still follow every change and every viewer, the mood column and filters, the analysis
on each customer message, and the icon tag."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import Message, Ticket
from tickets.services.analysis import messages_analyse

pytestmark = pytest.mark.django_db


def row_of(html: str, subject: str) -> str:
    """The queue row (<tr>…</tr>) that shows ``subject``."""
    start = html.rindex("<tr", 0, html.index(subject))
    return html[start : html.index("</tr>", start)]


@pytest.fixture
def second_agent(tenant, member_factory):
    return member_factory(tenant, Role.AGENT, "second@acme.test")


@pytest.fixture
def assigned(tenant, agent):
    customer = CustomerFactory(tenant=tenant, name="Dana Scully")
    ticket = services.ticket_create(
        tenant=tenant, customer=customer, subject="Refund never arrived", body="Where is it?"
    )
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    with tenant_context(tenant):
        return Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)


def test_a_cached_row_follows_the_viewer_and_every_change(
    client, tenant, agent, second_agent, assigned
):
    client.force_login(agent)
    mine = row_of(client.get("/t/acme/queue/").content.decode(), "Refund never arrived")
    assert ">You<" in mine

    # the same row, cached for the first agent, must not tell the second one "You"
    client.force_login(second_agent)
    theirs = row_of(client.get("/t/acme/queue/").content.decode(), "Refund never arrived")
    assert ">You<" not in theirs and (agent.full_name or agent.email) in theirs

    # a change moves the row's key: the next page shows it, no stale row
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=assigned, status="pending")
    client.force_login(agent)
    after = row_of(client.get("/t/acme/queue/").content.decode(), "Refund never arrived")
    assert "Pending" in after

    # so does the analysis, which sets the mood without the agent doing anything
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get(ticket=assigned)
        Message.objects.for_tenant(tenant).filter(pk=message.pk).update(
            body_text="This is ridiculous, the app keeps crashing and nobody answers!!!"
        )
    messages_analyse(tenant=tenant, message_ids=[message.pk])
    moody = row_of(client.get("/t/acme/queue/").content.decode(), "Refund never arrived")
    assert "mood-badge--negative" in moody and "frustration" in moody


def test_queue_offers_mood_and_signal_filters_that_narrow_the_rows(client, tenant, agent):
    angry = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant),
        subject="Charged twice",
        body="I was charged twice and I am furious, this is unacceptable!!!",
    )
    calm = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant),
        subject="Thanks a lot",
        body="Thank you so much, that fixed it. Great help!",
    )
    with tenant_context(tenant):
        ids = list(
            Message.objects.for_tenant(tenant)
            .filter(ticket__in=[angry, calm])
            .values_list("pk", flat=True)
        )
    messages_analyse(tenant=tenant, message_ids=ids)
    client.force_login(agent)
    page = client.get("/t/acme/queue/").content.decode()
    assert 'name="mood"' in page and 'name="signal"' in page and ">Mood</th>" in page
    negative = client.get("/t/acme/queue/?mood=negative", HTTP_HX_REQUEST="true")
    body = negative.content.decode()
    assert "Charged twice" in body and "Thanks a lot" not in body
    grateful = client.get("/t/acme/queue/?signal=gratitude", HTTP_HX_REQUEST="true")
    assert "Thanks a lot" in grateful.content.decode()
    assert "Charged twice" not in grateful.content.decode()


def test_warm_queue_rows_skip_the_full_read_of_the_tickets(client, tenant, agent):
    customer = CustomerFactory(tenant=tenant)
    for n in range(12):
        services.ticket_create(tenant=tenant, customer=customer, subject=f"Row {n}", body="x")
    client.force_login(agent)
    with CaptureQueriesContext(connection) as cold:
        assert client.get("/t/acme/queue/").status_code == 200
    with CaptureQueriesContext(connection) as warm:
        html = client.get("/t/acme/queue/").content.decode()
    assert all(f"Row {n}<" in html for n in range(12))

    # cold: the rows are rendered from a full read (tickets with customer, assignee, group);
    # warm: every row comes from the cache, so that read is skipped
    def full_reads(captured):
        return [q for q in captured if 'JOIN "tickets_customer"' in q["sql"]]

    assert len(full_reads(cold.captured_queries)) == 1
    assert full_reads(warm.captured_queries) == []


def test_the_ticket_page_shows_the_mood_and_each_messages_analysis(client, tenant, agent):
    ticket = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant),
        subject="Locked out",
        body="I'm locked out and I don't know what to click. This is urgent, please help asap!",
    )
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get(ticket=ticket)
    messages_analyse(tenant=tenant, message_ids=[message.pk])
    client.force_login(agent)
    html = client.get(f"/t/acme/tickets/{ticket.number}/").content.decode()
    header = html[html.index('id="ticket-meta"') : html.index("data-presence")]
    assert "mood-badge" in header
    thread = html[html.index('id="ticket-thread"') :]
    assert "analysis-marker--" in thread and "urgency" in thread and "confusion" in thread
    assert "Correct" in thread  # agents can correct it in one click
    # the reply box offers the help centre's articles to link (static/js/article_links.js)
    assert 'data-article-links data-url="/t/acme/articles/links/"' in html
    assert "js/article_links.js" in html


def test_icon_tag_draws_known_icons_and_escapes_the_class():
    html = Template('{% load ui %}{% icon "inbox" "icon--sm" %}{% icon "nope" x %}').render(
        Context({"x": '"><script>'})
    )
    assert html.count("<svg") == 2 and 'class="icon icon--sm"' in html
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html
    assert '<circle cx="12" cy="12" r="3"/>' in html  # an unknown name draws the fallback


def test_every_event_kind_the_code_records_has_a_readable_timeline_row():
    """Discovered from the sources, so a new kind without words fails here, not on a page."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    kinds = set()
    for app in ("tickets", "empathy_metrics", "journeys", "helpdesk"):
        for path in (root / app).rglob("*.py"):
            kinds |= set(re.findall(r'kind="([a-z_]+\.[a-z_]+)"', path.read_text()))
    templates = "".join(
        (root / "templates/tickets/includes" / name).read_text()
        for name in ("event.html", "timeline_event.html")
    )
    assert "ticket.created" in kinds and "ticket.mood_changed" in kinds
    assert sorted(k for k in kinds if f'"{k}"' not in templates) == []


def test_the_timeline_tells_the_mood_change_in_words(client, tenant, agent):
    ticket = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant),
        subject="Furious",
        body="This is the worst service ever, I want to cancel my subscription!",
    )
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get(ticket=ticket)
    messages_analyse(tenant=tenant, message_ids=[message.pk])
    client.force_login(agent)
    html = client.get(f"/t/acme/tickets/{ticket.number}/").content.decode()
    assert "Customer mood <strong>negative</strong>" in html and "churn risk" in html
    assert "ticket.mood_changed" not in html


def test_agents_open_the_customers_view_from_the_ticket_page(client, tenant, agent):
    ticket = services.ticket_create(
        tenant=tenant,
        customer=CustomerFactory(tenant=tenant, name="Dana Scully"),
        subject="Where is my parcel",
        body="It has been a week.",
    )
    client.force_login(agent)
    html = client.get(f"/t/acme/tickets/{ticket.number}/").content.decode()
    start = html.index("See what the customer sees")
    href = html[html.rindex('href="', 0, start) + 6 :].split('"', 1)[0]
    view = client.get(href)
    assert view.status_code == 200
    body = view.content.decode()
    assert "Where is my parcel" in body and "<textarea" not in body  # read-only: no reply box
