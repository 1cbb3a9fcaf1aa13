"""The only two ways into a tenant scope: ``tenant_context`` and ``system_context``.

The scope lives in a context variable, so it follows the code through threads started by
asgiref (``sync_to_async``) and never leaks between requests. On PostgreSQL the scope is also
written to transaction-local settings (``app.tenant_id``, ``app.bypass_rls``) that the row-level
security policies read, so a forgotten filter cannot cross tenants even in raw SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import DatabaseError, connection, transaction

if TYPE_CHECKING:
    from helpdesk.tenancy.models import Tenant

logger = logging.getLogger("helpdesk.tenancy.system")


class TenantContextError(RuntimeError):
    """A tenant-owned model was used without, or against, the active tenant scope."""


@dataclass(frozen=True)
class Scope:
    tenant: Tenant | None
    system_reason: str = ""
    # What the scope's transaction may remember about itself (``scope_memo``); dropped with it.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_system(self) -> bool:
        return self.tenant is None


_scope: ContextVar[Scope | None] = ContextVar("helpdesk_tenant_scope", default=None)


def current_scope() -> Scope | None:
    return _scope.get()


def current_tenant() -> Tenant | None:
    """The active tenant, or None inside ``system_context`` or outside any scope."""
    scope = _scope.get()
    return scope.tenant if scope else None


def scope_memo(key: str) -> dict | None:
    """A dict that lives as long as the outermost tenant scope (one transaction), or None.

    For reads that one use case repeats (the webhook endpoints of the tenant, asked once per
    timeline event): the first asks the database, the others reuse the answer. Whoever changes
    what is remembered drops the entry (``scope_memo_forget``).
    """
    scope = _scope.get()
    if scope is None or scope.tenant is None:
        return None
    return scope.memo.setdefault(key, {})


def scope_memo_forget(key: str) -> None:
    scope = _scope.get()
    if scope is not None:
        scope.memo.pop(key, None)


def require_scope() -> Scope:
    scope = _scope.get()
    if scope is None:
        raise TenantContextError(
            "A tenant-owned model was queried with no tenant scope. Wrap the code in "
            "`with tenant_context(tenant):` (or `system_context(reason=...)` for deliberate "
            "cross-tenant work)."
        )
    return scope


def _apply_db_scope(scope: Scope | None) -> None:
    if connection.vendor != "postgresql":
        return
    tenant_id = str(scope.tenant.pk) if scope and scope.tenant else ""
    bypass = "on" if scope and scope.is_system else "off"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('app.tenant_id', %s, true), set_config('app.bypass_rls', %s, true)",
            [tenant_id, bypass],
        )
    # What this connection's transaction holds now (see _already_scoped).
    connection.helpdesk_db_scope = tenant_id if bypass == "off" else "*"


def _already_scoped(tenant: Tenant, previous: Scope | None) -> bool:
    """Whether ``tenant`` is already the scope in Python *and* on this thread's connection.

    Re-entering the same tenant is common (a service that calls other services), and each entry
    would otherwise cost two ``set_config`` round trips. The connection check matters: a scope
    that followed the code into another thread (asgiref) was applied to another connection.
    """
    if previous is None or previous.tenant is None or previous.tenant.pk != tenant.pk:
        return False
    if connection.vendor != "postgresql":
        return True
    return connection.in_atomic_block and getattr(connection, "helpdesk_db_scope", None) == str(
        tenant.pk
    )


def _opens_transaction() -> bool:
    """Whether an ``atomic()`` entered now starts the transaction (and ends it on exit)."""
    return not connection.in_atomic_block and connection.get_autocommit()


def _forget_db_scope() -> None:
    """The transaction that held the settings ends right after: its end clears them (they are
    transaction-local), so writing them back first would be a round trip for nothing."""
    if connection.vendor == "postgresql":
        connection.helpdesk_db_scope = ""


@contextmanager
def _scoped(scope: Scope, previous: Scope | None, *, closes: bool = False) -> Iterator[None]:
    """Set ``scope`` for the block, then put ``previous`` back, in Python and in the database.

    ``closes``: the block's transaction commits or rolls back as soon as this returns (the
    scope opened it), so the database half of putting ``previous`` back is left to its end.
    """
    token = _scope.set(scope)
    _apply_db_scope(scope)
    try:
        yield
    except BaseException:
        _scope.reset(token)
        if closes:
            _forget_db_scope()
        else:
            # The transaction may be aborted; it is rolled back right after, settings and all.
            with suppress(DatabaseError):
                _apply_db_scope(previous)
        raise
    _scope.reset(token)
    if closes:
        _forget_db_scope()
    else:
        _apply_db_scope(previous)


@contextmanager
def tenant_context(tenant: Tenant, *, savepoint: bool = True) -> Iterator[Tenant]:
    """Enter ``tenant``'s scope inside a transaction.

    Nesting the same tenant is allowed; switching to another tenant is only allowed from inside
    ``system_context`` (tenant fan-out), never from one tenant to another.

    A nested entry opens a savepoint, so that a caller may catch an error of the inner block and
    carry on with the outer one. ``savepoint=False`` leaves it out (two statements fewer) for a
    block that cannot leave half a change behind when it raises: reads, or a single write.
    """
    from helpdesk.tenancy.models import Tenant

    if not isinstance(tenant, Tenant) or tenant.pk is None:
        raise TypeError(f"tenant_context() needs a saved Tenant, got {tenant!r}")
    previous = _scope.get()
    if previous and previous.tenant is not None and previous.tenant.pk != tenant.pk:
        raise TenantContextError(
            f"Cannot enter tenant {tenant.pk} from inside tenant {previous.tenant.pk}."
        )
    if _already_scoped(tenant, previous):
        # Already inside this tenant's transaction. Still a savepoint unless told otherwise:
        # callers catch errors of an inner block (a refused change) and carry on with the outer.
        if not savepoint:
            yield tenant
            return
        with transaction.atomic():
            yield tenant
        return
    closes = _opens_transaction()
    with transaction.atomic(), _scoped(Scope(tenant=tenant), previous, closes=closes):
        yield tenant


@contextmanager
def system_context(*, reason: str) -> Iterator[None]:
    """Deliberate cross-tenant work (fan-out, tooling). Logged with its reason."""
    if not reason or not reason.strip():
        raise ValueError("system_context() needs a reason")
    previous = _scope.get()
    if previous and previous.tenant is not None:
        raise TenantContextError("system_context() cannot be entered from inside a tenant scope")
    logger.info("system context entered: %s", reason)
    closes = _opens_transaction()
    with (
        transaction.atomic(),
        _scoped(Scope(tenant=None, system_reason=reason), previous, closes=closes),
    ):
        yield
