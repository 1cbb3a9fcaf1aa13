"""Drill-down from the figures that had no link: the "Negative" column of each breakdown, the
Backlog column of the trend table (a past period's backlog lists the tickets open at its end,
not the ones open now), and the digest's example messages (see test_digest)."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from empathy_metrics.periods import Filters, Period
from empathy_metrics.selectors.drilldown import drill_tickets
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory
from tests.empathy_metrics.test_pages_dashboard import world  # noqa: F401 (a fixture)
from tests.factories.tickets import MessageFactory, TicketFactory
from tickets.models import Ticket, TicketEvent

BERLIN = ZoneInfo("Europe/Berlin")


def links(html: str, metric: str) -> list[tuple[str, str]]:
    """(href, text) of every drill link to ``metric`` in the page."""
    found = []
    for href, text in re.findall(r'<a href="([^"]*/drill/\?[^"]*)"[^>]*>([^<]*)</a>', html):
        href = htmllib.unescape(href)
        if f"metric={metric}&" in href + "&":
            found.append((href, text.strip()))
    return found


def test_the_negative_column_of_each_breakdown_leads_to_its_negative_messages(
    client,
    tenant,
    member_factory,
    world,  # noqa: F811
):
    now = world["now"]
    chat = world["tickets"][1]
    for text in ("Still broken", "Nobody answers"):  # two more negatives, on a chat ticket
        MessageAnalysisFactory(
            tenant=tenant,
            message=MessageFactory(tenant=tenant, ticket=chat, body_text=text, created_at=now),
            sentiment_label="negative",
        )
    MessageAnalysisFactory(  # a positive one: in the share's denominator, not behind the link
        tenant=tenant,
        message=MessageFactory(tenant=tenant, ticket=chat, body_text="Thanks", created_at=now),
        sentiment_label="positive",
    )
    metrics_rollup_rebuild(tenant=tenant, now=now)
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    page = client.get("/t/acme/dashboards/?period=90d")
    html = page.content.decode()
    followed = 0
    for dim, rows in page.context["data"]["breakdowns"].items():
        for row in rows:
            if row["negative_share"] is None:
                continue
            expected = f"metric=negative&{dim}={row['value']}"
            (href,) = [h for h, _t in links(html, "negative") if h.endswith(expected)]
            drill = client.get(href)
            assert drill.status_code == 200, href
            assert drill.context["page"].paginator.count == row["negative"], (dim, row)
            followed += 1
    # email: 1 of 1 negative; chat: 2 of 3; by group, agent and tag likewise
    assert followed >= 4
    by_channel = {r["value"]: r for r in page.context["data"]["breakdowns"]["channel"]}
    assert (by_channel["email"]["negative"], by_channel["chat"]["negative"]) == (1, 2)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=BERLIN)


def status_event(tenant, ticket, before, after, when, kind="ticket.status_changed"):
    with tenant_context(tenant):
        TicketEvent.objects.create(
            tenant=tenant,
            ticket=ticket,
            kind=kind,
            from_value=before,
            to_value=after,
            created_at=when,
        )


def set_status(tenant, ticket, status):
    with tenant_context(tenant):
        Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(status=status)


def test_the_backlog_of_a_past_period_lists_the_tickets_open_at_its_end(
    client, tenant, member_factory
):
    tenant.time_zone = "Europe/Berlin"
    tenant.save(update_fields=["time_zone"])
    # The week 2-8 March 2026; by hand, open at the end of Sunday 8 March: B and D.
    a = TicketFactory(tenant=tenant, subject="A solved on the 5th", created_at=at(1))
    set_status(tenant, a, "solved")
    status_event(tenant, a, "new", "solved", at(5))
    b = TicketFactory(tenant=tenant, subject="B open all along", created_at=at(3))
    set_status(tenant, b, "open")
    c = TicketFactory(tenant=tenant, subject="C solved, reopened on the 9th", created_at=at(2))
    set_status(tenant, c, "open")
    status_event(tenant, c, "open", "solved", at(3))
    status_event(tenant, c, "solved", "open", at(9), kind="ticket.reopened")
    d = TicketFactory(tenant=tenant, subject="D solved only on the 10th", created_at=at(4))
    set_status(tenant, d, "solved")
    status_event(tenant, d, "new", "open", at(4, 13))
    status_event(tenant, d, "open", "solved", at(10))
    e = TicketFactory(tenant=tenant, subject="E created later", created_at=at(10))
    set_status(tenant, e, "open")

    week = Period(date(2026, 3, 2), date(2026, 3, 8), BERLIN)
    with tenant_context(tenant):
        past = drill_tickets(
            tenant=tenant, metric="backlog", period=week, filters=Filters(), now=timezone.now()
        )
        assert {t.subject for t in past} == {b.subject, d.subject}
        current = Period(date(2026, 3, 2), date(2026, 3, 8), BERLIN)
        open_now = drill_tickets(
            tenant=tenant, metric="backlog", period=current, filters=Filters(), now=at(8, 18)
        )  # the period is not over at that moment: the open tickets now
        assert {t.subject for t in open_now} == {b.subject, c.subject, e.subject}

    # The trend table's Backlog cell of Sunday 8 March leads there.
    client.force_login(member_factory(tenant, Role.MANAGER, "m@acme.test"))
    html = client.get(
        "/t/acme/dashboards/?period=custom&from=2026-03-02&to=2026-03-08&bucket=day"
    ).content.decode()
    (href,) = [h for h, _t in links(html, "backlog") if "from=2026-03-08&to=2026-03-08" in h]
    drill = client.get(href)
    assert drill.status_code == 200
    assert drill.context["page"].paginator.count == 2
    assert "open at the end of 8 Mar 2026" in drill.content.decode()
    assert {row["ticket"].subject for row in drill.context["rows"]} == {b.subject, d.subject}
