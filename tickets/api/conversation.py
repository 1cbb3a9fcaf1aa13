"""The conversation of a ticket over the API: read it, add a reply or note, apply a macro."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Perm
from tickets import selectors, services
from tickets.api.idempotency import idempotent
from tickets.api.serializers import MessageOutputSerializer
from tickets.api.views import as_drf_error
from tickets.models import Macro, Message, Status, Ticket
from tickets.services.macros import macro_apply


class MessageInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=100_000)
    internal = serializers.BooleanField(
        default=False, help_text="An internal note, never shown to the customer."
    )
    set_status = serializers.ChoiceField(
        choices=Status.choices, required=False, help_text="Reply and set status."
    )


class _TicketChild(TenantApiView):
    """Endpoints under /tickets/<id>/: the ticket is looked up through the tenant first."""

    def ticket(self) -> Ticket:
        ticket = selectors.ticket_get(tenant=self.tenant, public_id=self.kwargs["public_id"])
        if ticket is None:
            raise NotFound("Not found.")
        return ticket


class TicketMessageListApi(_TicketChild):
    """The conversation, oldest first. API keys (integrations) post as the customer; people post
    as staff (a public reply, or an internal note)."""

    model = Message
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_WORK
    serializer_class = MessageOutputSerializer
    cursor_ordering = "created_at"

    def get_tenant_queryset(self):
        return selectors.message_list_for_ticket(
            tenant=self.tenant, ticket=self.ticket(), include_internal=True
        )

    def get(self, request, tenant_slug: str, public_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MessageOutputSerializer(page, many=True).data)

    @extend_schema(
        request=MessageInputSerializer,
        responses={201: MessageOutputSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, location=OpenApiParameter.HEADER, required=False
            )
        ],
    )
    def post(self, request, tenant_slug: str, public_id):
        ticket = self.ticket()

        def create() -> Response:
            data = MessageInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = data.validated_data
            by_integration = isinstance(request.user, ApiKeyPrincipal)
            if by_integration and values["internal"]:
                raise serializers.ValidationError(
                    {"internal": ["Integrations post customer messages."]}
                )
            try:
                with tenant_context(self.tenant):
                    message = services.message_create(
                        tenant=self.tenant,
                        ticket=ticket,
                        body=values["body"],
                        author_user=None if by_integration else request.user,
                        author_customer=ticket.customer if by_integration else None,
                        is_internal=values["internal"],
                    )
                    if values.get("set_status"):
                        services.ticket_set_status(
                            tenant=self.tenant,
                            actor=None if by_integration else request.user,
                            ticket=ticket,
                            status=values["set_status"],
                        )
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
            return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)

        return idempotent(request, self.tenant, create)


class MacroApplyInputSerializer(serializers.Serializer):
    macro = serializers.UUIDField()
    body = serializers.CharField(
        required=False, max_length=100_000, help_text="The reply as edited by the agent."
    )
    internal = serializers.BooleanField(default=False)


class TicketMacroApplyApi(_TicketChild):
    """Apply a macro: post its reply and set its status, priority and tags."""

    model = Macro
    read_perm = Perm.TICKETS_WORK
    write_perm = Perm.TICKETS_WORK

    def get_tenant_queryset(self):
        return Macro.objects.for_tenant(self.tenant)

    @extend_schema(request=MacroApplyInputSerializer, responses={200: MessageOutputSerializer})
    def post(self, request, tenant_slug: str, public_id):
        if isinstance(request.user, ApiKeyPrincipal):
            raise serializers.ValidationError({"macro": ["Macros are applied by people."]})
        ticket = self.ticket()
        data = MacroApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        macro = self.get_queryset().filter(public_id=data.validated_data["macro"]).first()
        if macro is None:
            raise serializers.ValidationError({"macro": ["Unknown macro."]})
        try:
            with tenant_context(self.tenant):
                message = macro_apply(
                    tenant=self.tenant,
                    actor=request.user,
                    ticket=ticket,
                    macro=macro,
                    body=data.validated_data.get("body"),
                    is_internal=data.validated_data["internal"],
                )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(
            MessageOutputSerializer(message).data if message else {}, status=status.HTTP_200_OK
        )
