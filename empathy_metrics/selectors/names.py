"""Reads: the names behind dimension keys (channels, groups, agents, tags) for a tenant."""

from __future__ import annotations

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from helpdesk.tenancy.selectors import membership_list
from tickets.models import Channel, Group, Tag


def dimension_labels(*, tenant: Tenant) -> dict[str, dict]:
    with tenant_context(tenant):
        groups = dict(Group.objects.for_tenant(tenant).values_list("pk", "name"))
        tags = dict(Tag.objects.for_tenant(tenant).values_list("pk", "name"))
    agents = {m.user_id: m.user.full_name or m.user.email for m in membership_list(tenant=tenant)}
    return {
        "channel": dict(Channel.choices),
        "group": {0: "No group", **groups},
        "agent": {0: "Unassigned", **agents},
        "tag": tags,
    }


def filter_options(*, tenant: Tenant) -> dict[str, list[tuple]]:
    """Choices for the dashboard's filter menus."""
    with tenant_context(tenant):
        groups = list(
            Group.objects.for_tenant(tenant).order_by("tier", "name").values_list("pk", "name")
        )
        tags = list(Tag.objects.for_tenant(tenant).order_by("name").values_list("pk", "name")[:500])
    agents = [
        (m.user_id, m.user.full_name or m.user.email)
        for m in membership_list(tenant=tenant)
        if role_has_perm(m.role, Perm.TICKETS_WORK)
    ]
    agents.sort(key=lambda item: item[1].lower())
    return {
        "channels": list(Channel.choices),
        "groups": [(0, "No group"), *groups],
        "agents": [(0, "Unassigned"), *agents],
        "tags": tags,
    }
