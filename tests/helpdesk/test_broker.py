"""With a Redis broker, Celery publishes through kombu's Redis transport keeping one client per
channel (helpdesk/broker.py); the drill tests/reliability/test_drill_redis_down.py covers
publishing while Redis is down and after it is back."""

from __future__ import annotations

import pytest

from helpdesk.broker import Transport
from helpdesk.celery import app as celery_app

pytestmark = pytest.mark.redis_only


def test_tasks_are_published_through_the_transport_that_keeps_its_client():
    with celery_app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        channel = connection.default_channel
        client = channel._create_client()
        assert channel._create_client() is client
        with channel.conn_or_acquire() as acquired:
            assert acquired is client
            assert acquired.ping()
        # The consumer loop's clients stay kombu's own.
        assert channel._create_client(asynchronous=True) is not client
