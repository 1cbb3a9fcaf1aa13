"""The Celery application. Settings come from Django settings with the CELERY_ prefix.

Each worker process that consumes the analysis queue loads the message analyser when it starts
(``worker_process_init``), so that the first message after a worker (re)start does not wait for
the model files (more than a second). Other workers, eager runs (the embedded demo, tests) and
the web processes never load it here.
"""

import logging
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

logger = logging.getLogger(__name__)

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect(weak=False)
def _redis_broker_transport(sender: Celery, **kwargs) -> None:
    """With a Redis broker, kombu's Redis transport keeping one client per channel instead of
    building one per task published (``helpdesk/broker.py``)."""
    url = str(sender.conf.broker_url or "")
    if url.startswith(("redis://", "rediss://")) and not sender.conf.broker_transport:
        sender.conf.broker_transport = "helpdesk.broker:Transport"


def consumes_analysis_queue(celery_app: Celery) -> bool:
    """Whether this worker consumes the analysis queue (its ``-Q`` selection, or the default)."""
    from django.conf import settings

    if celery_app.conf.task_always_eager:
        return False
    return settings.HELPDESK_ANALYSIS_QUEUE in celery_app.amqp.queues.consume_from


@worker_process_init.connect(dispatch_uid="helpdesk.analysis_preload")
def analyser_preload(sender=None, **kwargs) -> None:
    """A new worker process (prefork child): load the analyser if it will analyse messages. A
    failure only logs: the first task loads it again, and fails and retries as usual."""
    if not consumes_analysis_queue(app):
        return
    try:
        from tickets.analysis import get_analyser

        get_analyser()
    except Exception:
        logger.exception("could not preload the message analyser")
