"""Sending to channel-layer groups after commit. A failed send never fails the caller."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from helpdesk.realtime.groups import agent_group

logger = logging.getLogger(__name__)


def group_send_now(group: str, message: dict) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the channel layer may be down; clients catch up by cursor
        logger.warning("channel layer send to %s failed", group, exc_info=True)
        return False
    return True


def group_send_on_commit(group: str, message: dict) -> None:
    transaction.on_commit(lambda: group_send_now(group, message))


def notify_member_on_commit(*, tenant_id: int, user_id: int, payload: dict) -> None:
    group_send_on_commit(agent_group(tenant_id, user_id), {"type": "notify", "payload": payload})
