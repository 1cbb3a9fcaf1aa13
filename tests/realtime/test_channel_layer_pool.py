"""The Redis channel layer of one server process takes bursts wider than redis-py's default pool.

redis-py 7+ caps a connection pool at 100 connections and raises MaxConnectionsError past that
(earlier versions had no cap). One ASGI process holds hundreds of pages; when a hundred staff
pages close at once, each sends its presence update at the same moment.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer

pytestmark = pytest.mark.redis_only

WIDTH = 250


async def test_a_burst_wider_than_a_hundred_connections_is_delivered():
    """Named channels, one Redis list each (the process-specific channels of new_channel() share
    one list, whose capacity of 100 would refuse the burst for another reason)."""
    layer = get_channel_layer()
    run = uuid.uuid4().hex
    channels = [f"pool-burst.{run}.{n}" for n in range(WIDTH)]
    await asyncio.gather(
        *(layer.send(channel, {"type": "burst.item", "n": n}) for n, channel in enumerate(channels))
    )
    received = await asyncio.gather(*(layer.receive(channel) for channel in channels))
    assert [message["n"] for message in received] == list(range(WIDTH))
