"""The Redis cache serves as an empty cache while Redis is unreachable (helpdesk/cache.py).

The end-to-end drill (customers writing while Redis is down) is tests/reliability/
test_drill_redis_down.py; this checks each cache call against a port where nothing listens.
"""

from __future__ import annotations

import logging
import socket

import pytest

from helpdesk.cache import ResilientRedisCache


@pytest.fixture
def unreachable() -> ResilientRedisCache:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    return ResilientRedisCache(
        f"redis://127.0.0.1:{port}/0",
        {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_every_call_answers_as_an_empty_cache_when_redis_is_unreachable(unreachable, monkeypatch):
    # the warning is logged at most once a minute per process: start from a quiet minute, as an
    # earlier test of the run may have logged it already; and listen on the module's own logger
    # (earlier tests, such as the in-process Celery workers, reconfigure the root logger)
    monkeypatch.setattr(ResilientRedisCache, "_last_logged", 0.0)
    logger = logging.getLogger("helpdesk.cache")
    monkeypatch.setattr(logger, "disabled", False)
    records = _Records()
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.WARNING)  # setLevel also clears the logger's cached decisions
    cache = unreachable
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    cache.set("k", 1)
    assert cache.add("k", 1) is False
    assert cache.incr("hits") == 1  # a rate limit counts from zero: it fails open
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1}) == ["a"]
    assert cache.has_key("k") is False
    assert cache.touch("k") is False
    assert cache.delete("k") is False
    cache.delete_many(["a"])
    cache.clear()
    logger.removeHandler(records)
    logger.setLevel(level)
    assert any("cache unavailable" in message for message in records.messages)


@pytest.mark.redis_only
def test_a_reachable_redis_is_used_as_usual(settings):
    cache = ResilientRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-resilient-cache"})
    try:
        cache.set("k", {"v": 1}, 30)
        assert cache.get("k") == {"v": 1}
        assert cache.add("k", 2) is False
        assert cache.add("k2", 0, 30) is True
        assert cache.incr("k2") == 1
    finally:
        cache.delete_many(["k", "k2"])


@pytest.mark.redis_only
def test_one_redis_client_serves_every_call_of_a_cache(settings):
    cache = ResilientRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-resilient-cache"})
    try:
        first = cache._cache.get_client("k")
        cache.set("k", 1, 30)
        assert cache.get("k") == 1
        assert cache._cache.get_client("k", write=True) is first
    finally:
        cache.delete("k")
