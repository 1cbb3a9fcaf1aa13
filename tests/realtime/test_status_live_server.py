"""The customer's status page end to end: a real ASGI server (uvicorn, ``helpdesk.asgi``, in a
thread) and real WebSocket and HTTP clients (``websockets``, ``requests``). On PostgreSQL and
Redis (``DATABASE_URL``, ``REDIS_URL``) this is production's path: the Redis channel layer, the
status fan-out, row-level security.

What the page must get: every public change (status, assignment, public reply, an escalation, a
new expected time), never an internal note or an internal field (group, reason, priority), nothing of another ticket or tenant; bad and rotated tokens are refused at the
handshake and rotation closes open pages; a reconnect replays exactly what was missed; an update
that never reached an open page (a missed or failed publish) is replayed before the next one;
CSAT is taken once per resolution.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta

import pytest
import requests
import websockets
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus

from empathy_metrics.models import SurveyResponse
from helpdesk.realtime.groups import status_group
from helpdesk.tenancy.context import tenant_context
from tests.browser.conftest import asgi_server  # noqa: F401 - the live server fixture
from tests.factories.tickets import CustomerFactory, GroupFactory, SlaPolicyFactory
from tickets import selectors_status, services
from tickets.services.escalation import ticket_escalate_and_route
from tickets.services.fields import ticket_set_priority
from tickets.services.status import (
    STATUS_WATCH_SECONDS,
    status_link_expire,
    status_link_rotate,
    status_viewer_token,
    status_watch_key,
)

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10  # seconds for anything that should arrive
QUIET = 1.0  # seconds of silence that count as "nothing came"


# --- the data side (committed, so the server's connections see it) ----------------------------


def _make_ticket(tenant, subject="Charged twice"):
    customer = CustomerFactory(tenant=tenant)
    return services.ticket_create(tenant=tenant, customer=customer, subject=subject, body="Help")


make_ticket = database_sync_to_async(_make_ticket)


def _viewer_token(ticket) -> str:
    link = selectors_status.status_link_active_for(tenant=ticket.tenant, ticket_id=ticket.pk)
    return status_viewer_token(link=link)


viewer_token = database_sync_to_async(_viewer_token)


@database_sync_to_async
def latest_cursor(ticket) -> int:
    with tenant_context(ticket.tenant):
        return selectors_status.status_latest_cursor(tenant=ticket.tenant, ticket=ticket)


@database_sync_to_async
def set_status(ticket, status, actor):
    services.ticket_set_status(tenant=ticket.tenant, actor=actor, ticket=ticket, status=status)


@database_sync_to_async
def assign(ticket, agent):
    services.ticket_assign(tenant=ticket.tenant, actor=agent, ticket=ticket, assignee=agent)


@database_sync_to_async
def reply(ticket, user, body, internal=False):
    services.message_create(
        tenant=ticket.tenant, ticket=ticket, body=body, author_user=user, is_internal=internal
    )


@database_sync_to_async
def status_of(ticket) -> str:
    with tenant_context(ticket.tenant):
        return selectors_status.status_ticket_get(tenant=ticket.tenant, ticket_id=ticket.pk).status


@database_sync_to_async
def rotate(ticket, actor):
    return status_link_rotate(tenant=ticket.tenant, actor=actor, ticket=ticket)


@database_sync_to_async
def set_priority(ticket, priority, actor):
    ticket_set_priority(tenant=ticket.tenant, actor=actor, ticket=ticket, priority=priority)


@database_sync_to_async
def escalate(ticket, actor, group, reason):
    ticket_escalate_and_route(
        tenant=ticket.tenant, actor=actor, ticket=ticket, group=group, reason=reason
    )


# --- the page side ---------------------------------------------------------------------------


def ws_url(server: str, token: str, cursor: int | None = None) -> str:
    query = f"?cursor={cursor}" if cursor is not None else ""
    return server.replace("http://", "ws://") + f"/ws/status/{token}/{query}"


async def receive(socket, timeout: float = WAIT) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def until(socket, kind: str, seen: list[dict] | None = None) -> dict:
    """The next message of type ``kind``; every message read on the way goes to ``seen``."""
    for _ in range(50):
        message = await receive(socket)
        if seen is not None:
            seen.append(message)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message came")


async def next_events(socket, seen: list[dict] | None = None) -> dict:
    """The next update that carries events (summary-only updates are skipped, but kept)."""
    for _ in range(50):
        update = await until(socket, "update", seen)
        if update["events"]:
            return update
    raise AssertionError("no update with events came")


async def nothing_comes(socket, seconds: float = QUIET) -> None:
    try:
        message = await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"the page got something it should not have: {message}")


async def drain(socket, seen: list[dict]) -> None:
    """Read everything that comes until the page has been quiet for ``QUIET`` seconds."""
    while True:
        try:
            seen.append(json.loads(await asyncio.wait_for(socket.recv(), QUIET)))
        except TimeoutError:
            return


def texts(messages: list[dict]) -> list[str]:
    return [e["text"] for m in messages if m["type"] == "update" for e in m["events"]]


def cursors(messages: list[dict]) -> list[int]:
    return [e["cursor"] for m in messages if m["type"] == "update" for e in m["events"]]


async def open_page(server: str, ticket, cursor: int | None = None):
    """A customer's page, connected and past its replay (the ``ready`` message)."""
    token = await viewer_token(ticket)
    if cursor is None:
        cursor = await latest_cursor(ticket)
    socket = await websockets.connect(
        ws_url(server, token, cursor), origin=server, open_timeout=WAIT
    )
    ready = await until(socket, "ready")
    return socket, ready


