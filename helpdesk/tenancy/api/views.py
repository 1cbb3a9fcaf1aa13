"""Base classes of every tenant API endpoint. They cannot be used unscoped.

Subclasses set ``model``, ``read_perm`` and ``write_perm`` and implement
``get_tenant_queryset()``. Overriding ``get_queryset`` or ``get_object`` is rejected when the class
is defined, so no endpoint can bypass the tenant filter.
"""

from __future__ import annotations

from django.db import models
from rest_framework import exceptions, generics, viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm, scopes_have_perm
from helpdesk.tenancy.selectors import membership_get

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_SEALED = ("get_queryset", "get_object")


class TenantAccess(BasePermission):
    """Member of the URL's tenant (else 404), with the role or key scope for the action (else 403)."""

    def has_permission(self, request: Request, view) -> bool:
        tenant: Tenant | None = getattr(request._request, "tenant", None)
        if tenant is None:
            raise exceptions.NotFound("Not found.")
        perm = view.required_perm(request)
        if isinstance(request.user, ApiKeyPrincipal):
            if request.auth.tenant_id != tenant.pk:
                raise exceptions.NotFound("Not found.")
            if not scopes_have_perm(request.auth.scopes, perm):
                raise exceptions.PermissionDenied("This API key's scopes do not allow this.")
            return True
        membership = membership_get(tenant=tenant, user=request.user)
        if membership is None:
            raise exceptions.NotFound("Not found.")
        request._request.membership = membership
        if not role_has_perm(membership.role, perm):
            raise exceptions.PermissionDenied("Your role does not allow this.")
        return True


class _TenantScoped:
    model: type[models.Model]
    read_perm: Perm = Perm.TICKETS_VIEW
    write_perm: Perm = Perm.TICKETS_WORK
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    _sealed_base = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_sealed_base"):
            return
        for name in _SEALED:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__qualname__} overrides {name}(); implement get_tenant_queryset() "
                    "instead (see CONVENTIONS.md, tenancy rule 8)."
                )

    @property
    def tenant(self) -> Tenant:
        return self.request._request.tenant

    @property
    def membership(self):
        return getattr(self.request._request, "membership", None)

    def required_perm(self, request: Request) -> Perm:
        return self.read_perm if request.method in _SAFE_METHODS else self.write_perm

    def get_tenant_queryset(self) -> models.QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> models.QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model._base_manager.none()
        queryset = self.get_tenant_queryset()
        if queryset.model is not self.model:
            raise TypeError(f"{type(self).__name__}.get_tenant_queryset() returned another model")
        return queryset.filter(tenant_id=self.tenant.pk)

    def get_object(self):
        return super().get_object()


class TenantApiView(_TenantScoped, generics.GenericAPIView):
    _sealed_base = True
    permission_classes = [IsAuthenticated, TenantAccess]


class TenantViewSet(_TenantScoped, viewsets.GenericViewSet):
    _sealed_base = True
    permission_classes = [IsAuthenticated, TenantAccess]
