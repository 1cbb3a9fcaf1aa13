"""Fixtures of the failure drills: private services and app processes (see services.py)."""

from tests.reliability.services import (  # noqa: F401 - fixtures
    private_cluster,
    private_redis,
    processes,
    redis_up,
)
