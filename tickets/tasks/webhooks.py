"""Celery entry point of outbound webhooks: one task per delivery, retried with backoff.

The HTTP request is made here and only here, never in a web request (see
``tickets.services.webhooks`` for the schedule, the signature and the payload).
"""

from __future__ import annotations

from contextvars import ContextVar

from celery import shared_task

from helpdesk.tenancy.context import current_tenant
from helpdesk.tenancy.tasks import TenantTask
from tickets.selectors_webhooks import webhook_delivery_get_by_id
from tickets.services.webhooks import webhook_delivery_attempt

# Whether a later retry can happen: not when the task runs in-process (``task_always_eager``,
# the embedded demo), where Celery would run the "retry" at once and block the caller.
_retry_possible: ContextVar[bool] = ContextVar("webhook_retry_possible", default=True)


class WebhookDeliveryFailed(Exception):
    """A failed attempt that will be retried; ``retry_in`` is the countdown in seconds."""

    def __init__(self, message: str = "", retry_in: int | None = None) -> None:
        super().__init__(message)
        self.retry_in = retry_in


class WebhookDeliverTask(TenantTask):
    """A ``TenantTask`` that asks for its retry only after the attempt's outcome is committed.

    ``TenantTask`` runs the body inside ``tenant_context`` (one transaction), so raising Celery's
    ``Retry`` from the body would roll back the recorded attempt. The body returns the outcome
    instead, and the retry is raised here, outside the transaction. Called directly (tests),
    Celery raises ``WebhookDeliveryFailed`` carrying the countdown instead of re-queueing.
    """

    abstract = True

    def __call__(self, *args, **kwargs):
        in_process = bool(self.request.is_eager)
        token = _retry_possible.set(not in_process)
        try:
            outcome = super().__call__(*args, **kwargs)
        finally:
            _retry_possible.reset(token)
        if outcome and outcome.get("retry_in") is not None:
            raise self.retry(
                countdown=outcome["retry_in"],
                exc=WebhookDeliveryFailed(
                    f"attempt {outcome['attempts']} failed: {outcome['error']}",
                    retry_in=outcome["retry_in"],
                ),
            )
        return outcome


@shared_task(base=WebhookDeliverTask, name="tickets.webhook_deliver", max_retries=None)
def webhook_deliver_task(tenant_id: int, delivery_id: int) -> dict:
    """Send one delivery; the number of attempts is kept on the row, not in Celery."""
    tenant = current_tenant()
    delivery = webhook_delivery_get_by_id(tenant=tenant, delivery_id=delivery_id)
    if delivery is None:  # the endpoint was deleted since
        return {"delivery": "", "state": "missing", "attempts": 0, "retry_in": None}
    outcome = webhook_delivery_attempt(
        tenant=tenant, delivery=delivery, may_retry=_retry_possible.get()
    )
    return outcome.as_dict()
