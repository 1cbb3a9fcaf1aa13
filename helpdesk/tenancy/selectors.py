"""Reads of tenants, memberships and API keys."""

from __future__ import annotations

from django.db.models import QuerySet

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import ApiKey, Membership, Tenant


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def membership_get(*, tenant: Tenant, user: User) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Membership.objects.filter(tenant=tenant, user=user).select_related("tenant").first()


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("created_by")


def membership_get_by_email(*, tenant: Tenant, email: str) -> Membership | None:
    return (
        Membership.objects.filter(tenant=tenant, user__email__iexact=email.strip())
        .select_related("user")
        .first()
    )
