"""Who may do what: the one permission policy used by pages, the API and consumers alike."""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Agent (tier 1)"
    SPECIALIST = "specialist", "Specialist (tier 2)"
    OBSERVER = "observer", "Observer (read-only)"


class Perm(StrEnum):
    TICKETS_VIEW = "tickets.view"
    TICKETS_WORK = "tickets.work"  # reply, assign, change status, escalate
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_EDIT = "customers.edit"
    DASHBOARDS_VIEW = "dashboards.view"
    JOURNEYS_VIEW = "journeys.view"
    JOURNEYS_EDIT = "journeys.edit"
    WORKSPACE_MANAGE = "workspace.manage"  # macros, shared queue views
    SETTINGS_MANAGE = "settings.manage"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    APIKEYS_MANAGE = "apikeys.manage"
    WEBHOOKS_MANAGE = "webhooks.manage"
    EVENTS_INGEST = "events.ingest"  # post journey events (API keys with scope ingest:events)


_READ = {Perm.TICKETS_VIEW, Perm.CUSTOMERS_VIEW, Perm.MEMBERS_VIEW}
_WORK = _READ | {Perm.TICKETS_WORK, Perm.CUSTOMERS_EDIT}
_INSIGHT = {Perm.DASHBOARDS_VIEW, Perm.JOURNEYS_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.MANAGER: frozenset(_WORK | _INSIGHT | {Perm.JOURNEYS_EDIT, Perm.WORKSPACE_MANAGE}),
    Role.AGENT: frozenset(_WORK),
    Role.SPECIALIST: frozenset(_WORK),
    Role.OBSERVER: frozenset(_READ | _INSIGHT),
}

# What an API key's scopes allow, expressed in the same permissions.
API_KEY_SCOPE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    "read": frozenset({Perm.TICKETS_VIEW, Perm.CUSTOMERS_VIEW}),
    "write": frozenset(
        {Perm.TICKETS_VIEW, Perm.TICKETS_WORK, Perm.CUSTOMERS_VIEW, Perm.CUSTOMERS_EDIT}
    ),
    "ingest:email": frozenset(),
    "ingest:events": frozenset({Perm.EVENTS_INGEST}),
}


def role_has_perm(role: str | None, perm: Perm) -> bool:
    if role is None:
        return False
    try:
        return perm in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def scopes_have_perm(scopes: list[str], perm: Perm) -> bool:
    return any(perm in API_KEY_SCOPE_PERMISSIONS.get(scope, frozenset()) for scope in scopes)
