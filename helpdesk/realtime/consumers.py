"""Base consumer for staff sockets, and the per-person notification socket."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.realtime.groups import agent_group


class TenantConsumer(AsyncJsonWebsocketConsumer):
    """A staff socket: ``scope["tenant_id"]`` and ``scope["member"]`` were set by the middleware.

    Subclasses list their groups in ``groups_for_scope()``; joining and leaving is handled here.
    """

    async def connect(self) -> None:
        if "tenant_id" not in self.scope:
            await self.close(code=4403)
            return
        self.tenant_id: int = self.scope["tenant_id"]
        self.member = self.scope["member"]
        self.joined: list[str] = []
        for group in self.groups_for_scope():
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        await self.accept()
        await self.on_connected()

    async def disconnect(self, code) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    def groups_for_scope(self) -> list[str]:
        return []

    async def on_connected(self) -> None:
        return None


class NotificationConsumer(TenantConsumer):
    """Personal notifications of a staff member in one tenant (SLA warnings, mentions...)."""

    def groups_for_scope(self) -> list[str]:
        return [agent_group(self.tenant_id, self.member.user_id)]

    async def on_connected(self) -> None:
        await self.send_json(
            {"type": "hello", "tenant": self.member.tenant_slug, "role": self.member.role}
        )

    async def notify(self, event: dict) -> None:
        await self.send_json({"type": "notification", "payload": event["payload"]})
