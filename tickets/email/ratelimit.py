"""The per-sender flood limit of inbound email, counted in the Django cache (Redis in production).

A fixed window per (tenant, sender): at most ``HELPDESK_EMAIL_RATE_LIMIT`` messages per
``HELPDESK_EMAIL_RATE_WINDOW`` seconds become tickets or replies; the rest are recorded as
rejected. Imports (migrations) are not limited.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _key(tenant_id: int, sender: str, window: int) -> str:
    digest = hashlib.sha256(sender.lower().encode()).hexdigest()[:24]
    return f"email-rate:{tenant_id}:{digest}:{int(time.time()) // window}"


def sender_allowance_take(*, tenant_id: int, sender: str) -> bool:
    """Count one message of ``sender``; False once the sender is over the limit."""
    limit = settings.HELPDESK_EMAIL_RATE_LIMIT
    window = settings.HELPDESK_EMAIL_RATE_WINDOW
    if limit <= 0:
        return True
    key = _key(tenant_id, sender, window)
    if cache.add(key, 1, timeout=window + 5):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window + 5)
        return True
    return count <= limit
