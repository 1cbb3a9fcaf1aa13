"""The staff navigation, by role. Apps register entries; the policy decides who sees them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm

SECTIONS = (("work", "Work"), ("insight", "Insight"), ("admin", "Admin"))


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
    if entry.section not in dict(SECTIONS):
        raise ValueError(f"{entry.label}: no navigation section {entry.section!r}")
    if entry not in _ENTRIES:
        _ENTRIES.append(entry)


def _url(url_name: str, tenant_slug: str) -> str | None:
    """A tenant's address of a navigation entry: reversed once per process, URL conf and
    script prefix (the same for every request of a deployment)."""
    return _reversed(url_name, tenant_slug, get_urlconf(), get_script_prefix())


@lru_cache(maxsize=4096)
def _reversed(url_name: str, tenant_slug: str, urlconf, _prefix: str) -> str | None:
    try:
        return reverse(url_name, urlconf=urlconf, kwargs={"tenant_slug": tenant_slug})
    except NoReverseMatch:
        return None


def navigation_for(
    *, tenant: Tenant | None, membership: Membership | None, request: HttpRequest
) -> list[dict]:
    """The entries ``membership``'s role may open, by section (work, insight, admin; a section
    with none is left out); the entry whose address the request is under is marked active."""
    if tenant is None or membership is None:
        return []
    base = _url("tenancy:dashboard", tenant.slug)
    by_section: dict[str, list[dict]] = {key: [] for key, _heading in SECTIONS}
    for entry in _ENTRIES:
        if not role_has_perm(membership.role, entry.perm):
            continue
        url = _url(entry.url_name, tenant.slug)
        if url is None:
            continue
        prefixes = (url, *(base + segment for segment in entry.also_active_under))
        by_section[entry.section].append(
            {
                "label": entry.label,
                "url": url,
                "icon": entry.icon,
                "active": request.path.startswith(prefixes),
            }
        )
    return [
        {"key": key, "heading": heading, "items": by_section[key]}
        for key, heading in SECTIONS
        if by_section[key]
    ]


register(NavEntry("Members", "tenancy:members", Perm.MEMBERS_MANAGE, "admin", "users"))
register(NavEntry("API keys", "tenancy:api-keys", Perm.APIKEYS_MANAGE, "admin", "key"))
register(NavEntry("Settings", "tenancy:settings", Perm.SETTINGS_MANAGE, "admin", "settings"))
register(NavEntry("Audit log", "tenancy:audit", Perm.MEMBERS_MANAGE, "admin", "lock"))
