"""The agent workspace pages: queue, ticket and customer, through the Django test client.

Every ticket action is a small POST form on the ticket page: it changes the ticket through the
service and says so; a refused change shows an error and changes nothing. Observers see the
pages read-only and every action answers 403.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory, GroupFactory
from tickets import services
from tickets.models import (
    CustomFieldDefinition,
    Message,
    SavedView,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.services.macros import macro_save

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant, name="Dana Scully", email="dana@example.com")


@pytest.fixture
def ticket(tenant, customer):
    return services.ticket_create(
        tenant=tenant, customer=customer, subject="Checkout spins forever", body="Help please"
    )


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def observer(tenant, member_factory):
    return member_factory(tenant, Role.OBSERVER, "observer@acme.test")


@pytest.fixture
def specialists(tenant):
    return GroupFactory(tenant=tenant, name="Specialists", tier=2)


def fresh(tenant, ticket) -> Ticket:
    with tenant_context(tenant):
        return Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)


def tag_names(tenant, ticket) -> list[str]:
    with tenant_context(tenant):
        return sorted(fresh(tenant, ticket).tags.values_list("name", flat=True))


def event_count(tenant, ticket) -> int:
    with tenant_context(tenant):
        return TicketEvent.objects.for_tenant(tenant).filter(ticket=ticket).count()


def url(ticket, action="") -> str:
    base = f"/t/acme/tickets/{ticket.number}/"
    return f"{base}{action}/" if action else base


def post(client, path, data=None):
    """POST like the page's form does and follow the redirect back to the page."""
    response = client.post(path, data or {}, follow=True)
    assert response.status_code == 200, response.status_code
    return response


