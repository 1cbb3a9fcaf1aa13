"""The tenant's directory: the members, groups, tag names, custom field definitions and macros
every workspace page shows, and the SLA policies and webhook endpoints every new ticket and
message consults. All are read all the time and change rarely.

Each process keeps them in memory under the tenant's directory version, a token in the shared
cache, read once per transaction. Saving or deleting any of them (or a member's user) replaces
the token at once and again after commit (``directory_changed``, connected to the models'
signals in ``tickets.apps``), so the next read of every process loads them again. If the shared cache is unreachable, pages read the database
every time; entries are also dropped after ``MAX_AGE`` seconds, so a lost invalidation cannot
keep a list stale for longer.

The lists are shared between requests: never change or save what they hold. Checks that guard
access or input (is this person a member? may this field be set?) read the database; the SLA
policy choice and the webhook fan-out read here (a change reaches every process at its commit).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

from helpdesk.tenancy.context import scope_memo, scope_memo_forget, tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.selectors import membership_list
from tickets.models import CustomFieldDefinition, Group, Macro, SlaPolicy, Tag, WebhookEndpoint

MAX_AGE = 60  # seconds
MAX_ENTRIES = 2_000
TAG_LIMIT = 200

_LOADERS: dict[str, Callable[[Tenant], list]] = {
    "members": lambda tenant: list(membership_list(tenant=tenant)),
    "groups": lambda tenant: list(Group.objects.for_tenant(tenant)),
    "tags": lambda tenant: list(
        Tag.objects.for_tenant(tenant).order_by("name").values_list("name", flat=True)[:TAG_LIMIT]
    ),
    "field_definitions": lambda tenant: list(CustomFieldDefinition.objects.for_tenant(tenant)),
    "macros": lambda tenant: list(Macro.objects.for_tenant(tenant)),
    "sla_policies": lambda tenant: list(
        SlaPolicy.objects.for_tenant(tenant).filter(is_active=True)
    ),
    "webhook_endpoints": lambda tenant: list(
        WebhookEndpoint.objects.for_tenant(tenant)
        .filter(is_active=True)
        .only("id", "tenant_id", "events")
        .order_by("id")
    ),
}
_VERSION_MEMO = "directory.version"

_memory: dict[tuple[int, str], tuple[str, float, list]] = {}
_lock = threading.Lock()


def _version_key(tenant_id: int) -> str:
    return f"directory-version:{tenant_id}"


def _version(tenant_id: int) -> str | None:
    """The tenant's current token (read once per transaction); a new one if the cache lost it
    (never an old one again)."""
    memo = scope_memo(_VERSION_MEMO)
    if memo is not None and tenant_id in memo:
        return memo[tenant_id]
    key = _version_key(tenant_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    if memo is not None and version is not None:
        memo[tenant_id] = version
    return version


def directory_version(*, tenant: Tenant) -> str | None:
    """The token of the tenant's current directory (None without a shared cache): what is
    rendered from the directory can be cached under it, as the lists are."""
    return _version(tenant.pk)


def directory_list(*, tenant: Tenant, name: str) -> list:
    """``members`` (memberships with their users), ``groups``, ``tags`` (names, A-Z, at most
    200), ``field_definitions`` or ``macros`` of ``tenant``: the same as reading them now."""
    load = _LOADERS[name]
    version = _version(tenant.pk)
    if version is None:  # no shared cache to agree on a version with: read every time
        with tenant_context(tenant, savepoint=False):
            return load(tenant)
    now = time.monotonic()
    held = _memory.get((tenant.pk, name))
    if held is not None and held[0] == version and now - held[1] < MAX_AGE:
        return held[2]
    with tenant_context(tenant, savepoint=False):
        value = load(tenant)
    with _lock:
        if len(_memory) >= MAX_ENTRIES:
            _memory.clear()
        _memory[(tenant.pk, name)] = (version, now, value)
    return value


def _renew(tenant_id: int) -> None:
    cache.set(_version_key(tenant_id), uuid.uuid4().hex, timeout=None)


def directory_changed(tenant_id: int) -> None:
    """Make every process read the tenant's directory again: now (this transaction's own next
    read), and once more when it commits (another process may have read the old rows under the
    first new token in between)."""
    _renew(tenant_id)
    scope_memo_forget(_VERSION_MEMO)
    transaction.on_commit(lambda: _renew(tenant_id))


def _on_tenant_row(sender, instance, **kwargs) -> None:
    directory_changed(instance.tenant_id)


def _on_user(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login", "password"}:
        return  # signing in changes nothing the pages show
    for tenant_id in Membership.objects.filter(user_id=instance.pk).values_list(
        "tenant_id", flat=True
    ):
        directory_changed(tenant_id)


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    for model in (Membership, Group, Tag, CustomFieldDefinition, Macro, SlaPolicy, WebhookEndpoint):
        uid = f"tickets.directory.{model.__name__}"
        post_save.connect(_on_tenant_row, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(_on_tenant_row, sender=model, dispatch_uid=uid + ".delete")
    post_save.connect(_on_user, sender=get_user_model(), dispatch_uid="tickets.directory.user")