# --- live updates ------------------------------------------------------------------------------


async def test_status_assignment_and_public_reply_reach_the_page_an_internal_note_never(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    agent.full_name = "Dana Scully"
    await database_sync_to_async(agent.save)(update_fields=["full_name"])
    ticket = await make_ticket(tenant)
    socket, ready = await open_page(asgi_server, ticket)
    assert ready["summary"]["stage"] == "received"
    frames: list[dict] = []
    async with socket:
        await assign(ticket, agent)
        update = await next_events(socket, frames)
        assert texts([update]) == ["Dana is now handling your request."]
        assert update["summary"]["steps"][1]["label"] == "Assigned to Dana"
        await reply(ticket, agent, "NOTE-SECRET: refund via the back office", internal=True)
        await nothing_comes(socket)
        await reply(ticket, agent, "Hi, I found the double charge.")
        update = await next_events(socket, frames)
        assert texts([update])[0] == "Hi, I found the double charge."
        assert update["summary"]["headline"] == "Dana is looking into it."
        await set_status(ticket, "pending", agent)
        update = await next_events(socket, frames)
        assert texts([update]) == ["We are waiting for your reply."]
        assert update["summary"]["stage"] == "waiting"
        await nothing_comes(socket)
    raw = json.dumps(frames)
    assert "NOTE-SECRET" not in raw and agent.email not in raw
    assert len(cursors(frames)) == len(set(cursors(frames)))


async def test_a_new_expected_time_reaches_the_open_page_without_a_timeline_entry(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    """A priority change is internal, but it moves the SLA promise: the open page gets a fresh
    summary (a new ``eta`` and "what happens next"), no timeline entry and no internal field."""

    @database_sync_to_async
    def policies():
        tenant.business_hours = {}  # open around the clock: due = created + N minutes
        tenant.save(update_fields=["business_hours"])
        SlaPolicyFactory(tenant=tenant, name="POLICY-SECRET standard", first_response_minutes=240)
        SlaPolicyFactory(
            tenant=tenant,
            name="POLICY-SECRET urgent",
            priority="urgent",
            first_response_minutes=30,
        )

    await policies()
    ticket = await make_ticket(tenant)
    socket, ready = await open_page(asgi_server, ticket)
    before = ready["summary"]
    assert before["eta"] is not None
    assert "We usually reply within 4 business hours" in before["next"]
    frames: list[dict] = []
    async with socket:
        await set_priority(ticket, "urgent", agent)
        update = await until(socket, "update", frames)
        await drain(socket, frames)
    after = update["summary"]
    assert update["events"] == []  # nothing for the timeline: the priority itself is internal
    assert after["cursor"] == before["cursor"]
    assert datetime.fromisoformat(before["eta"]) - datetime.fromisoformat(
        after["eta"]
    ) == timedelta(minutes=210)
    assert "We usually reply within 30 minutes" in after["next"]
    assert after["next"] != before["next"]
    raw = json.dumps(frames).lower()
    assert "urgent" not in raw and "policy-secret" not in raw and "priority" not in raw


async def test_an_escalation_reaches_the_open_page_in_customer_words_only(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    """Escalated to a tier-2 group: the page moves to "With a specialist" and says so in the
    timeline; the group's name and the escalation reason stay on the staff side."""
    specialists = await database_sync_to_async(GroupFactory)(
        tenant=tenant, name="GROUP-SECRET billing tier 2", tier=2
    )
    ticket = await make_ticket(tenant)
    await reply(ticket, agent, "We are on it.")
    socket, ready = await open_page(asgi_server, ticket)
    assert ready["summary"]["stage"] == "in_progress"
    frames: list[dict] = []
    async with socket:
        await escalate(ticket, agent, specialists, "REASON-SECRET: chargeback dispute")
        update = await next_events(socket, frames)
        await drain(socket, frames)
    assert texts(frames) == ["A specialist is now looking into your request."]
    summary = update["summary"]
    assert summary["stage"] == "specialist"
    assert summary["headline"] == "A specialist is looking into it."
    current = [step for step in summary["steps"] if step["state"] == "current"]
    assert current == [{"key": "specialist", "label": "With a specialist", "state": "current"}]
    raw = json.dumps(frames)
    assert "GROUP-SECRET" not in raw and "REASON-SECRET" not in raw and "chargeback" not in raw
    assert "tier" not in raw.lower()


async def test_a_page_of_ticket_a_gets_nothing_of_ticket_b_or_another_tenant_and_cannot_subscribe(
    asgi_server,  # noqa: F811
    tenant,
    other_tenant,
    agent,
    other_agent,
):
    a = await make_ticket(tenant, "Ticket A")
    b = await make_ticket(tenant, "Ticket B")
    foreign = await make_ticket(other_tenant, "Globex ticket")
    socket, _ = await open_page(asgi_server, a)
    async with socket:
        await set_status(b, "pending", agent)
        await reply(b, agent, "B-SECRET reply")
        await set_status(foreign, "pending", other_agent)
        await nothing_comes(socket)
        for attempt in (
            {"action": "subscribe", "ticket": b.pk},
            {"type": "subscribe", "group": status_group(tenant.pk, b.pk)},
            {"token": await viewer_token(b)},
        ):
            await socket.send(json.dumps(attempt))
            assert await receive(socket) == {
                "type": "error",
                "message": "This connection is receive-only.",
            }
        await set_status(b, "open", agent)
        await reply(b, agent, "B-SECRET again")
        await nothing_comes(socket)
        await set_status(a, "pending", agent)  # the page itself still works
        update = await next_events(socket)
        assert texts([update]) == ["We are waiting for your reply."]


async def refused(server: str, token: str) -> int:
    with pytest.raises(InvalidStatus) as refusal:
        async with websockets.connect(ws_url(server, token), origin=server, open_timeout=WAIT):
            pass
    return refusal.value.response.status_code


async def test_invalid_and_rotated_tokens_are_refused_and_rotation_closes_open_pages(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    ticket = await make_ticket(tenant)
    good = await viewer_token(ticket)
    link = await database_sync_to_async(selectors_status.status_link_active_for)(
        tenant=tenant, ticket_id=ticket.pk
    )
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for token in ("nope", link.token, tampered, "x" * 400):
        assert await refused(asgi_server, token) == 403, token
    socket, _ = await open_page(asgi_server, ticket)
    await rotate(ticket, agent)
    assert await until(socket, "revoked") == {"type": "revoked"}
    with pytest.raises(ConnectionClosed) as closed:
        await receive(socket)
    assert closed.value.rcvd.code == 4410
    assert await refused(asgi_server, good) == 403  # a fresh signature of the rotated link
    socket, ready = await open_page(asgi_server, ticket)  # the new link's token works
    await socket.close()
    assert ready["type"] == "ready"


@database_sync_to_async
def expire(ticket, actor, seconds: float | None):
    when = None if seconds is None else timezone.now() + timedelta(seconds=seconds)
    return status_link_expire(tenant=ticket.tenant, actor=actor, ticket=ticket, expires_at=when)


async def closed_as_revoked(socket) -> None:
    assert await until(socket, "revoked") == {"type": "revoked"}
    with pytest.raises(ConnectionClosed) as closed:
        await receive(socket)
    assert closed.value.rcvd.code == 4410


async def test_an_open_page_closes_when_its_link_expires(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    """An expiry set before the page opened, one set while it is open, and one moved later
    while it is open: each page closes when (and only when) its link stops working."""
    ticket = await make_ticket(tenant)
    await expire(ticket, agent, 2)
    token = await viewer_token(ticket)
    early, _ = await open_page(asgi_server, ticket)
    await closed_as_revoked(early)
    assert await refused(asgi_server, token) == 403  # its signature is still fresh

    ticket = await make_ticket(tenant, "Another one")
    page, _ = await open_page(asgi_server, ticket)
    await expire(ticket, agent, 2)  # set while the page is open
    await closed_as_revoked(page)

    ticket = await make_ticket(tenant, "A third one")
    await expire(ticket, agent, 1)
    page, _ = await open_page(asgi_server, ticket)
    await expire(ticket, agent, None)  # staff take the expiry back: the page stays
    await asyncio.sleep(1.5)
    await set_status(ticket, "pending", agent)
    update = await next_events(page)
    assert texts([update]) == ["We are waiting for your reply."]
    await page.close()


async def test_a_reconnect_replays_exactly_the_missed_events_then_streams(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    ticket = await make_ticket(tenant)
    socket, ready = await open_page(asgi_server, ticket)
    seen = ready["cursor"]
    await socket.close()

    await reply(ticket, agent, "First answer")  # and the ticket opens
    await reply(ticket, agent, "NOTE", internal=True)
    await set_status(ticket, "pending", agent)

    token = await viewer_token(ticket)
    frames: list[dict] = []
    async with websockets.connect(
        ws_url(asgi_server, token, seen), origin=asgi_server, open_timeout=WAIT
    ) as socket:
        ready = await until(socket, "ready", frames)
        assert texts(frames) == [
            "First answer",
            "We are working on your request.",
            "We are waiting for your reply.",
        ]
        replayed = cursors(frames)
        assert replayed == sorted(set(replayed)) and replayed[0] > seen
        assert ready["cursor"] == replayed[-1]
        await set_status(ticket, "open", agent)
        live = await next_events(socket, frames)
        assert texts([live]) == ["We are working on your request."]
        assert live["events"][0]["cursor"] > replayed[-1]
        await nothing_comes(socket)
    assert len(cursors(frames)) == len(set(cursors(frames))) == 4


# --- missed publishes --------------------------------------------------------------------------


async def test_an_update_an_open_page_never_got_is_replayed_before_the_next_one(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    """The publisher skips tickets nobody watches (a cache mark); when that mark is lost (cache
    restart, eviction) an open page misses an update. The next update reveals the gap and the
    page gets both, in order, each once."""
    ticket = await make_ticket(tenant)
    socket, _ = await open_page(asgi_server, ticket)
    mark = status_watch_key(status_group(tenant.pk, ticket.pk))
    frames: list[dict] = []
    async with socket:
        await database_sync_to_async(cache.delete)(mark)
        await set_status(ticket, "pending", agent)  # not published: nobody seems to watch
        await nothing_comes(socket)
        # The page's server renews the mark (every STATUS_WATCH_SECONDS / 3); do it now.
        await database_sync_to_async(cache.set)(mark, 1, STATUS_WATCH_SECONDS)
        await reply(ticket, agent, "Just checking in: we still need the invoice number.")
        while texts(frames)[-1:] != ["Just checking in: we still need the invoice number."]:
            await next_events(socket, frames)
        assert texts(frames) == [
            "We are waiting for your reply.",
            "Just checking in: we still need the invoice number.",
        ]
        assert cursors(frames) == sorted(set(cursors(frames)))
        assert frames[-1]["summary"]["stage"] == "waiting"
        await set_status(ticket, "open", agent)  # and it streams on as before
        update = await next_events(socket, frames)
        assert texts([update]) == ["We are working on your request."]
        await nothing_comes(socket)


@pytest.mark.redis_only
async def test_a_publish_that_fails_while_redis_is_down_reaches_the_open_page_later(
    asgi_server,  # noqa: F811
    tenant,
    agent,
    settings,
):
    """The change commits although the channel layer is unreachable; the open page gets the lost
    update with the next one (the server's own layer connection stays up: Redis was down for the
    publisher only, as when one web process loses its connection)."""
    ticket = await make_ticket(tenant)
    socket, _ = await open_page(asgi_server, ticket)
    working = settings.CHANNEL_LAYERS
    frames: list[dict] = []
    async with socket:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens there
            }
        }
        await set_status(ticket, "pending", agent)  # no exception: the change is kept
        assert await status_of(ticket) == "pending"
        await nothing_comes(socket)
        settings.CHANNEL_LAYERS = working
        await set_status(ticket, "open", agent)
        while texts(frames)[-1:] != ["We are working on your request."]:
            await next_events(socket, frames)
        assert texts(frames) == [
            "We are waiting for your reply.",
            "We are working on your request.",
        ]
        assert cursors(frames) == sorted(set(cursors(frames)))


# --- CSAT --------------------------------------------------------------------------------------


def csat_state(html: str) -> str:
    match = re.search(r'data-csat-state="(\w+)"', html)
    return match.group(1) if match else ""


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def responses_of(ticket) -> list[tuple[int, int]]:
    with tenant_context(ticket.tenant):
        return list(
            SurveyResponse.objects.filter(ticket=ticket)
            .order_by("resolution")
            .values_list("resolution", "score")
        )


def test_csat_is_taken_once_per_resolution_through_the_server(
    asgi_server,  # noqa: F811
    tenant,
    agent,
):
    ticket = _make_ticket(tenant)
    token = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk).token
    page_url = f"{asgi_server}/status/{token}/"
    csat_url = f"{asgi_server}/feedback/csat/{token}/"
    browser = requests.Session()

    def rate(score: str) -> requests.Response:
        html = browser.get(page_url, timeout=WAIT).text
        return browser.post(
            csat_url,
            data={"score": score, "comment": "", "csrfmiddlewaretoken": csrf_of(html)},
            timeout=WAIT,
        )

    assert csat_state(browser.get(page_url, timeout=WAIT).text) == "hidden"
    rate("5")  # not resolved yet: refused
    assert responses_of(ticket) == []

    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    assert csat_state(browser.get(page_url, timeout=WAIT).text) == "ask"
    answered = rate("5")
    assert answered.status_code == 200 and csat_state(answered.text) == "thanks"
    rate("1")  # a second answer for the same resolution changes nothing
    assert responses_of(ticket) == [(0, 5)]

    # The customer writes again from the page: the ticket reopens; solved again, asked again.
    html = browser.get(page_url, timeout=WAIT).text
    sent = browser.post(
        f"{asgi_server}/status/{token}/reply/",
        data={"body": "It happened again", "csrfmiddlewaretoken": csrf_of(html)},
        headers={"Accept": "application/json"},
        timeout=WAIT,
    )
    assert sent.status_code == 201
    assert csat_state(browser.get(page_url, timeout=WAIT).text) == "hidden"
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    assert csat_state(browser.get(page_url, timeout=WAIT).text) == "ask"
    rate("3")
    rate("4")
    assert responses_of(ticket) == [(0, 5), (1, 3)]
