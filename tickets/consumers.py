"""Live ticket and queue pages for staff.

``TicketConsumer`` (``/ws/t/<slug>/tickets/<number>/?cursor=N``): replays the timeline events
after the client's cursor, then streams new ones; tells viewers who else has the ticket open and
who is typing (collision detection). ``QueueConsumer`` (``/ws/t/<slug>/queue/``): tells the
queue page that tickets changed so it can refresh its rows.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from helpdesk.realtime.consumers import TenantConsumer
from helpdesk.realtime.groups import tenant_group, ticket_group
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets import selectors
from tickets.events import agent_payload

RESYNC = {"type": "resync_required"}


@database_sync_to_async
def _ticket_id(tenant_id: int, number: int) -> int | None:
    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        ticket = selectors.ticket_get_by_number(tenant=tenant, number=number)
        return ticket.pk if ticket else None


@database_sync_to_async
def _replay(tenant_id: int, ticket_id: int, cursor: int) -> list[dict] | None:
    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        events = selectors.ticket_events_since(tenant=tenant, ticket_id=ticket_id, cursor=cursor)
        if len(events) > selectors.REPLAY_LIMIT:
            return None
        return [agent_payload(event=e, ticket=e.ticket, actor=e.actor_user) for e in events]


@database_sync_to_async
def _may_work(tenant_id: int, user_id: int) -> bool:
    membership = Membership.objects.filter(tenant_id=tenant_id, user_id=user_id).first()
    return membership is not None and role_has_perm(membership.role, Perm.TICKETS_WORK)


class TicketConsumer(TenantConsumer):
    async def connect(self) -> None:
        if "tenant_id" not in self.scope:
            await self.close(code=4403)
            return
        number = self.scope["url_route"]["kwargs"]["number"]
        self.ticket_id = await _ticket_id(self.scope["tenant_id"], number)
        if self.ticket_id is None:
            await self.close(code=4404)
            return
        await super().connect()

    def groups_for_scope(self) -> list[str]:
        return [ticket_group(self.tenant_id, self.ticket_id)]

    @property
    def _viewer(self) -> dict:
        return {
            "user_id": self.member.user_id,
            "name": self.scope["user"].get_short_name(),
            "channel": self.channel_name,
        }

    async def on_connected(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        cursor = query.get("cursor", ["0"])[0]
        if cursor.isdigit() and int(cursor) > 0:
            events = await _replay(self.tenant_id, self.ticket_id, int(cursor))
            if events is None:
                await self.send_json(RESYNC)
            else:
                for event in events:
                    await self.send_json({"type": "event", "event": event})
        await self.send_json({"type": "ready"})
        await self._broadcast("presence.join", reply_to=self.channel_name)

    async def disconnect(self, code) -> None:
        if getattr(self, "joined", None):
            await self._broadcast("presence.leave")
        await super().disconnect(code)

    async def _broadcast(self, kind: str, **extra) -> None:
        await self.channel_layer.group_send(
            ticket_group(self.tenant_id, self.ticket_id),
            {"type": "presence.message", "kind": kind, "viewer": self._viewer, **extra},
        )

    async def receive_json(self, content, **kwargs) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "typing":
            if not await _may_work(self.tenant_id, self.member.user_id):
                await self.send_json({"type": "error", "message": "Your role cannot reply."})
                return
            await self._broadcast("presence.typing", typing=bool(content.get("typing")))
        else:
            await self.send_json({"type": "error", "message": "Unknown action."})

    async def ticket_event(self, message: dict) -> None:
        await self.send_json({"type": "event", "event": message["event"]})

    async def ticket_analysed(self, message: dict) -> None:
        """Messages whose analysis was stored (a notice, not an event: no cursor)."""
        await self.send_json({"type": "analysed", "messages": message["messages"]})

    async def presence_message(self, message: dict) -> None:
        viewer = message["viewer"]
        if viewer["channel"] == self.channel_name:
            return
        public = {"user_id": viewer["user_id"], "name": viewer["name"]}
        kind = message["kind"]
        if kind == "presence.join":
            await self.send_json({"type": "presence", "state": "viewing", "viewer": public})
            # Tell the newcomer that we are here too.
            await self.channel_layer.send(
                message["reply_to"],
                {"type": "presence.message", "kind": "presence.here", "viewer": self._viewer},
            )
        elif kind == "presence.here":
            await self.send_json({"type": "presence", "state": "viewing", "viewer": public})
        elif kind == "presence.leave":
            await self.send_json({"type": "presence", "state": "left", "viewer": public})
        elif kind == "presence.typing":
            state = "typing" if message.get("typing") else "viewing"
            await self.send_json({"type": "presence", "state": state, "viewer": public})


class QueueConsumer(TenantConsumer):
    def groups_for_scope(self) -> list[str]:
        return [tenant_group(self.tenant_id)]

    async def queue_changed(self, message: dict) -> None:
        await self.send_json(
            {
                "type": "queue.changed",
                "ticket": message["ticket"],
                "kind": message["kind"],
                "cursor": message["cursor"],
            }
        )
