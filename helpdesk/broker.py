"""The Celery broker transport: kombu's Redis transport, keeping one client per channel.

kombu wraps a new ``redis.Redis`` around the channel's connection pool for every command it
sends outside the consumer loop (``conn_or_acquire``: each task published, queue sizes, the
worker's restore of unacknowledged messages). Building one costs about half a millisecond of
CPU (its table of response callbacks), once or more per request that enqueues a task. The
client keeps no connection of its own (each command takes one from the pool and gives it back;
pipelines are objects of their own), so one per channel and pool serves the same. The clients
of the consumer loop (``asynchronous=True``) are kombu's own, unchanged.

Used when the broker is Redis (``helpdesk/celery.py``).
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _sync_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._sync_client
        if client is None or client.connection_pool is not pool:
            client = self._sync_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