def flashes(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def page_text(response) -> str:
    return response.content.decode()


class _Ancestry(HTMLParser):
    """Records, for every element with an id, the ids of the elements around it."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "col", "embed"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.parents: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        element_id = dict(attrs).get("id") or ""
        if element_id:
            self.parents[element_id] = [i for i in self.stack if i]
        if tag not in self.VOID:
            self.stack.append(element_id)

    def handle_startendtag(self, tag, attrs):
        element_id = dict(attrs).get("id") or ""
        if element_id:
            self.parents[element_id] = [i for i in self.stack if i]

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def ancestry(html: str) -> dict[str, list[str]]:
    parser = _Ancestry()
    parser.feed(html)
    return parser.parents


# --- ticket page: what agents and observers see ---------------------------------------------


def test_agent_sees_reply_box_actions_and_live_wrappers(agent_client, ticket):
    html = page_text(agent_client.get(url(ticket)))
    assert f'action="{url(ticket, "reply")}"' in html
    for action in ("take", "assign", "status", "priority", "tags", "merge"):
        assert f'action="{url(ticket, action)}"' in html, action
    assert 'name="internal"' in html and 'name="set_status"' in html and 'name="macro"' in html
    assert f'data-ws-path="/ws/t/acme/tickets/{ticket.number}/"' in html
    # The reply box is outside the parts that refresh live, so a draft is never replaced.
    parents = ancestry(html)
    assert "ticket-thread" not in parents["reply"] and "ticket-aside" not in parents["reply"]
    assert "reply-body" in parents and "ticket-thread" not in parents["reply-body"]
    assert "ticket-meta" in parents
    # keyboard help, no inline script
    assert 'id="shortcuts-dialog"' in html and "Press <kbd>?</kbd> for shortcuts" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_observer_sees_the_ticket_read_only(client, observer, ticket):
    client.force_login(observer)
    html = page_text(client.get(url(ticket)))
    assert "Checkout spins forever" in html and "Read-only" in html
    assert 'id="reply"' not in html and 'name="body"' not in html
    for action in ("reply", "take", "assign", "status", "priority", "tags", "escalate", "merge"):
        assert f'action="{url(ticket, action)}"' not in html, action


def test_observer_gets_403_on_every_action_and_nothing_changes(
    client, tenant, observer, agent, ticket, specialists
):
    macro = macro_save(tenant=tenant, actor=agent, name="Hello", body="Hi")
    client.force_login(observer)
    before = (fresh(tenant, ticket).status, event_count(tenant, ticket))
    attempts = {
        "reply": {"body": "Sneaky", "internal": "false"},
        "status": {"status": "solved"},
        "priority": {"priority": "urgent"},
        "take": {},
        "assign": {"assignee": str(observer.pk)},
        "escalate": {"group": specialists.pk, "reason": "Because"},
        "deescalate": {"group": specialists.pk},
        "tags": {"add": "sneaky"},
        "fields": {"cf_order": "1"},
        "merge": {"target": ticket.number},
    }
    for action, data in attempts.items():
        assert client.post(url(ticket, action), data).status_code == 403, action
    assert client.get(f"{url(ticket)}macros/{macro.public_id}/").status_code == 403
    bulk = {"tickets": [ticket.number], "action": "close", "value": ""}
    assert client.post("/t/acme/queue/bulk/", bulk).status_code == 403
    assert (fresh(tenant, ticket).status, event_count(tenant, ticket)) == before
    with tenant_context(tenant):
        assert not Message.objects.for_tenant(tenant).filter(body_text="Sneaky").exists()


# --- ticket page: each action changes the ticket and says so -------------------------------


def test_reply_is_sent_and_the_page_says_so(agent_client, tenant, ticket, agent):
    response = post(
        agent_client, url(ticket, "reply"), {"body": "We're on it", "internal": "false"}
    )
    assert ("success", "Reply sent.") in flashes(response)
    assert "We&#x27;re on it" in page_text(response)
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).filter(ticket=ticket).latest("id")
    assert (message.body_text, message.is_internal, message.author_user) == (
        "We're on it",
        False,
        agent,
    )
    assert fresh(tenant, ticket).status == Status.OPEN  # first public reply opens a new ticket


def test_internal_note_and_reply_and_set_status(agent_client, tenant, ticket):
    response = post(
        agent_client,
        url(ticket, "reply"),
        {"body": "Customer is on the old plan", "internal": "true", "set_status": "on_hold"},
    )
    assert ("success", "Note added.") in flashes(response)
    assert "msg--note" in page_text(response)
    with tenant_context(tenant):
        assert Message.objects.for_tenant(tenant).filter(ticket=ticket).latest("id").is_internal
    assert fresh(tenant, ticket).status == Status.ON_HOLD


def test_reply_with_a_macro_applies_its_actions(agent_client, tenant, ticket, agent):
    macro = macro_save(
        tenant=tenant,
        actor=agent,
        name="Refund",
        body="Hi {{customer.first_name}}, the refund is on its way.",
        set_status="pending",
        set_priority="high",
        add_tags=["refund"],
    )
    response = post(
        agent_client,
        url(ticket, "reply"),
        {
            "body": "Hi Dana, the refund is on its way!",
            "internal": "false",
            "macro": macro.public_id,
        },
    )
    assert ("success", "Reply sent.") in flashes(response)
    changed = fresh(tenant, ticket)
    assert (changed.status, changed.priority) == (Status.PENDING, "high")
    assert tag_names(tenant, ticket) == ["refund"]
    with tenant_context(tenant):
        last = Message.objects.for_tenant(tenant).filter(ticket=ticket).latest("id")
    assert last.body_text == "Hi Dana, the refund is on its way!"  # the agent's edit wins


def test_macro_preview_returns_the_rendered_text_and_actions(agent_client, tenant, ticket, agent):
    macro = macro_save(
        tenant=tenant,
        actor=agent,
        name="Pending",
        body="Hi {{customer.first_name}}, about {{ticket.reference}}",
        set_status="pending",
        add_tags=["waiting"],
    )
    html = page_text(agent_client.get(url(ticket)))
    preview = f"{url(ticket)}macros/{macro.public_id}/"
    assert f'data-url="{preview}"' in html
    data = agent_client.get(preview).json()
    assert data == {
        "body": f"Hi Dana, about ACME-{ticket.number}",
        "set_status": "pending",
        "set_priority": "",
        "add_tags": ["waiting"],
    }


def test_take_assign_and_unassign(agent_client, tenant, ticket, agent, admin_user):
    response = post(agent_client, url(ticket, "take"))
    assert ("success", "You took this ticket.") in flashes(response)
    assert fresh(tenant, ticket).assignee == agent
    assert "Assigned to you" in page_text(response)

    response = post(agent_client, url(ticket, "assign"), {"assignee": str(admin_user.pk)})
    assert fresh(tenant, ticket).assignee == admin_user
    assert flashes(response)[0][0] == "success"

    response = post(agent_client, url(ticket, "assign"), {"assignee": ""})
    assert ("success", "Unassigned.") in flashes(response)
    assert fresh(tenant, ticket).assignee is None


def test_status_and_priority(agent_client, tenant, ticket):
    response = post(agent_client, url(ticket, "status"), {"status": "pending"})
    assert ("success", "Status set to pending on customer.") in flashes(response)
    assert "Status set to pending on customer." in page_text(response)
    response = post(agent_client, url(ticket, "priority"), {"priority": "urgent"})
    assert ("success", "Priority changed.") in flashes(response)
    changed = fresh(tenant, ticket)
    assert (changed.status, changed.priority) == (Status.PENDING, "urgent")
    html = page_text(response)
    assert (
        '<option value="urgent" selected>' in html and '<option value="pending" selected>' in html
    )


def test_tags_add_and_remove(agent_client, tenant, ticket):
    response = post(agent_client, url(ticket, "tags"), {"add": "Billing, vip"})
    assert ("success", "Tags updated.") in flashes(response)
    assert tag_names(tenant, ticket) == ["billing", "vip"]
    html = page_text(response)
    assert 'aria-label="Remove tag billing"' in html
    post(agent_client, url(ticket, "tags"), {"remove": "vip"})
    assert tag_names(tenant, ticket) == ["billing"]


def test_escalate_with_a_reason_and_hand_back(agent_client, tenant, ticket, specialists):
    tier1 = GroupFactory(tenant=tenant, name="Front line", tier=1)
    response = post(
        agent_client,
        url(ticket, "escalate"),
        {"group": specialists.pk, "reason": "Needs database access"},
    )
    assert ("success", "Escalated to Specialists.") in flashes(response)
    changed = fresh(tenant, ticket)
    assert (changed.tier, changed.group_id) == (2, specialists.pk)
    html = page_text(response)
    assert "Needs database access" in html  # the reason is in the activity
    assert f'action="{url(ticket, "deescalate")}"' in html

    response = post(agent_client, url(ticket, "deescalate"), {"group": tier1.pk, "reason": ""})
    assert ("success", "Handed back to Front line.") in flashes(response)
    assert fresh(tenant, ticket).tier == 1


def test_custom_fields_are_typed_and_saved(agent_client, tenant, ticket):
    with tenant_context(tenant):
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="order", label="Order", kind="number"
        )
        CustomFieldDefinition.objects.create(tenant=tenant, key="due", label="Due", kind="date")
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="plan", label="Plan", kind="choice", choices=["free", "pro"]
        )
    html = page_text(agent_client.get(url(ticket)))
    assert 'type="number" step="any"' in html and 'name="cf_order"' in html
    assert 'type="date"' in html and 'name="cf_due"' in html
    assert '<select class="input input--sm" id="cf-plan" name="cf_plan">' in html
    response = post(
        agent_client,
        url(ticket, "fields"),
        {"cf_order": "42", "cf_due": "2030-01-31", "cf_plan": "pro"},
    )
    assert ("success", "Fields saved.") in flashes(response)
    assert fresh(tenant, ticket).custom_fields == {
        "order": "42",
        "due": "2030-01-31",
        "plan": "pro",
    }
    assert '<option value="pro" selected>' in page_text(response)


def test_merge_into_another_ticket(agent_client, tenant, ticket, customer):
    target = services.ticket_create(tenant=tenant, customer=customer, subject="Same", body="Dup")
    html = page_text(agent_client.get(url(ticket)))
    assert "data-confirm=" in html
    response = post(agent_client, url(ticket, "merge"), {"target": target.number})
    assert ("success", f"Merged into ACME-{target.number}.") in flashes(response)
    assert fresh(tenant, ticket).merged_into_id == target.pk
    assert "This ticket was merged into" in page_text(response)


# --- ticket page: refused actions show an error and change nothing --------------------------


def test_reopening_a_closed_ticket_is_refused(agent_client, tenant, ticket, agent):
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=Status.CLOSED)
    events = event_count(tenant, ticket)
    response = post(agent_client, url(ticket, "status"), {"status": "open"})
    [(level, text)] = flashes(response)
    assert level == "error" and "cannot become open" in text
    assert "cannot become open" in page_text(response)
    assert fresh(tenant, ticket).status == Status.CLOSED
    assert event_count(tenant, ticket) == events


def test_escalation_without_a_reason_is_refused(agent_client, tenant, ticket, specialists):
    events = event_count(tenant, ticket)
    for reason in ("", "   "):
        response = post(
            agent_client, url(ticket, "escalate"), {"group": specialists.pk, "reason": reason}
        )
        [(level, _text)] = flashes(response)
        assert level == "error"
    changed = fresh(tenant, ticket)
    assert (changed.tier, changed.group_id) == (1, None)
    assert event_count(tenant, ticket) == events


def test_bad_custom_field_value_and_self_merge_are_refused(agent_client, tenant, ticket):
    with tenant_context(tenant):
        CustomFieldDefinition.objects.create(
            tenant=tenant, key="order", label="Order", kind="number"
        )
    response = post(agent_client, url(ticket, "fields"), {"cf_order": "forty-two"})
    assert flashes(response) == [("error", "Enter a number.")]
    assert fresh(tenant, ticket).custom_fields == {}
    response = post(agent_client, url(ticket, "merge"), {"target": ticket.number})
    assert flashes(response) == [("error", "A ticket cannot be merged into itself.")]
    assert fresh(tenant, ticket).merged_into_id is None


def test_assigning_a_stranger_and_an_unknown_macro_are_refused(
    agent_client, tenant, ticket, other_agent
):
    response = post(agent_client, url(ticket, "assign"), {"assignee": str(other_agent.pk)})
    assert flashes(response)[0][0] == "error"
    assert fresh(tenant, ticket).assignee is None
    response = post(
        agent_client,
        url(ticket, "reply"),
        {"body": "x", "internal": "false", "macro": "6f6fa079-ce77-4070-8e12-9dfee389ef2d"},
    )
    assert flashes(response) == [("error", "That macro no longer exists.")]


def test_ticket_page_shows_sla_countdowns_and_repeat_link(agent_client, tenant, ticket, customer):
    from tickets.models import SlaPolicy

    with tenant_context(tenant):
        SlaPolicy.objects.create(
            tenant=tenant,
            name="Standard",
            first_response_minutes=60,
            next_response_minutes=120,
            resolution_minutes=600,
        )
    repeat = services.ticket_create(
        tenant=tenant, customer=customer, subject="Checkout spins forever again", body="Still"
    )
    with tenant_context(tenant):
        Ticket.objects.for_tenant(tenant).filter(pk=repeat.pk).update(
            repeat_of=ticket, sla_stage=75
        )
    html = page_text(agent_client.get(url(repeat)))
    assert html.count("data-countdown=") >= 2
    assert "First response" in html and "Resolution" in html
    assert "sla-card--risk" in html and "At risk · 75%" in html
    assert f'href="{url(ticket)}"' in html and f"Repeat of ACME-{ticket.number}" in html


# --- queue ------------------------------------------------------------------------------------


@pytest.fixture
def queue_tickets(tenant, customer, agent):
    urgent = services.ticket_create(
        tenant=tenant, customer=customer, subject="Card declined", body="x", priority="urgent"
    )
    email = services.ticket_create(
        tenant=tenant, customer=customer, subject="Invoice copy", body="x", channel="email"
    )
    mine = services.ticket_create(tenant=tenant, customer=customer, subject="Password", body="x")
    services.ticket_assign(tenant=tenant, actor=agent, ticket=mine, assignee=agent)
    with tenant_context(tenant):
        Ticket.objects.for_tenant(tenant).filter(pk=urgent.pk).update(sla_stage=100)
        Ticket.objects.for_tenant(tenant).filter(pk=email.pk).update(sla_stage=75)
    return {"urgent": urgent, "email": email, "mine": mine}


def test_queue_page_has_tabs_filters_bulk_and_live_hooks(agent_client, queue_tickets):
    html = page_text(agent_client.get("/t/acme/queue/"))
    assert re.search(r'href="\?view=mine"[^>]*>Mine<span class="counter">1</span>', html)
    assert 'hx-get="/t/acme/queue/"' in html and 'hx-target="#queue-rows"' in html
    assert 'hx-push-url="true"' in html and "delay:400ms" in html
    assert 'method="get" action="/t/acme/queue/"' in html  # works without JS too
    assert 'action="/t/acme/queue/bulk/"' in html and 'name="tickets" value=' in html
    # without JS only the actions whose value field is already in place can be chosen
    assert '<option value="status" disabled data-needs-js>' in html
    assert 'action="/t/acme/queue/views/"' in html and 'name="shared"' not in html  # agents: no
    assert 'data-ws-path="/ws/t/acme/queue/"' in html
    assert "Breached" in html and "At risk · 75%" in html
    assert "row--breached" in html and "row--at-risk" in html


def test_queue_filters_and_the_htmx_partial(agent_client, queue_tickets):
    html = page_text(agent_client.get("/t/acme/queue/?priority=urgent"))
    assert "Card declined" in html and "Invoice copy" not in html
    assert '<input type="checkbox" name="priority" value="urgent" checked>' in html

    partial = agent_client.get("/t/acme/queue/?channel=email", HTTP_HX_REQUEST="true")
    body = page_text(partial)
    assert "<html" not in body and 'id="queue-rows"' in body
    assert "Invoice copy" in body and "Card declined" not in body
    # the out-of-band inputs keep "Save this view" and the bulk form in step with the rows
    assert 'id="save-view-query"' in body and 'hx-swap-oob="true"' in body
    assert 'value="view=open&amp;channel=email&amp;sort=-updated"' in body

    mine = page_text(agent_client.get("/t/acme/queue/?assignee=me", HTTP_HX_REQUEST="true"))
    assert "Password" in mine and "Card declined" not in mine
    empty = page_text(agent_client.get("/t/acme/queue/?q=nothingmatches", HTTP_HX_REQUEST="true"))
    assert "No tickets match these filters" in empty


def test_queue_load_more_follows_the_cursor(agent_client, tenant, customer):
    for n in range(53):
        services.ticket_create(tenant=tenant, customer=customer, subject=f"Bulk {n:02d}", body="x")
    first = page_text(agent_client.get("/t/acme/queue/?sort=number"))
    assert "Bulk 00" in first and "Bulk 49" in first and "Bulk 50" not in first
    match = re.search(r'href="\?([^"]*cursor=[^"]+)"', first)
    assert match, "no Load more link"
    query = match.group(1).replace("&amp;", "&")
    assert parse_qs(query)["sort"] == ["number"]
    assert 'hx-select="#queue-tbody > tr"' in first and 'hx-swap="beforeend"' in first
    more = page_text(agent_client.get(f"/t/acme/queue/?{query}", HTTP_HX_REQUEST="true"))
    assert "Bulk 50" in more and "Bulk 52" in more and "Bulk 49" not in more
    assert "Load more" not in more and "End of the list." in more


def test_bulk_action_changes_the_selected_tickets_and_returns(agent_client, tenant, queue_tickets):
    numbers = [queue_tickets["urgent"].number, queue_tickets["email"].number]
    response = agent_client.post(
        "/t/acme/queue/bulk/",
        {
            "tickets": numbers,
            "action": "status",
            "value": "pending",
            "next": "view=open&sort=number",
        },
    )
    assert response.status_code == 302
    assert urlsplit(response["Location"]).query == "view=open&sort=number"
    page = agent_client.get(response["Location"])
    assert ("success", "Updated 2 tickets.") in flashes(page)
    assert "Updated 2 tickets." in page_text(page)
    for key in ("urgent", "email"):
        assert fresh(tenant, queue_tickets[key]).status == Status.PENDING
    assert fresh(tenant, queue_tickets["mine"]).status != Status.PENDING

    agent_client.post(
        "/t/acme/queue/bulk/", {"tickets": numbers, "action": "tag", "value": "batch", "next": ""}
    )
    assert tag_names(tenant, queue_tickets["urgent"]) == ["batch"]


def test_save_view_and_open_it(agent_client, tenant, agent, queue_tickets):
    response = agent_client.post(
        "/t/acme/queue/views/",
        {"name": "Urgent only", "query": "view=open&priority=urgent&sort=-created"},
    )
    with tenant_context(tenant):
        view = SavedView.objects.for_tenant(tenant).get()
    assert (view.owner, view.filters["priority"], view.filters["sort"]) == (
        agent,
        ["urgent"],
        "-created",
    )
    assert response["Location"].endswith(f"?saved={view.public_id}")
    html = page_text(agent_client.get(response["Location"]))
    assert "Saved the view" in html
    assert re.search(rf'href="\?saved={view.public_id}"[^>]*aria-current="page"', html)
    assert "Card declined" in html and "Invoice copy" not in html
    # saving from a saved view keeps its real filters, not the ?saved= parameter
    assert 'value="view=open&amp;priority=urgent&amp;sort=-created"' in html


def test_only_managers_and_admins_can_share_a_view(client, admin_user):
    client.force_login(admin_user)
    html = page_text(client.get("/t/acme/queue/"))
    assert 'name="shared"' in html


def test_observer_queue_has_no_bulk_actions(client, observer, queue_tickets):
    client.force_login(observer)
    html = page_text(client.get("/t/acme/queue/"))
    assert "Card declined" in html
    assert 'action="/t/acme/queue/bulk/"' not in html and 'name="tickets"' not in html


# --- customer page ----------------------------------------------------------------------------


def test_customer_page_shows_figures_history_and_edit_form(agent_client, tenant, customer, ticket):
    services.ticket_set_status(tenant=tenant, actor=None, ticket=ticket, status=Status.SOLVED)
    services.ticket_create(tenant=tenant, customer=customer, subject="Second", body="x")
    html = page_text(agent_client.get(f"/t/acme/customers/{customer.public_id}/"))
    figures = dict(
        re.findall(r'stat-label">([^<]+)</div><div class="stat-value[^"]*">(\d+)<', html)
    )
    assert figures == {"Tickets": "2", "Open now": "1", "Repeat contacts": "0", "Escalated": "0"}
    assert "Checkout spins forever" in html and "Second" in html
    assert f'action="/t/acme/customers/{customer.public_id}/edit/"' in html


def test_customer_page_last_contact_is_the_customers_latest_message_on_any_channel(
    agent_client, agent, tenant, other_tenant, customer
):
    """The customer wrote by chat on 26 Nov; a history recorded afterwards (an older email
    thread, imported) must not make "Last contact" say 23 Oct. Staff replies are not contacts,
    and the same address in another tenant is another customer."""
    from datetime import UTC, datetime

    def on(month: int, day: int) -> datetime:
        return datetime(2025, month, day, 12, 0, tzinfo=UTC)

    chat = services.ticket_create(
        tenant=tenant,
        customer=customer,
        subject="Card declined",
        body="My card was declined.",
        channel="chat",
        at=on(11, 20),
    )
    services.message_create(
        tenant=tenant, ticket=chat, author_customer=customer, body="Still declined.", at=on(11, 26)
    )
    services.message_create(  # the agent's answer: not a contact from the customer
        tenant=tenant, ticket=chat, author_user=agent, body="On it.", at=on(11, 28)
    )
    old = services.ticket_create(  # an email thread from October, recorded last
        tenant=tenant,
        customer=customer,
        subject="Invoice address",
        body="Please change my invoice address.",
        channel="email",
        at=on(10, 20),
    )
    services.message_create(
        tenant=tenant, ticket=old, author_customer=customer, body="Any news?", at=on(10, 23)
    )
    twin = CustomerFactory(tenant=other_tenant, name="Dana Scully", email="dana@example.com")
    services.ticket_create(
        tenant=other_tenant, customer=twin, subject="Elsewhere", body="Hi", at=on(12, 1)
    )
    html = page_text(agent_client.get(f"/t/acme/customers/{customer.public_id}/"))
    stat = re.search(r'stat-label">Last contact</div>(.*?)</div></div>', html, re.S).group(1)
    assert "26 Nov 2025" in stat
    card = re.search(r"<dt>Last contact</dt><dd>(.*?)</dd>", html, re.S).group(1)
    assert "26 Nov 2025" in card
    assert "23 Oct 2025" not in stat + card and "28 Nov" not in html and "1 Dec" not in html


def test_a_message_recorded_late_does_not_move_the_stored_last_contact_back(
    agent_client, tenant, customer
):
    """The customers list and the ticket page read the stored ``last_contact_at``: an older
    message recorded after a newer one (an import) leaves it on the newer one."""
    from datetime import UTC, datetime

    newer = datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
    older = datetime(2025, 10, 23, 12, 0, tzinfo=UTC)
    services.ticket_create(
        tenant=tenant, customer=customer, subject="Card declined", body="Declined.", at=newer
    )
    thread = services.ticket_create(
        tenant=tenant, customer=customer, subject="Invoice", body="Address?", at=older
    )
    services.message_create(
        tenant=tenant, ticket=thread, author_customer=customer, body="Any news?", at=older
    )
    with tenant_context(tenant):
        customer.refresh_from_db()
    assert customer.last_contact_at == newer
    html = page_text(agent_client.get("/t/acme/customers/"))
    assert 'title="26 Nov 2025, 13:00"' in html and "23 Oct 2025" not in html


def test_customer_edit_saves_and_says_so(agent_client, tenant, customer):
    response = post(
        agent_client,
        f"/t/acme/customers/{customer.public_id}/edit/",
        {
            "name": "Dana K. Scully",
            "phone": "+1 555 0100",
            "company": "FBI",
            "tags": "vip, Beta",
            "notes": "Prefers email",
        },
    )
    assert ("success", "Profile saved.") in flashes(response)
    with tenant_context(tenant):
        customer.refresh_from_db()
    assert (customer.name, customer.company, customer.tags, customer.notes) == (
        "Dana K. Scully",
        "FBI",
        ["beta", "vip"],
        "Prefers email",
    )
    assert "Dana K. Scully" in page_text(response)


def test_observer_cannot_edit_a_customer(client, tenant, observer, customer):
    client.force_login(observer)
    html = page_text(client.get(f"/t/acme/customers/{customer.public_id}/"))
    assert "/edit/" not in html
    response = client.post(f"/t/acme/customers/{customer.public_id}/edit/", {"name": "Hacked"})
    assert response.status_code == 403
    with tenant_context(tenant):
        customer.refresh_from_db()
    assert customer.name == "Dana Scully"
