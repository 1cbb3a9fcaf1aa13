"""Status page services: links (create, rotate, expire), viewer tokens, the customer's summary in
plain words, replies from the page, and the batched customer emails.

Time is frozen by passing ``now``/``at``. The ``tenant`` fixture is in Europe/Berlin with the
default hours (Mon-Fri 09:00-17:00); 2026-03-10 is a Tuesday.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory, GroupFactory
from tickets import selectors_status, services
from tickets.models import (
    OutboundEmail,
    SlaPolicy,
    Status,
    StatusLink,
    Ticket,
    TicketEvent,
)
from tickets.services.escalation import ticket_escalate_and_route
from tickets.services.fields import ticket_set_priority, ticket_tags_change
from tickets.services.status import (
    VIEWER_SALT,
    status_link_expire,
    status_link_rotate,
    status_reply_create,
    status_stage,
    status_summary,
    status_summary_for,
    status_viewer_grant,
    status_viewer_token,
    status_when_text,
)
from tickets.services.status_notify import status_notify_send, status_notify_sweep
from tickets.tasks.status import status_notify_task

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


NOW = berlin(2026, 3, 10, 13, 0)  # Tuesday 13:00


def make_ticket(tenant, *, customer=None, subject="Charged twice", body="Please help") -> Ticket:
    customer = customer or CustomerFactory(tenant=tenant)
    return services.ticket_create(tenant=tenant, customer=customer, subject=subject, body=body)


def reload(ticket: Ticket) -> Ticket:
    with tenant_context(ticket.tenant):
        return selectors_status.status_ticket_get(tenant=ticket.tenant, ticket_id=ticket.pk)


def link_of(ticket: Ticket) -> StatusLink:
    return selectors_status.status_link_active_for(tenant=ticket.tenant, ticket_id=ticket.pk)


def policy(tenant, **minutes) -> SlaPolicy:
    with tenant_context(tenant):
        return SlaPolicy.objects.create(
            tenant=tenant,
            name="Standard",
            first_response_minutes=minutes.get("first", 120),
            next_response_minutes=minutes.get("next", 240),
            resolution_minutes=minutes.get("resolution", 1440),
        )


# --- links -------------------------------------------------------------------------------------


def test_ticket_create_gives_the_ticket_an_unguessable_link_bound_to_tenant_and_ticket(tenant):
    ticket = make_ticket(tenant)
    other = make_ticket(tenant)
    link = link_of(ticket)
    assert len(link.token) >= 40
    assert link.token not in (str(ticket.pk), str(ticket.number), str(ticket.public_id))
    assert link.token != link_of(other).token
    resolved = selectors_status.status_link_resolve(token=link.token)
    assert (resolved.tenant_id, resolved.ticket_id) == (tenant.pk, ticket.pk)
    assert link.expires_at is None and link.revoked_at is None


def test_unknown_revoked_expired_and_oversized_tokens_resolve_to_nothing(tenant):
    ticket = make_ticket(tenant)
    link = link_of(ticket)
    assert selectors_status.status_link_resolve(token="nope") is None
    assert selectors_status.status_link_resolve(token="") is None
    assert selectors_status.status_link_resolve(token=link.token + "x" * 64) is None
    StatusLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert selectors_status.status_link_resolve(token=link.token) is None
    StatusLink.objects.filter(pk=link.pk).update(expires_at=None, revoked_at=timezone.now())
    assert selectors_status.status_link_resolve(token=link.token) is None


def test_rotate_ends_the_old_link_at_once_and_records_an_internal_event(tenant, agent):
    ticket = make_ticket(tenant)
    old = link_of(ticket)
    new = status_link_rotate(tenant=tenant, actor=agent, ticket=ticket)
    assert new.token != old.token
    assert selectors_status.status_link_resolve(token=old.token) is None
    assert selectors_status.status_link_resolve(token=new.token).pk == new.pk
    with tenant_context(tenant):
        event = TicketEvent.objects.filter(ticket=ticket).latest("pk")
    assert event.kind == "status_link.rotated" and not event.is_public


def test_expire_sets_clears_and_ends_a_link(tenant, agent):
    ticket = make_ticket(tenant)
    link = link_of(ticket)
    later = timezone.now() + timedelta(days=3)
    assert status_link_expire(tenant=tenant, actor=agent, ticket=ticket, expires_at=later)
    assert selectors_status.status_link_resolve(token=link.token).expires_at == later
    status_link_expire(tenant=tenant, actor=agent, ticket=ticket, expires_at=None)
    assert selectors_status.status_link_resolve(token=link.token).expires_at is None
    status_link_expire(
        tenant=tenant, actor=agent, ticket=ticket, expires_at=timezone.now() - timedelta(1)
    )
    assert selectors_status.status_link_resolve(token=link.token) is None
    with pytest.raises(ValidationError):  # nothing left to expire: rotate for a new link
        status_link_expire(tenant=tenant, actor=agent, ticket=ticket, expires_at=None)


def test_link_services_refuse_another_tenants_ticket_or_actor(tenant, other_tenant, agent):
    theirs = make_ticket(other_tenant)
    before = link_of(theirs).token
    with pytest.raises(ValidationError):  # B's ticket in A's name
        status_link_rotate(tenant=tenant, actor=agent, ticket=theirs)
    with pytest.raises(ValidationError):  # A's agent acting in B
        status_link_rotate(tenant=other_tenant, actor=agent, ticket=theirs)
    with pytest.raises(ValidationError):
        status_link_expire(tenant=other_tenant, actor=agent, ticket=theirs, expires_at=None)
    assert link_of(theirs).token == before


# --- viewer tokens -----------------------------------------------------------------------------


def test_viewer_token_binds_tenant_ticket_and_link_and_rejects_tampering(tenant):
    ticket = make_ticket(tenant)
    link = link_of(ticket)
    token = status_viewer_token(link=link)
    grant = status_viewer_grant(token)
    assert (grant.tenant_id, grant.ticket_id, grant.link_id) == (tenant.pk, ticket.pk, link.pk)
    assert status_viewer_grant(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert status_viewer_grant(token, max_age=-1) is None  # expired
    forged = signing.dumps({"t": tenant.pk, "k": ticket.pk, "l": link.pk}, salt="portal-login")
    assert status_viewer_grant(forged) is None  # another purpose's signature
    odd = signing.dumps({"t": "1", "k": ticket.pk, "l": link.pk}, salt=VIEWER_SALT)
    assert status_viewer_grant(odd) is None
    assert status_viewer_grant("") is None and status_viewer_grant("x" * 400) is None


# --- the summary -------------------------------------------------------------------------------


def summary(ticket, *, ahead=0, now=NOW) -> dict:
    ticket = reload(ticket)
    return status_summary(tenant=ticket.tenant, ticket=ticket, queue_ahead=ahead, now=now)


def set_fields(ticket: Ticket, **fields) -> Ticket:
    with tenant_context(ticket.tenant):
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return reload(ticket)


def test_a_new_ticket_is_received_with_the_line_ahead_and_the_promised_time(tenant):
    sla = policy(tenant, first=120)
    ticket = make_ticket(tenant)
    ticket = set_fields(ticket, sla_policy=sla, first_response_due_at=berlin(2026, 3, 10, 15, 0))
    result = summary(ticket, ahead=3)
    assert result["stage"] == "received"
    assert [s["state"] for s in result["steps"]] == [
        "current",
        "upcoming",
        "upcoming",
        "upcoming",
    ]
    assert result["headline"] == "We have received your request."
    assert result["next"] == (
        "We usually reply within 2 business hours; you will hear from us by 15:00 Berlin time. "
        "There are 3 requests ahead of yours."
    )
    assert datetime.fromisoformat(result["eta"]) == berlin(2026, 3, 10, 15, 0)
    assert result["can_reply"] and not result["resolved"]


def test_assigned_and_in_progress_use_the_agents_first_name(tenant, agent):
    agent.full_name = "Dana Scully"
    agent.save(update_fields=["full_name"])
    sla = policy(tenant, first=120, next=120)
    ticket = make_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    assigned = summary(set_fields(ticket, sla_policy=sla))
    assert assigned["stage"] == "assigned"
    assert assigned["steps"][1] == {
        "key": "assigned",
        "label": "Assigned to Dana",
        "state": "current",
    }
    assert assigned["headline"] == "Dana has your request."
    services.message_create(tenant=tenant, ticket=ticket, body="Looking", author_user=agent)
    services.message_create(
        tenant=tenant, ticket=ticket, body="More info", author_customer=ticket.customer
    )
    ticket = set_fields(ticket, next_response_due_at=berlin(2026, 3, 11, 10, 0))
    working = summary(ticket)
    assert working["stage"] == "in_progress"
    assert working["headline"] == "Dana is looking into it."
    assert working["next"] == (
        "We usually reply within 2 business hours; you will hear from us by tomorrow at 10:00 "
        "Berlin time."
    )
    assert [s["state"] for s in working["steps"]] == ["done", "done", "current", "upcoming"]


def test_waiting_specialist_resolved_closed_and_merged_stages(tenant, agent):
    ticket = make_ticket(tenant)
    assert summary(set_fields(ticket, status=Status.PENDING))["stage"] == "waiting"
    waiting = summary(ticket)
    assert waiting["headline"] == "We are waiting for your reply." and waiting["eta"] is None
    assert waiting["next"].startswith("We need something from you to continue.")  # no assignee
    assert [s["key"] for s in waiting["steps"]] == [
        "received",
        "assigned",
        "in_progress",
        "waiting",
        "resolved",
    ]
    specialist = summary(set_fields(ticket, status=Status.OPEN, tier=2))
    assert specialist["stage"] == "specialist"
    assert specialist["headline"] == "A specialist is looking into it."
    assert "specialist" in [s["key"] for s in specialist["steps"]]
    solved = summary(set_fields(ticket, status=Status.SOLVED))
    assert solved["stage"] == "resolved" and solved["resolved"] and solved["can_reply"]
    assert solved["steps"][-1]["state"] == "current"
    assert "reply below and we will reopen it" in solved["next"]
    closed = summary(set_fields(ticket, status=Status.CLOSED))
    assert closed["headline"] == "This request is closed." and not closed["can_reply"]
    target = make_ticket(tenant)
    merged = summary(set_fields(ticket, merged_into=target))
    assert merged["stage"] == "merged" and merged["steps"] == [] and not merged["can_reply"]


def test_a_missed_promise_is_admitted_and_no_time_is_invented(tenant):
    sla = policy(tenant)
    ticket = make_ticket(tenant)
    late = summary(
        set_fields(ticket, sla_policy=sla, first_response_due_at=berlin(2026, 3, 10, 12, 0))
    )
    assert late["eta"] is None
    assert late["next"] == (
        "This is taking longer than we promised, sorry. We will get back to you as soon as "
        "possible."
    )
    without_sla = summary(
        set_fields(ticket, sla_policy=None, first_response_due_at=None, resolution_due_at=None)
    )
    assert without_sla["next"] == "We will reply as soon as we can."


def test_times_are_said_in_the_tenants_time_zone():
    class T:
        time_zone = "Europe/Berlin"

    tue = berlin(2026, 3, 10, 9, 0)
    assert status_when_text(tenant=T, when=berlin(2026, 3, 10, 15, 0), now=tue) == (
        "15:00 Berlin time"
    )
    assert status_when_text(tenant=T, when=berlin(2026, 3, 12, 9, 30), now=tue) == (
        "Thursday 09:30 Berlin time"
    )
    assert status_when_text(tenant=T, when=berlin(2026, 3, 30, 9, 30), now=tue) == (
        "30 March, 09:30 Berlin time"
    )
    T.time_zone = "America/New_York"
    # 15:00 in Berlin is 10:00 in New York (both on winter time that day).
    assert status_when_text(
        tenant=T, when=berlin(2026, 3, 4, 15, 0), now=berlin(2026, 3, 4, 14, 0)
    ) == ("09:00 New York time")


def test_summary_for_reads_the_queue_load_of_the_tenant_only(tenant, other_tenant):
    for _ in range(2):
        make_ticket(tenant)
    make_ticket(other_tenant)
    ticket = make_ticket(tenant)
    with tenant_context(tenant):
        result = status_summary_for(tenant=tenant, ticket=reload(ticket))
    assert "There are 2 requests ahead of yours." in result["next"]
    assert status_stage(reload(ticket)) == "received"


# --- replies from the page ---------------------------------------------------------------------


def test_the_customer_replies_from_the_page_and_a_solved_ticket_reopens(tenant, agent):
    ticket = make_ticket(tenant)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=Status.SOLVED)
    message = status_reply_create(tenant=tenant, ticket=ticket, body="  Still broken  ")
    assert message.author_customer_id == ticket.customer_id and not message.is_internal
    assert message.body_text == "Still broken" and message.channel == "web"
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN and ticket.reopen_count == 1


def test_replies_to_closed_or_merged_tickets_and_empty_replies_are_refused(tenant, agent):
    ticket = make_ticket(tenant)
    with pytest.raises(ValidationError):
        status_reply_create(tenant=tenant, ticket=ticket, body="   ")
    with pytest.raises(ValidationError):
        status_reply_create(tenant=tenant, ticket=ticket, body="x" * 10_001)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=Status.SOLVED)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=Status.CLOSED)
    with pytest.raises(ValidationError, match="closed"):
        status_reply_create(tenant=tenant, ticket=ticket, body="Hello?")


# --- customer emails ---------------------------------------------------------------------------


@pytest.fixture
def batch(settings):
    settings.HELPDESK_STATUS_EMAIL_BATCH_SECONDS = 60
    return timedelta(seconds=60)


def pending_since(ticket):
    with tenant_context(ticket.tenant):
        return Ticket.objects.filter(pk=ticket.pk).values_list(
            "customer_notify_pending_since", flat=True
        )[0]


def status_emails():
    return [m for m in mail.outbox if "Update on your request" in m.subject]


def test_a_burst_of_changes_sends_one_short_email_with_the_link(
    tenant, agent, batch, django_capture_on_commit_callbacks
):
    agent.full_name = "Dana Scully"
    agent.save(update_fields=["full_name"])
    specialists = GroupFactory(tenant=tenant, name="Billing specialists", tier=2)
    ticket = make_ticket(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
        ticket_escalate_and_route(
            tenant=tenant, actor=agent, ticket=ticket, group=specialists, reason="SECRET-REASON"
        )
        services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="pending")
    started = pending_since(ticket)
    assert started is not None
    assert status_emails() == []  # not before the window has passed
    assert status_notify_send(tenant=tenant, ticket_id=ticket.pk, now=started + batch) is not None
    (email,) = status_emails()
    assert email.to == [ticket.customer.email]
    assert email.subject.startswith(f"[ACME-{ticket.number}] Update on your request")
    link = link_of(ticket)
    assert f"/status/{link.token}/" in email.body
    assert "We are waiting for your reply." in email.body
    assert "A specialist is now looking into your request." in email.body
    html = email.alternatives[0][0]
    assert f"/status/{link.token}/" in html
    for secret in ("SECRET-REASON", "Billing specialists", agent.email):
        assert secret not in email.body and secret not in html
    assert pending_since(ticket) is None
    # Idempotent: the batch is done.
    assert status_notify_send(tenant=tenant, ticket_id=ticket.pk, now=started + 2 * batch) is None
    assert len(status_emails()) == 1
    with tenant_context(tenant):
        row = OutboundEmail.objects.get(ticket=ticket, kind="status")
    assert row.state == "sent" and row.to == ticket.customer.email


def test_internal_changes_and_the_customers_own_reply_never_email(
    tenant, agent, batch, django_capture_on_commit_callbacks
):
    ticket = make_ticket(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_create(
            tenant=tenant, ticket=ticket, body="note", author_user=agent, is_internal=True
        )
        ticket_set_priority(tenant=tenant, actor=agent, ticket=ticket, priority="high")
        ticket_tags_change(tenant=tenant, actor=agent, ticket=ticket, add=["vip"], remove=[])
        services.message_create(
            tenant=tenant, ticket=ticket, body="me again", author_customer=ticket.customer
        )
    assert pending_since(ticket) is None
    assert status_notify_sweep(tenant=tenant, now=timezone.now() + 2 * batch) == 0
    assert status_emails() == []


def test_backfilled_history_is_not_news(tenant, agent, batch):
    ticket = make_ticket(tenant)
    services.ticket_set_status(
        tenant=tenant,
        actor=agent,
        ticket=ticket,
        status="pending",
        at=timezone.now() - timedelta(days=30),
    )
    assert pending_since(ticket) is None


def test_the_sweep_sends_batches_whose_task_was_lost_and_the_task_sends_due_ones(
    tenant, agent, batch
):
    first, second = make_ticket(tenant), make_ticket(tenant)
    for ticket in (first, second):
        services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="pending")
        assert pending_since(ticket) is not None
    past = timezone.now() - 2 * batch
    with tenant_context(tenant):
        Ticket.objects.filter(pk=first.pk).update(customer_notify_pending_since=past)
        TicketEvent.objects.filter(ticket=first).update(created_at=past)
    assert status_notify_sweep(tenant=tenant) == 1  # the second one's window is still open
    assert status_notify_task(tenant.pk, second.pk) is False
    with tenant_context(tenant):
        Ticket.objects.filter(pk=second.pk).update(customer_notify_pending_since=past)
        TicketEvent.objects.filter(ticket=second).update(created_at=past)
    assert status_notify_task(tenant.pk, second.pk) is True
    assert len(status_emails()) == 2


def test_a_customer_without_an_email_address_gets_nothing_and_the_batch_ends(tenant, agent, batch):
    ticket = make_ticket(tenant, customer=CustomerFactory(tenant=tenant, email=""))
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="pending")
    since = pending_since(ticket)
    assert status_notify_send(tenant=tenant, ticket_id=ticket.pk, now=since + batch) is None
    assert pending_since(ticket) is None and status_emails() == []


@pytest.mark.redis_only
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_one_email_for_a_burst_after_the_window(
    tenant, agent, settings, real_celery_worker
):
    import time

    settings.HELPDESK_STATUS_EMAIL_BATCH_SECONDS = 1
    ticket = make_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="pending")
    deadline = time.monotonic() + 20
    while not status_emails() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # a second email would be due by now
    (email,) = status_emails()
    assert "We are waiting for your reply." in email.body
    assert pending_since(ticket) is None


def test_changes_are_built_and_sent_only_for_tickets_whose_page_is_open(
    tenant, agent, django_capture_on_commit_callbacks
):
    import asyncio

    from asgiref.sync import async_to_sync, sync_to_async
    from channels.layers import get_channel_layer
    from django.core.cache import cache

    from helpdesk.realtime.groups import status_group
    from tickets.services.status import STATUS_WATCH_SECONDS, status_watch_key

    ticket = make_ticket(tenant)
    group = status_group(tenant.pk, ticket.pk)

    def change(status: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status=status)

    async def scenario() -> tuple[dict | None, dict | None]:
        # One event loop for the layer; the database work runs back in the test's thread.
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)

        async def next_message() -> dict | None:
            try:
                return await asyncio.wait_for(layer.receive(channel), 1)
            except TimeoutError:
                return None

        await sync_to_async(change)("pending")
        unwatched = await next_message()  # nobody watches: nothing built, nothing sent
        await sync_to_async(cache.set)(status_watch_key(group), 1, STATUS_WATCH_SECONDS)
        await sync_to_async(change)("open")  # a page is open (it set the mark)
        watched = await next_message()
        await layer.group_discard(group, channel)
        return unwatched, watched

    unwatched, watched = async_to_sync(scenario)()
    assert unwatched is None
    assert watched["type"] == "status.update" and watched["group"] == group
    assert [e["text"] for e in watched["events"]] == ["We are working on your request."]
