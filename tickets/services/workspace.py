"""Saved queue views."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets.models import SavedView


def saved_view_create(
    *, tenant: Tenant, actor: User, name: str, filters: dict, shared: bool = False
) -> SavedView:
    """A personal view, or a shared one (admins and managers only)."""
    if not name.strip():
        raise ValidationError({"name": "A view needs a name."})
    if shared:
        membership = Membership.objects.filter(tenant=tenant, user=actor).first()
        if membership is None or not role_has_perm(membership.role, Perm.WORKSPACE_MANAGE):
            raise ValidationError({"shared": "Only admins and managers share views with the team."})
    with tenant_context(tenant):
        return SavedView.objects.create(
            tenant=tenant, name=name.strip()[:80], owner=None if shared else actor, filters=filters
        )


def saved_view_delete(*, tenant: Tenant, actor: User, view: SavedView) -> None:
    with tenant_context(tenant):
        if view.owner_id not in (None, actor.pk):
            raise ValidationError("You can only delete your own views.")
        SavedView.objects.for_tenant(tenant).filter(pk=view.pk).delete()
