"""Outbound webhooks over the REST API: endpoints, their delivery log, replays.

Admins only (``Perm.WEBHOOKS_MANAGE``). The signing secret is returned once, by the create call.
"""

from __future__ import annotations

from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.policy import Perm
from tickets import selectors_webhooks as selectors
from tickets import services
from tickets.models import WebhookDelivery, WebhookEndpoint
from tickets.models.integrations import WEBHOOK_EVENTS


class _EndpointOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS))
    is_active = serializers.BooleanField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()


class _DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    endpoint = serializers.UUIDField(source="endpoint.public_id", read_only=True)
    event = serializers.CharField()
    state = serializers.ChoiceField(choices=WebhookDelivery.State.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.JSONField()


class _WebhookApi(TenantApiView):
    read_perm = Perm.WEBHOOKS_MANAGE
    write_perm = Perm.WEBHOOKS_MANAGE


class WebhookEndpointListApi(_WebhookApi):
    """List the tenant's webhook endpoints, or register one (the answer carries its secret)."""

    model = WebhookEndpoint

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=500, help_text="http(s) URL; https in production.")
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), min_length=1
        )
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)
        is_active = serializers.BooleanField(default=True)

    class OutputSerializer(_EndpointOutput):
        pass

    class CreatedOutputSerializer(_EndpointOutput):
        secret = serializers.CharField(
            help_text="Signs every request (HMAC-SHA256). Shown only in this answer."
        )

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return selectors.webhook_endpoint_list(tenant=self.tenant)

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedOutputSerializer})
    def post(self, request, tenant_slug: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(
            tenant=self.tenant, actor=request.user, **data.validated_data
        )
        return Response(self.CreatedOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(_WebhookApi):
    """Read, change (url, events, description, is_active) or delete one endpoint."""

    model = WebhookEndpoint

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=500, required=False)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), min_length=1, required=False
        )
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)
        is_active = serializers.BooleanField(required=False)

    class OutputSerializer(_EndpointOutput):
        pass

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return selectors.webhook_endpoint_list(tenant=self.tenant)

    def get(self, request, tenant_slug: str, public_id):
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def patch(self, request, tenant_slug: str, public_id):
        endpoint = self.get_object()
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            tenant=self.tenant, actor=request.user, endpoint=endpoint, **data.validated_data
        )
        return Response(self.OutputSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request, tenant_slug: str, public_id):
        services.webhook_endpoint_delete(
            tenant=self.tenant, actor=request.user, endpoint=self.get_object()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(_WebhookApi):
    """The delivery log of one endpoint, newest first."""

    model = WebhookDelivery

    class OutputSerializer(_DeliveryOutput):
        pass

    serializer_class = OutputSerializer

    @cached_property
    def endpoint(self) -> WebhookEndpoint:
        endpoint = selectors.webhook_endpoint_get(
            tenant=self.tenant, public_id=self.kwargs["public_id"]
        )
        if endpoint is None:
            raise exceptions.NotFound("Not found.")
        return endpoint

    def get_tenant_queryset(self):
        return selectors.webhook_delivery_list(tenant=self.tenant, endpoint=self.endpoint)

    def get(self, request, tenant_slug: str, public_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)


class WebhookDeliveryReplayApi(_WebhookApi):
    """Send a delivery again, as a new delivery with the same payload."""

    model = WebhookDelivery

    class OutputSerializer(_DeliveryOutput):
        pass

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return selectors.webhook_delivery_list(tenant=self.tenant)

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request, tenant_slug: str, public_id):
        replay = services.webhook_delivery_replay(
            tenant=self.tenant, actor=request.user, delivery=self.get_object()
        )
        replay = selectors.webhook_delivery_get(tenant=self.tenant, public_id=replay.public_id)
        return Response(self.OutputSerializer(replay).data, status=status.HTTP_201_CREATED)
