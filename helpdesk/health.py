"""Liveness and readiness for load balancers and compose health checks."""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure means not ready
        checks["database"] = "down"
    if settings.REDIS_URL:
        try:
            # Directly: the cache backend hides an unreachable Redis (helpdesk/cache.py).
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "down"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
    )
