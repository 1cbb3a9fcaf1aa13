"""Settings of benchmarks/status_fanout.py: the project's settings (from the environment), with
the channel layer chosen by HELPDESK_BENCH_CHANNEL_LAYER ("core": RedisChannelLayer, the
project's; "pubsub": RedisPubSubChannelLayer) and tasks in-process (the benchmark runs no worker,
so nothing is left queued in the shared Redis)."""

import os

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import CHANNEL_LAYERS

CELERY_TASK_ALWAYS_EAGER = True

_layer = os.environ.get("HELPDESK_BENCH_CHANNEL_LAYER", "core")
if _layer == "pubsub":
    CHANNEL_LAYERS["default"]["BACKEND"] = "channels_redis.pubsub.RedisPubSubChannelLayer"
elif _layer != "core":
    raise ValueError(f"HELPDESK_BENCH_CHANNEL_LAYER must be core or pubsub, not {_layer!r}")
