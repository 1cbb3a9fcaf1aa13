"""Rate limits for the public machine endpoints (event ingestion, the inbound email webhook).

Counted per tenant and caller (the API key, the signed-in person, the tenant's signature, or the
client address) in the shared cache (Redis in production, so every web process counts together).
A view opts in with ``throttle_classes = [TenantScopedRateThrottle]`` and a ``throttle_scope``
named in ``settings.HELPDESK_API_RATES`` (``"<n>/<second|minute|hour|day>"``). Past the rate the
answer is 429 with ``{"message": "Request was throttled. Expected available in N seconds.",
"retry_after": N}`` and a ``Retry-After`` header.

The count is a fixed window (one counter per caller and window, ``INCR`` in Redis), not DRF's
sliding history: DRF keeps every request's timestamp in one cache entry, which it reads and writes
whole on every request, so at high rates (a busy mail gateway) the limit itself became the
slowest part of the request. A fixed window lets a caller send up to twice the rate across a
window's edge, which is fine for an abuse limit.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
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

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window_key = f"{self.key}:{int(now // self.duration)}"
        cache.add(window_key, 0, self.duration + 1)
        try:
            count = cache.incr(window_key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(window_key, 1, self.duration + 1)
            count = 1
        if count > self.num_requests:
            self.wait_seconds = self.duration - (now % self.duration)
            return False
        return True

    def wait(self) -> float:
        return getattr(self, "wait_seconds", None)
