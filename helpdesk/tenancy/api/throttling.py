"""Rate limits for the public machine endpoints (event ingestion, the inbound email webhook).

Counted per tenant and caller (the API key, the signed-in person, the tenant's signature, or the
client address) in the shared cache (Redis in production, so every web process counts together).
A view opts in with ``throttle_classes = [TenantScopedRateThrottle]`` and a ``throttle_scope``
named in ``settings.HELPDESK_API_RATES`` (``"<n>/<second|minute|hour|day>"``). Past the rate the
answer is 429 with ``{"message": "Request was throttled. Expected available in N seconds.",
"retry_after": N}`` and a ``Retry-After`` header.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal


class TenantScopedRateThrottle(ScopedRateThrottle):
    def get_rate(self) -> str | None:
        # Read at request time (DRF's own lookup is frozen at import), so deployments and tests
        # can change the rates through settings.
        return settings.HELPDESK_API_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str:
        tenant = getattr(request._request, "tenant", None)
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            caller = f"key{user.api_key.pk}"
        elif getattr(user, "pk", None):
            caller = f"user{user.pk}"
        elif getattr(user, "tenant_id", None):
            caller = "signature"
        else:
            caller = f"ip{self.get_ident(request)}"
        ident = f"{tenant.pk if tenant is not None else '-'}:{caller}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
