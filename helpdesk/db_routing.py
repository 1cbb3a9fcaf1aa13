"""Read-replica routing for dashboard reads.

With ``HELPDESK_REPLICA_DATABASE_URL`` set, settings add a ``replica`` database alias (a
streaming replica of the primary) and install ``ReplicaRouter``. Nothing goes to the replica by
default: a read is routed there only inside ``replica_reads(tenant)``, which the metrics and
dashboard selectors enter (``reads_from_replica``). Writes always go to ``default``, and so do
the reads of everything else (a queue page must see the reply that was just saved; a dashboard
may lag the primary by the replica's delay).

Row-level security holds on the replica as on the primary: ``replica_reads`` opens a read-only
transaction on the replica connection and sets the same transaction-local ``app.tenant_id``
that ``tenant_context`` sets on the primary.

Without the alias (the demo, most tests), ``replica_reads`` only enters ``tenant_context``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar

from django.db import connections, transaction

from helpdesk.tenancy.context import tenant_context

if TYPE_CHECKING:
    from helpdesk.tenancy.models import Tenant

REPLICA = "replica"

_reading_from: ContextVar[str | None] = ContextVar("helpdesk_replica_reads", default=None)

F = TypeVar("F", bound=Callable)


def replica_configured() -> bool:
    return REPLICA in connections.settings


@contextmanager
def replica_reads(tenant: Tenant) -> Iterator[None]:
    """Route this block's reads to the replica (if there is one), inside ``tenant``'s scope."""
    with tenant_context(tenant):
        if not replica_configured() or _reading_from.get() == REPLICA:
            yield
            return
        replica = connections[REPLICA]
        if replica.vendor != "postgresql":
            # No transaction-local settings to carry (and a second SQLite writer would wait).
            with _routing_to_replica():
                yield
            return
        with transaction.atomic(using=REPLICA):
            with replica.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(
                    "SELECT set_config('app.tenant_id', %s, true), "
                    "set_config('app.bypass_rls', 'off', true)",
                    [str(tenant.pk)],
                )
            with _routing_to_replica():
                yield


@contextmanager
def _routing_to_replica() -> Iterator[None]:
    token = _reading_from.set(REPLICA)
    try:
        yield
    finally:
        _reading_from.reset(token)


def reads_from_replica(selector: F) -> F:
    """For a selector taking ``tenant=`` (keyword): run it inside ``replica_reads(tenant)``."""

    @functools.wraps(selector)
    def wrapper(*args, **kwargs):
        with replica_reads(kwargs["tenant"]):
            return selector(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """Reads inside ``replica_reads`` go to the replica; everything else to ``default``."""

    def db_for_read(self, model, **hints):
        return _reading_from.get()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
