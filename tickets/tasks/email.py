"""Celery entry points of email: processing inbound mail, sending, polling mailboxes, sweeping.

Periodic (beat): ``tickets.mailbox_poll_fanout`` every minute (one poll per active mailbox) and
``tickets.email_sweep_fanout`` every five minutes (re-queues what a lost task left behind).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta

from celery import shared_task
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from helpdesk.tenancy.context import current_tenant, system_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.tasks import TenantTask
from tickets.email import selectors
from tickets.models import InboundEmail, Mailbox, OutboundEmail
from tickets.services import email_in, email_out

# A fan-out older than this is dropped by the worker: the next one is already due.
POLL_EXPIRES_SECONDS = 55

# Whether a later retry can happen: not when the task runs in-process (``task_always_eager``,
# the embedded demo), where Celery would run the "retry" at once and block the caller.
_retry_possible: ContextVar[bool] = ContextVar("email_retry_possible", default=True)


class EmailSendFailed(Exception):
    """A failed attempt that will be retried; ``retry_in`` is the countdown in seconds."""

    def __init__(self, message: str = "", retry_in: int | None = None) -> None:
        super().__init__(message)
        self.retry_in = retry_in


class EmailSendTask(TenantTask):
    """Retries only after the attempt's outcome is committed (the body runs in one transaction:
    raising ``Retry`` from inside would roll the recorded attempt back). Called directly (tests),
    Celery raises ``EmailSendFailed`` with the countdown instead of re-queueing."""

    abstract = True

    def __call__(self, *args, **kwargs):
        token = _retry_possible.set(not bool(self.request.is_eager))
        try:
            outcome = super().__call__(*args, **kwargs)
        finally:
            _retry_possible.reset(token)
        if outcome and outcome.get("retry_in") is not None:
            raise self.retry(
                countdown=outcome["retry_in"],
                exc=EmailSendFailed(
                    f"attempt {outcome['attempts']} failed: {outcome['error']}",
                    retry_in=outcome["retry_in"],
                ),
            )
        return outcome


@shared_task(
    base=EmailSendTask, name="tickets.outbound_email_send", max_retries=None, ignore_result=True
)
def outbound_email_send_task(tenant_id: int, outbound_id: int) -> dict:
    """Send one email; the number of attempts is kept on the row, not in Celery."""
    tenant = current_tenant()
    outcome = email_out.outbound_email_send(
        tenant=tenant,
        outbound=OutboundEmail(pk=outbound_id, tenant=tenant),
        may_retry=_retry_possible.get(),
    )
    return outcome.as_dict()


@shared_task(base=TenantTask, name="tickets.inbound_email_process", ignore_result=True)
def inbound_email_process_task(tenant_id: int, inbound_id: int, rate_limit: bool = True) -> str:
    tenant = current_tenant()
    row = email_in.inbound_email_process(
        tenant=tenant,
        inbound=InboundEmail(pk=inbound_id, tenant=tenant),
        rate_limit=None if rate_limit else False,
    )
    return row.state


@shared_task(base=TenantTask, name="tickets.mailbox_poll", ignore_result=True)
def mailbox_poll_task(tenant_id: int, mailbox_id: int) -> dict:
    tenant = current_tenant()
    mailbox = selectors.mailbox_get(tenant=tenant, mailbox_id=mailbox_id)
    if mailbox is None:
        return {"mailbox": mailbox_id, "skipped": "missing"}
    return email_in.mailbox_poll(tenant=tenant, mailbox=mailbox).as_dict()


@shared_task(name="tickets.mailbox_poll_fanout")
def mailbox_poll_fanout_task() -> int:
    """Periodic (beat, every minute): one poll per active mailbox of every tenant."""
    with system_context(reason="mailbox poll fan-out"):
        mailboxes = list(
            Mailbox.objects.filter(is_active=True)
            .order_by("tenant_id", "pk")
            .values_list("tenant_id", "pk")
        )
    for tenant_id, mailbox_id in mailboxes:
        mailbox_poll_task.apply_async(args=[tenant_id, mailbox_id], expires=POLL_EXPIRES_SECONDS)
    return len(mailboxes)


@shared_task(base=TenantTask, name="tickets.email_sweep", ignore_result=True)
def email_sweep_task(tenant_id: int) -> dict[str, int]:
    return email_in.email_sweep(tenant=current_tenant())


@shared_task(name="tickets.email_sweep_fanout")
def email_sweep_fanout_task() -> int:
    """Periodic (beat, every five minutes): a sweep for each tenant with stale email rows."""
    now = timezone.now()
    with system_context(reason="email sweep fan-out"):
        stale_in = InboundEmail.objects.filter(
            tenant_id=OuterRef("pk"),
            state=InboundEmail.State.RECEIVED,
            received_at__lt=now - email_in.STALE_AFTER,
        )
        stale_out = OutboundEmail.objects.filter(
            Q(attempts=0),
            tenant_id=OuterRef("pk"),
            state=OutboundEmail.State.PENDING,
            created_at__lt=now - email_out.OUTBOUND_STALE_AFTER,
        )
        tenant_ids = list(
            Tenant.objects.filter(Exists(stale_in) | Exists(stale_out))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    for tenant_id in tenant_ids:
        email_sweep_task.apply_async(args=[tenant_id], expires=int(timedelta(minutes=4).seconds))
    return len(tenant_ids)
