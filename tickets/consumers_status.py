"""The customer's live status page socket: ``/ws/status/<viewer token>/?cursor=N``.

Receive-only. The viewer token (signed, salt ``status-page``, short-lived; see
``tickets.services.status``) binds the tenant, the ticket and the status link it was issued for;
the link must still be active. The socket joins that ticket's status group and nothing else, then
replays the public events after ``cursor`` from the database, then streams, de-duplicating by
cursor. A gap longer than the replay limit gets ``resync_required`` (the page catches up over
HTTP). Rotating or expiring the link closes open sockets.

Messages to the page::

    {"type": "update", "events": [...], "summary": {...}}   events oldest first, by cursor
    {"type": "ready", "cursor": N, "summary": {...}}         after the replay
    {"type": "resync_required"}
    {"type": "revoked"}                                     then the socket closes (4410)
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.realtime.groups import status_group
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets import selectors_status
from tickets.services.status import ViewerGrant, status_summary_for, status_viewer_grant

CLOSE_FORBIDDEN = 4403
CLOSE_REVOKED = 4410


@database_sync_to_async
def _open(grant: ViewerGrant, cursor: int | None) -> dict | None:
    """Check the link, then read the summary and the events after ``cursor`` (one DB hop)."""
    if not selectors_status.status_link_is_active(
        link_id=grant.link_id, tenant_id=grant.tenant_id, ticket_id=grant.ticket_id
    ):
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
    return {"summary": summary, "events": events, "more": more}


def _cursor(scope) -> int | None:
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    raw = query.get("cursor", [""])[0]
    if raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


class StatusPageConsumer(AsyncJsonWebsocketConsumer):
    grant: ViewerGrant | None = None
    group: str = ""
    cursor: int = 0

    async def connect(self) -> None:
        grant = status_viewer_grant(self.scope["url_route"]["kwargs"].get("token", ""))
        if grant is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join first, then read: whatever commits in between arrives twice and is de-duplicated.
        group = status_group(grant.tenant_id, grant.ticket_id)
        await self.channel_layer.group_add(group, self.channel_name)
        cursor = _cursor(self.scope)
        opened = await _open(grant, cursor)
        if opened is None:
            await self.channel_layer.group_discard(group, self.channel_name)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.grant, self.group = grant, group
        self.cursor = cursor or 0
        await self.accept()
        if opened["more"]:
            await self.send_json({"type": "resync_required"})
        elif opened["events"]:
            self.cursor = opened["events"][-1]["cursor"]
            await self.send_json(
                {"type": "update", "events": opened["events"], "summary": opened["summary"]}
            )
        await self.send_json({"type": "ready", "cursor": self.cursor, "summary": opened["summary"]})

    async def disconnect(self, code) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Receive-only: the page never commands anything here (no subscribe, no write).
        await self.send_json({"type": "error", "message": "This connection is receive-only."})

    async def status_update(self, message: dict) -> None:
        events = message["events"]
        if not events:
            await self.send(text_data=message["text"])
            return
        if message["first"] > self.cursor:
            self.cursor = events[-1]["cursor"]
            await self.send(text_data=message["text"])  # encoded once by the publisher
            return
        fresh = [e for e in events if e["cursor"] > self.cursor]
        if fresh:
            self.cursor = fresh[-1]["cursor"]
        await self.send(
            text_data=json.dumps({"type": "update", "events": fresh, "summary": message["summary"]})
        )

    async def status_revoked(self, message: dict) -> None:
        if self.grant is not None and self.grant.link_id in message.get("links", []):
            await self.send_json({"type": "revoked"})
            await self.close(code=CLOSE_REVOKED)
