"""The fail-closed default manager of every tenant-owned model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from helpdesk.tenancy.context import TenantContextError, require_scope

if TYPE_CHECKING:
    from helpdesk.tenancy.models import Tenant


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> TenantQuerySet:
        if tenant is None:
            raise TenantContextError("for_tenant() needs a tenant, not None")
        scope = require_scope()
        if scope.tenant is not None and scope.tenant.pk != tenant.pk:
            raise TenantContextError(
                f"for_tenant({tenant.pk}) called inside the scope of tenant {scope.tenant.pk}"
            )
        if getattr(self, "_filtered_for_tenant", None) == tenant.pk:
            return self  # straight from the manager, which filtered by this tenant already
        return self.filter(tenant_id=tenant.pk)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Raises without a scope; inside a tenant scope, sees that tenant's rows only."""

    def get_queryset(self) -> TenantQuerySet:
        scope = require_scope()
        queryset = super().get_queryset()
        if scope.tenant is not None:
            queryset = queryset.filter(tenant_id=scope.tenant.pk)
            # Only this object carries the mark: any further filter clones the queryset without
            # it, so ``for_tenant`` filters again wherever it cannot be sure.
            queryset._filtered_for_tenant = scope.tenant.pk
        return queryset

    def create(self, **kwargs):
        """An insert: no scope is an error as for any query, but the tenant filter is left out
        (it would be built and dropped: the row's tenant is checked by its ``save()``)."""
        require_scope()
        return super().get_queryset().create(**kwargs)
