"""Reads of tenants, memberships and API keys."""

from __future__ import annotations

from django.db.models import QuerySet

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import ApiKey, Membership, Tenant


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def membership_get(*, tenant: Tenant, user: User) -> Membership | None:
    if not _signed_in(user):
        return None
    return Membership.objects.filter(tenant=tenant, user=user).select_related("tenant").first()


_MEMBERSHIPS = "_helpdesk_memberships"


def membership_list_for_user(*, user: User) -> list[Membership]:
    """The person's memberships with their tenants, by tenant name (the tenant switcher).

    Read once per request: the list is kept on the user instance, which lives for one request
    (``tenant_and_membership_get`` reads it first, the switcher of the page reuses it).
    """
    memberships = getattr(user, _MEMBERSHIPS, None)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")
        )
        setattr(user, _MEMBERSHIPS, memberships)
    return memberships


def tenant_and_membership_get(*, slug: str, user: User) -> tuple[Tenant | None, Membership | None]:
    """The tenant of ``slug`` and ``user``'s membership in it.

    For a signed-in person both come from one query, their memberships with the tenants (which
    the tenant switcher shows anyway); the tenant is read by its slug only for visitors and for
    people who are not members of it.
    """
    if _signed_in(user):
        for membership in membership_list_for_user(user=user):
            if membership.tenant.slug == slug:
                return membership.tenant, membership
    return tenant_get_by_slug(slug=slug), None


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
