"""Template context for every page: tenant, membership, navigation and the tenant switcher."""

from __future__ import annotations

from django.http import HttpRequest

from helpdesk.tenancy.navigation import navigation_for
from helpdesk.tenancy.selectors import membership_list_for_user


def tenancy(request: HttpRequest) -> dict:
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    switcher = []
    if user is not None and user.is_authenticated:
        switcher = list(membership_list_for_user(user=user))
    return {
        "current_tenant": tenant,
        "current_membership": membership,
        "tenant_switcher": switcher,
        "nav_items": navigation_for(tenant=tenant, membership=membership, request=request),
    }
