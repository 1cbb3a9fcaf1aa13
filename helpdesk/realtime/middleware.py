"""WebSocket tenancy: the route carries the tenant; membership is checked before the consumer.

Staff sockets live under ``/ws/t/<slug>/...`` and need a session whose user is a member of that
tenant. Anything else under ``/ws/t/`` is refused before the handshake completes.

Origins (``WsOriginPolicy``): every socket must come from a page of this helpdesk (the Origin is
one of ALLOWED_HOSTS), except the live chat widget's (``/ws/chat/<slug>/``), which runs on the
tenants' own websites. That route accepts any Origin, and its cookies are removed before anything
reads them: it is anonymous by construction, so a page on another site cannot use a visitor's
staff session through it (no cross-site WebSocket hijacking).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier

from helpdesk.tenancy.selectors import membership_get, tenant_get_by_slug

WS_TENANT_PATH = re.compile(r"^/ws/t/(?P<slug>[^/]+)/")
# Anonymous sockets opened from other sites (the embeddable chat widget).
WS_CROSS_ORIGIN_PATH = re.compile(r"^/ws/chat/[^/]+/$")


@dataclass(frozen=True)
class MemberAccess:
    tenant_id: int
    tenant_slug: str
    user_id: int
    role: str


def _two_factor_verified(user, session) -> bool:
    """The session was verified with a code of one of ``user``'s devices (django-otp)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


@database_sync_to_async
def member_access(slug: str, user, session=None) -> MemberAccess | None:
    tenant = tenant_get_by_slug(slug=slug)
    if tenant is None or user is None:
        return None
    membership = membership_get(tenant=tenant, user=user)
    if membership is None:
        return None
    if tenant.require_two_factor and not _two_factor_verified(user, session):
        return None  # as for pages: a tenant that requires a code needs a verified session
    return MemberAccess(tenant.pk, tenant.slug, user.pk, membership.role)


class _TenantScopeMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        match = WS_TENANT_PATH.match(scope.get("path", ""))
        if match is not None:
            access = await member_access(match["slug"], scope.get("user"), scope.get("session"))
            if access is None:
                return await WebsocketDenier()(scope, receive, send)
            scope = {**scope, "tenant_id": access.tenant_id, "member": access}
        return await super().__call__(scope, receive, send)


def TenantWsMiddleware(inner):
    """Session auth, then the tenant and membership check."""
    return AuthMiddlewareStack(_TenantScopeMiddleware(inner))


class WsOriginPolicy:
    """The Origin check of every socket: strict (ALLOWED_HOSTS) for all routes but the chat
    widget's, which accepts any Origin and never sees cookies."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.strict = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and WS_CROSS_ORIGIN_PATH.match(scope.get("path", "")):
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"cookie"]
            return await self.inner({**scope, "headers": headers}, receive, send)
        return await self.strict(scope, receive, send)
