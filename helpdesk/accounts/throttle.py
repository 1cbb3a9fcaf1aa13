"""Sign-in throttling: after repeated failures for an address from a client, refuse for a while.

Counts failures per (email, client IP) and per client IP in the cache (Redis in production, so all
web processes share the counts). A successful sign-in clears the per-email counter.
"""

from __future__ import annotations

from django.core.cache import cache

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 30


def _keys(email: str, ip: str | None) -> tuple[str, str]:
    return f"login-fail:{email.lower()}:{ip}", f"login-fail-ip:{ip}"


def login_blocked(*, email: str, ip: str | None) -> bool:
    per_email, per_ip = _keys(email, ip)
    return (cache.get(per_email) or 0) >= MAX_FAILURES_PER_EMAIL or (
        cache.get(per_ip) or 0
    ) >= MAX_FAILURES_PER_IP


def login_failed(*, email: str, ip: str | None) -> None:
    for key in _keys(email, ip):
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, WINDOW_SECONDS)


def login_succeeded(*, email: str, ip: str | None) -> None:
    cache.delete(_keys(email, ip)[0])
