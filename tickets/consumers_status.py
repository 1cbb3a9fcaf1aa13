"""The customer's live status page socket: ``/ws/status/<viewer token>/?cursor=N``.

Receive-only. The viewer token (signed, salt ``status-page``, short-lived; see
``tickets.services.status``) binds the tenant, the ticket and the status link it was issued for;
the link must still be active. The page gets that ticket's status group and nothing else: it
replays the public events after ``cursor`` from the database, then streams, de-duplicating by
cursor. A gap longer than the replay limit gets ``resync_required`` (the page catches up over
HTTP). Rotating the link closes open pages, and so does its expiry, when it comes (a timer per
page, re-checked against the database; staff changing the expiry makes pages re-read it).

Missed publishes. Every live message names the ticket's public event before its first one
(``prev``). A page whose cursor is behind that missed an update (the channel layer dropped it, or
the publisher never sent it): the page holds the stream, replays the gap from the database, then
goes on, so an open page never silently skips an event.

Messages to the page::

    {"type": "update", "events": [...], "summary": {...}}   events oldest first, by cursor
    {"type": "ready", "cursor": N, "summary": {...}}         after the replay
    {"type": "resync_required"}
    {"type": "revoked"}                                     then the socket closes (4410)

Fan-out. A popular ticket can have many pages open at once, and a change must reach all of them
fast. Pages therefore do not each hold a channel-layer channel: one ``StatusFanout`` per event
loop (per server process) joins each status group that has pages open in the process, once, and
writes every message to those pages itself, in order, from one task. The message's JSON is
encoded once by the publisher. A page that cannot take a message within ``SEND_TIMEOUT`` (a stuck
client) is closed and catches up when it reconnects, so it never holds the others back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from datetime import datetime
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.core.cache import cache

from helpdesk.realtime.groups import status_group
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets import selectors_status
from tickets.services.status import (
    STATUS_WATCH_SECONDS,
    ViewerGrant,
    status_summary_for,
    status_viewer_grant,
    status_watch_key,
)

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_REVOKED = 4410
CLOSE_TOO_SLOW = 4408
SEND_TIMEOUT = 5.0
# Re-join a group this often while pages stay open (channel layers expire group membership).
GROUP_REFRESH_SECONDS = 3600
# Not a configured alias: the page consumers hold no channel-layer channel of their own.
NO_CHANNEL_LAYER = "status-pages-use-the-fanout"


class StatusFanout:
    """One channel-layer channel per event loop for all status pages open in this process."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.keepalive: asyncio.Task | None = None
        self.pages: dict[str, set[StatusPageConsumer]] = {}
        self.joined_at: dict[str, float] = {}
        self.lock = asyncio.Lock()

    async def join(self, group: str, page: StatusPageConsumer) -> None:
        """Add ``page`` to ``group``. When this returns, the group is joined and marked watched
        (so publishers send to it): the page may read its replay."""
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                loop = asyncio.get_running_loop()
                self.task = loop.create_task(self._run(self.channel))
                self.keepalive = loop.create_task(self._keep_watching())
            first = group not in self.pages
            self.pages.setdefault(group, set()).add(page)
            if time.monotonic() - self.joined_at.get(group, -1e9) > GROUP_REFRESH_SECONDS:
                await self.layer.group_add(group, self.channel)
                self.joined_at[group] = time.monotonic()
            if first:
                await _mark_watched([group])

    async def leave(self, group: str, page: StatusPageConsumer) -> None:
        async with self.lock:
            pages = self.pages.get(group)
            if pages is None or page not in pages:
                return
            pages.discard(page)
            if pages:
                return
            del self.pages[group]
            self.joined_at.pop(group, None)
            await self.layer.group_discard(group, self.channel)
            if not self.pages and self.task is not None:
                self.task.cancel()
                self.keepalive.cancel()
                self.task, self.keepalive, self.channel = None, None, None

    async def _keep_watching(self) -> None:
        """Renew the "watched" marks of the groups with pages open here (they expire otherwise,
        and publishers stop building messages for tickets nobody watches)."""
        while True:
            await asyncio.sleep(STATUS_WATCH_SECONDS / 3)
            await _mark_watched(list(self.pages))

    async def _run(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer may be down for a moment; pages catch up by cursor
                logger.warning("status fan-out receive failed", exc_info=True)
                await asyncio.sleep(1)
                continue
            pages = list(self.pages.get(message.get("group", ""), ()))
            if pages:
                await self._deliver(pages, message)

    async def _deliver(self, pages: list[StatusPageConsumer], message: dict) -> None:
        """Hand ``message`` to every page, in order. The ASGI message is built once; one timer
        guards the whole round, and a page that stalls it is dropped (the rest go on)."""
        out = {"type": "websocket.send", "text": message.get("text")}
        start = 0
        while start < len(pages):
            index = start
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    for index in range(start, len(pages)):
                        await pages[index].deliver(message, out)
                return
            except Exception:  # one broken page never holds the others back
                logger.info("status page dropped", exc_info=True)
                page = pages[index]
                await self.leave(message["group"], page)
                asyncio.get_running_loop().create_task(page.drop())
                start = index + 1


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StatusFanout] = (
    weakref.WeakKeyDictionary()
)


