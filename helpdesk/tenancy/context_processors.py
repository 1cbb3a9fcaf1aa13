"""Template context for every page: tenant, membership, navigation and the tenant switcher.

The switcher and the navigation are lazy: computed only when a template reads them (the full
pages' chrome), not for the htmx partials, which are most of the live traffic."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from helpdesk.tenancy.navigation import navigation_for
from helpdesk.tenancy.selectors import membership_list_for_user


def tenancy(request: HttpRequest) -> dict:
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)

    def switcher() -> list:
        if user is not None and user.is_authenticated:
            return list(membership_list_for_user(user=user))
        return []

    return {
        "current_tenant": tenant,
        "current_membership": membership,
        "tenant_switcher": SimpleLazyObject(switcher),
        "nav_sections": SimpleLazyObject(
            lambda: navigation_for(tenant=tenant, membership=membership, request=request)
        ),
    }
