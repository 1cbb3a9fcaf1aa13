"""Tags, macros and saved views over the API."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.policy import Perm
from tickets.api.serializers import MacroOutputSerializer, SavedViewOutputSerializer
from tickets.api.views import as_drf_error
from tickets.models import Macro, Priority, SavedView, Status, Tag
from tickets.queue import QueueFilters
from tickets.services.macros import macro_save
from tickets.services.workspace import saved_view_create


class TagListApi(TenantApiView):
    """Tags in use, with how many tickets carry each."""

    model = Tag
    read_perm = Perm.TICKETS_VIEW
    cursor_ordering = "name"

    class OutputSerializer(serializers.ModelSerializer):
        tickets = serializers.IntegerField(source="ticket_total")

        class Meta:
            model = Tag
            fields = ["name", "tickets"]

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return Tag.objects.for_tenant(self.tenant).annotate(ticket_total=Count("tickets"))

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)


class MacroListApi(TenantApiView):
    """Macros of the team. Admins and managers create them; agents use them."""

    model = Macro
    read_perm = Perm.TICKETS_WORK
    write_perm = Perm.WORKSPACE_MANAGE
    cursor_ordering = "name"
    serializer_class = MacroOutputSerializer

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        body = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
        set_status = serializers.ChoiceField(
            choices=[("", "-"), *Status.choices], required=False, default=""
        )
        set_priority = serializers.ChoiceField(
            choices=[("", "-"), *Priority.choices], required=False, default=""
        )
        add_tags = serializers.ListField(
            child=serializers.CharField(max_length=50), required=False, max_length=20
        )

    def get_tenant_queryset(self):
        return Macro.objects.for_tenant(self.tenant)

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MacroOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: MacroOutputSerializer})
    def post(self, request, tenant_slug: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            macro = macro_save(tenant=self.tenant, actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(MacroOutputSerializer(macro).data, status=status.HTTP_201_CREATED)


class SavedViewListApi(TenantApiView):
    """The caller's saved queue views and the team's shared ones."""

    model = SavedView
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_VIEW
    cursor_ordering = "name"
    serializer_class = SavedViewOutputSerializer

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        filters = serializers.DictField(
            help_text="Queue filters: view, status, priority, channel, assignee, tag, q, sort."
        )
        shared = serializers.BooleanField(default=False)

    def get_tenant_queryset(self):
        if isinstance(self.request.user, ApiKeyPrincipal):
            return SavedView.objects.for_tenant(self.tenant).filter(owner=None)
        return SavedView.objects.for_tenant(self.tenant).filter(
            Q(owner=None) | Q(owner=self.request.user)
        )

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SavedViewOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SavedViewOutputSerializer})
    def post(self, request, tenant_slug: str):
        if isinstance(request.user, ApiKeyPrincipal):
            raise serializers.ValidationError({"name": ["Saved views belong to people."]})
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            view = saved_view_create(
                tenant=self.tenant,
                actor=request.user,
                name=data.validated_data["name"],
                filters=QueueFilters.from_params(data.validated_data["filters"]).as_dict(),
                shared=data.validated_data["shared"],
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SavedViewOutputSerializer(view).data, status=status.HTTP_201_CREATED)
