"""``TenantTask``: the base of every tenant Celery task.

The task's first argument is the tenant id; the task body runs inside ``tenant_context``.
Enqueueing without an integer tenant id fails at once, in the caller. Enqueueing after commit
never fails the caller: if the broker is down, the error is logged and the periodic sweepers of
the owning app pick the work up later (the database row is the source of truth).
"""

from __future__ import annotations

import functools
import logging

from celery.contrib.django.task import DjangoTask
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

logger = logging.getLogger(__name__)


class TenantTaskError(TypeError):
    pass


def _check_tenant_arg(name: str, args) -> None:
    if not args or isinstance(args[0], bool) or not isinstance(args[0], int):
        raise TenantTaskError(f"{name} must be enqueued with tenant_id (an int) as first argument")


class TenantTask(DjangoTask):
    abstract = True

    def apply_async(self, args=None, kwargs=None, **options):
        _check_tenant_arg(self.name, args)
        return super().apply_async(args=args, kwargs=kwargs, **options)

    def delay_on_commit(self, *args, **kwargs) -> None:
        self.apply_async_on_commit(args, kwargs)

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        _check_tenant_arg(self.name, args)
        transaction.on_commit(functools.partial(self._enqueue_after_commit, args, kwargs, options))

    def _enqueue_after_commit(self, args, kwargs, options) -> None:
        if self.app.conf.task_always_eager:
            self.apply_async(args=args, kwargs=kwargs, **options)
            return
        # Nobody waits for the result of an on-commit enqueue, so none is stored. Without this,
        # Celery's Redis result backend subscribes before sending, and with Redis down that
        # fails with a RuntimeError after which the process could never enqueue again.
        options = {"ignore_result": True, **options}
        try:
            self.apply_async(args=args, kwargs=kwargs, **options)
        except (OperationalError, OSError, RedisError):
            logger.exception(
                "broker unavailable: %s for tenant %s not enqueued; the sweeper will retry",
                self.name,
                args[0],
            )

    def __call__(self, *args, **kwargs):
        _check_tenant_arg(self.name, args)
        tenant = Tenant.objects.filter(pk=args[0]).first()
        if tenant is None:
            # The tenant was deleted after the task was queued: nothing left to do.
            return None
        with tenant_context(tenant):
            return super().__call__(*args, **kwargs)
