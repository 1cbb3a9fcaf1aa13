"""The only place where channel-layer group names are built: ``t<tenant_id>.<kind>.<id>``."""

from __future__ import annotations

import re

_VALID = re.compile(r"^[A-Za-z0-9_.\-]{1,99}$")
KINDS = frozenset({"ticket", "queue", "agent", "status", "tenant", "chat"})


def group_name(tenant_id: int, kind: str, object_id: int | None = None) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown group kind {kind!r}")
    for value in (tenant_id, object_id):
        if value is None and value is object_id:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("group names take numeric ids only (and always a tenant id)")
    name = f"t{tenant_id}.{kind}" + (f".{object_id}" if object_id is not None else "")
    if not _VALID.match(name):
        raise ValueError(f"invalid group name {name!r}")
    return name


def tenant_group(tenant_id: int) -> str:
    return group_name(tenant_id, "tenant")


def agent_group(tenant_id: int, user_id: int) -> str:
    return group_name(tenant_id, "agent", user_id)


def ticket_group(tenant_id: int, ticket_id: int) -> str:
    return group_name(tenant_id, "ticket", ticket_id)


def queue_group(tenant_id: int, queue_id: int) -> str:
    return group_name(tenant_id, "queue", queue_id)


def status_group(tenant_id: int, ticket_id: int) -> str:
    return group_name(tenant_id, "status", ticket_id)
