"""Sending to channel-layer groups after commit. A failed send never fails the caller.

From synchronous code (WSGI requests, Celery tasks) ``async_to_sync`` would start a fresh event
loop for every send, and channels-redis keeps its connections per event loop: every send paid for
a new Redis connection (about 3 ms of CPU, more than the send itself). With the Redis layers the
sends therefore go through one long-lived event loop per process (``_PublisherLoop``), which keeps
its connections. The in-memory layer (the embedded demo and the tests without Redis) belongs to
the server's own event loop, so it keeps ``async_to_sync``, which runs the send on that loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from helpdesk.realtime.groups import agent_group

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0  # seconds; a send that takes longer is logged and given up (pages catch up)


class _PublisherLoop:
    """One event loop in a daemon thread per process (started on first use, again after fork)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="channel-layer-publisher", daemon=True
                )
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, send: Callable[..., Awaitable[None]], *args) -> None:
        asyncio.run_coroutine_threadsafe(send(*args), self._get()).result(SEND_TIMEOUT)


_publisher = _PublisherLoop()


def _is_redis_layer(layer) -> bool:
    return type(layer).__module__.startswith("channels_redis.")


def group_send_now(group: str, message: dict) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        if _is_redis_layer(layer):
            _publisher.run(layer.group_send, group, message)
        else:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # the channel layer may be down; clients catch up by cursor
        logger.warning("channel layer send to %s failed", group, exc_info=True)
        return False
    return True


def group_send_on_commit(group: str, message: dict) -> None:
    transaction.on_commit(lambda: group_send_now(group, message))


def notify_member_on_commit(*, tenant_id: int, user_id: int, payload: dict) -> None:
    group_send_on_commit(agent_group(tenant_id, user_id), {"type": "notify", "payload": payload})