def status_fanout() -> StatusFanout:
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None:
        fanout = _fanouts[loop] = StatusFanout()
    return fanout


async def _mark_watched(groups: list[str]) -> None:
    for group in groups:
        try:
            await cache.aset(status_watch_key(group), 1, STATUS_WATCH_SECONDS)
        except Exception:  # the publisher then publishes anyway (it cannot tell)
            logger.warning("status watch mark of %s failed", group, exc_info=True)


def _frame_send(send):
    """The send to use for the fan-out's frames: the ASGI server's own, below Channels' session
    middleware. That middleware's send only acts on HTTP responses (session cookies); for a
    WebSocket frame its check is pure overhead, about a third of the cost of each page's send,
    and status pages never touch the session. Falls back to ``send`` if the layout differs."""
    for _ in range(3):
        inner = getattr(getattr(send, "__self__", None), "real_send", None)
        if not callable(inner):
            break
        send = inner
    return send


def _link_get(grant: ViewerGrant):
    return selectors_status.status_link_active_get(
        link_id=grant.link_id, tenant_id=grant.tenant_id, ticket_id=grant.ticket_id
    )


@database_sync_to_async
def _link_expiry(grant: ViewerGrant) -> tuple[bool, datetime | None]:
    """Whether the grant's link still works, and until when."""
    link = _link_get(grant)
    return link is not None, link.expires_at if link is not None else None


@database_sync_to_async
def _open(grant: ViewerGrant, cursor: int | None) -> dict | None:
    """Check the link, then read the summary and the events after ``cursor`` (one DB hop)."""
    link = _link_get(grant)
    if link is None:
        return None
    tenant = Tenant.objects.filter(pk=grant.tenant_id).first()
    if tenant is None:
        return None
    with tenant_context(tenant):
        ticket = selectors_status.status_ticket_get(tenant=tenant, ticket_id=grant.ticket_id)
        if ticket is None:
            return None
        summary = status_summary_for(tenant=tenant, ticket=ticket)
        events, more = [], False
        if cursor is not None:
            entries, more = selectors_status.status_events_since(
                tenant=tenant,
                ticket=ticket,
                cursor=cursor,
                limit=selectors_status.STATUS_REPLAY_LIMIT,
            )
            events = [entry.as_dict() for entry in entries]
    return {"summary": summary, "events": events, "more": more, "expires_at": link.expires_at}


def _cursor(scope) -> int | None:
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    raw = query.get("cursor", [""])[0]
    if raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


class StatusPageConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = NO_CHANNEL_LAYER  # messages come from the process's StatusFanout

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.grant: ViewerGrant | None = None
        self.group = ""
        self.cursor = 0
        self.accepted = False
        self.live = False  # replay done: messages go straight out
        self.backlog: list[dict] = []  # messages that came during the replay
        self.fanout: StatusFanout | None = None
        self.fast_send = None
        self.catch_up: asyncio.Task | None = None
        self.expiry: asyncio.TimerHandle | None = None  # closes the page when its link expires
        self.link_check: asyncio.Task | None = None

    async def connect(self) -> None:
        grant = status_viewer_grant(self.scope["url_route"]["kwargs"].get("token", ""))
        if grant is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join first, then read: whatever commits in between arrives twice and is de-duplicated.
        self.grant, self.group = grant, status_group(grant.tenant_id, grant.ticket_id)
        self.fanout = status_fanout()
        await self.fanout.join(self.group, self)
        cursor = _cursor(self.scope)
        opened = await _open(grant, cursor)
        if opened is None or self.grant is None:  # refused, or revoked while we read
            await self.fanout.leave(self.group, self)
            self.grant = None
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.cursor = cursor or 0
        await self.accept()
        self.accepted = True
        self.fast_send = _frame_send(self.base_send)
        await self._send_replay(opened)
        await self.send_json({"type": "ready", "cursor": self.cursor, "summary": opened["summary"]})
        await self._go_live()
        self._watch_expiry(opened["expires_at"])

    async def _send_replay(self, opened: dict) -> None:
        """Send what the page missed (or ask it to resync) and move the cursor past it."""
        if opened["more"]:
            # The page fetches the gap over HTTP and places late entries by cursor; the socket
            # goes on from the newest event.
            await self.send_json({"type": "resync_required"})
        elif opened["events"]:
            self.cursor = opened["events"][-1]["cursor"]
            await self.send_json(
                {"type": "update", "events": opened["events"], "summary": opened["summary"]}
            )
        # The page has now seen every public event up to the summary's (events left out for
        # this customer included): later messages are checked for gaps against this.
        self.cursor = max(self.cursor, opened["summary"]["cursor"])

    async def _go_live(self) -> None:
        while self.backlog:  # what came during the replay, in order (and more may come)
            await self._send_update(self.backlog.pop(0), None)
        # No await since the backlog was seen empty: nothing slips in between.
        self.live = self.grant is not None

    def _start_catch_up(self, message: dict) -> None:
        """A message arrived whose predecessor never reached this page (a dropped or missed
        publish): hold the stream, replay the gap from the database, then go on. Runs as a task
        so the fan-out never waits for one page's database read."""
        self.live = False
        self.backlog.append(message)
        self.catch_up = asyncio.get_running_loop().create_task(self._catch_up())

    async def _catch_up(self) -> None:
        try:
            grant = self.grant
            opened = await _open(grant, self.cursor) if grant is not None else None
            if self.grant is None:  # revoked meanwhile: the page has been told and closed
                return
            if opened is None:  # the link stopped working (its revoke message may be late)
                await self._revoke()
                return
            await self._send_replay(opened)
            await self._go_live()
        except asyncio.CancelledError:
            raise
        except Exception:  # the page reconnects and catches up by cursor
            logger.info("status page catch-up failed", exc_info=True)
            self.backlog = []
            await self.drop()

    async def disconnect(self, code) -> None:
        self.live = False
        if self.expiry is not None:
            self.expiry.cancel()
        for task in (self.catch_up, self.link_check):
            if task is not None and not task.done():
                task.cancel()
        if self.fanout is not None and self.group:
            await self.fanout.leave(self.group, self)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Receive-only: the page never commands anything here (no subscribe, no write).
        await self.send_json({"type": "error", "message": "This connection is receive-only."})

    async def deliver(self, message: dict, out: dict | None = None) -> None:
        """Called by the fan-out for every message of this page's group, in order. ``out`` is
        the ready-made ASGI message of the publisher's text (shared by all pages)."""
        if message["type"] == "status.revoked":
            if self.grant is not None and self.grant.link_id in message.get("links", []):
                await self._revoke()
            return
        if message["type"] == "status.expiry":  # staff set or cleared the link's expiry
            if self.grant is not None and self.grant.link_id in message.get("links", []):
                self._check_link_soon()
            return
        if not self.live:
            if self.grant is not None:
                self.backlog.append(message)
            return
        events = message["events"]
        if events and message.get("prev", 0) > self.cursor:
            self._start_catch_up(message)  # an earlier update never reached this page
            return
        if out is not None and (not events or message["first"] > self.cursor):
            # The usual case, kept to one await: every event is new to this page.
            if events:
                self.cursor = events[-1]["cursor"]
            await self.fast_send(out)
            return
        await self._send_update(message, out)

    async def _send_update(self, message: dict, out: dict | None) -> None:
        events = message["events"]
        if not events or message["first"] > self.cursor:  # the usual case: all new
            if events:
                self.cursor = events[-1]["cursor"]
            await self.base_send(out or {"type": "websocket.send", "text": message["text"]})
            return
        fresh = [e for e in events if e["cursor"] > self.cursor]
        if fresh:
            self.cursor = fresh[-1]["cursor"]
        await self.send(
            text_data=json.dumps({"type": "update", "events": fresh, "summary": message["summary"]})
        )

    async def _revoke(self) -> None:
        """The link stopped working: tell the page, then close (the page stops reconnecting)."""
        self.grant, self.live, self.backlog = None, False, []
        if self.expiry is not None:
            self.expiry.cancel()
        if self.accepted:  # otherwise connect() refuses the socket itself
            await self.send_json({"type": "revoked"})
            await self.close(code=CLOSE_REVOKED)

    def _watch_expiry(self, expires_at: datetime | None) -> None:
        """Close the page when its link expires: a timer, then a re-check of the link (its
        expiry may have moved meanwhile)."""
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        if expires_at is None or self.grant is None:
            return
        delay = max(0.0, expires_at.timestamp() - time.time())
        self.expiry = asyncio.get_running_loop().call_later(delay, self._check_link_soon)

    def _check_link_soon(self) -> None:
        if self.link_check is None or self.link_check.done():
            self.link_check = asyncio.get_running_loop().create_task(self._check_link())

    async def _check_link(self) -> None:
        grant = self.grant
        if grant is None:
            return
        try:
            active, expires_at = await _link_expiry(grant)
        except Exception:  # the page reconnects, and the link is checked then
            logger.info("status link check failed", exc_info=True)
            await self.drop()
            return
        if self.grant is None:
            return
        if not active:
            await self._revoke()
        else:
            self._watch_expiry(expires_at)

    async def drop(self) -> None:
        self.live = False
        try:
            await self.close(code=CLOSE_TOO_SLOW)
        except Exception:  # already gone
            logger.debug("status page already closed", exc_info=True)
