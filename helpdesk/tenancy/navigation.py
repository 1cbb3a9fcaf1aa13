"""The staff navigation, by role. Apps register entries; the policy decides who sees them."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    perm: Perm
    section: str  # "work", "insight" or "admin"
    icon: str = ""
    also_active_under: tuple[str, ...] = ()  # more path segments that highlight this entry


_ENTRIES: list[NavEntry] = []


def register(entry: NavEntry) -> None:
    if entry not in _ENTRIES:
        _ENTRIES.append(entry)


def navigation_for(
    *, tenant: Tenant | None, membership: Membership | None, request: HttpRequest
) -> list[dict]:
    if tenant is None or membership is None:
        return []
    items = []
    for entry in _ENTRIES:
        if not role_has_perm(membership.role, entry.perm):
            continue
        try:
            url = reverse(entry.url_name, kwargs={"tenant_slug": tenant.slug})
        except NoReverseMatch:
            continue
        base = reverse("tenancy:dashboard", kwargs={"tenant_slug": tenant.slug})
        prefixes = [url, *(base + segment for segment in entry.also_active_under)]
        items.append(
            {
                "label": entry.label,
                "url": url,
                "section": entry.section,
                "icon": entry.icon,
                "active": any(request.path.startswith(prefix) for prefix in prefixes),
            }
        )
    order = {"work": 0, "insight": 1, "admin": 2}
    return sorted(items, key=lambda item: order.get(item["section"], 3))


register(NavEntry("Members", "tenancy:members", Perm.MEMBERS_MANAGE, "admin", "users"))
register(NavEntry("API keys", "tenancy:api-keys", Perm.APIKEYS_MANAGE, "admin", "key"))
register(NavEntry("Settings", "tenancy:settings", Perm.SETTINGS_MANAGE, "admin", "settings"))
register(NavEntry("Audit log", "tenancy:audit", Perm.MEMBERS_MANAGE, "admin", "lock"))
