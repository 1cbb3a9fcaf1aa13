"""API endpoints of the tenancy layer: who am I here, and who else works here."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import ROLE_PERMISSIONS, Perm, Role, scopes_have_perm


class MeApi(TenantApiView):
    """The caller's identity and permissions in this tenant."""

    model = Membership
    read_perm = Perm.TICKETS_VIEW
    pagination_class = None

    class OutputSerializer(serializers.Serializer):
        tenant = serializers.CharField()
        tenant_name = serializers.CharField()
        kind = serializers.ChoiceField(choices=["member", "api_key"])
        email = serializers.EmailField(allow_null=True)
        role = serializers.CharField(allow_null=True)
        permissions = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request, tenant_slug: str):
        if isinstance(request.user, ApiKeyPrincipal):
            perms = sorted(p.value for p in Perm if scopes_have_perm(request.auth.scopes, p))
            data = {"kind": "api_key", "email": None, "role": None, "permissions": perms}
        else:
            role = self.membership.role
            perms = sorted(p.value for p in ROLE_PERMISSIONS[Role(role)])
            data = {
                "kind": "member",
                "email": request.user.email,
                "role": role,
                "permissions": perms,
            }
        data.update(tenant=self.tenant.slug, tenant_name=self.tenant.name)
        return Response(self.OutputSerializer(data).data)


class MemberListApi(TenantApiView):
    """The tenant's staff and their roles."""

    model = Membership
    read_perm = Perm.MEMBERS_VIEW
    cursor_ordering = "id"

    class OutputSerializer(serializers.ModelSerializer):
        email = serializers.EmailField(source="user.email")
        full_name = serializers.CharField(source="user.full_name")

        class Meta:
            model = Membership
            fields = ["email", "full_name", "role", "is_away"]

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return Membership.objects.filter(tenant=self.tenant).select_related("user")

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset().order_by("id"))
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)
