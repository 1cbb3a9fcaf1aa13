"""Customers and tickets over the REST API. Thin: parse, authorise, call a service or selector."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.policy import Perm
from tickets import selectors, services
from tickets.models import Channel, Customer, Priority, Status, Ticket


class CustomerOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "company",
            "tags",
            "locale",
            "notes",
            "external_id",
            "created_at",
            "last_contact_at",
        ]


class CustomerInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )
    locale = serializers.CharField(max_length=10, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True)


class CustomerListApi(TenantApiView):
    """List customers (search with ?q=) or create one."""

    model = Customer
    read_perm = Perm.CUSTOMERS_VIEW
    write_perm = Perm.CUSTOMERS_EDIT
    serializer_class = CustomerOutputSerializer

    def get_tenant_queryset(self):
        return selectors.customer_list(
            tenant=self.tenant, search=self.request.query_params.get("q", "")
        )

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CustomerOutputSerializer(page, many=True).data)

    @extend_schema(request=CustomerInputSerializer, responses={201: CustomerOutputSerializer})
    def post(self, request, tenant_slug: str):
        data = CustomerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if not fields.get("email") and not fields.get("name"):
            raise serializers.ValidationError({"email": ["Give at least an email or a name."]})
        customer, created = services.customer_get_or_create(
            tenant=self.tenant, email=fields.pop("email", ""), name=fields.pop("name", ""), **fields
        )
        if not created:
            raise serializers.ValidationError({"email": ["A customer with this email exists."]})
        return Response(CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailApi(TenantApiView):
    model = Customer
    read_perm = Perm.CUSTOMERS_VIEW
    write_perm = Perm.CUSTOMERS_EDIT
    serializer_class = CustomerOutputSerializer

    def get_tenant_queryset(self):
        return Customer.objects.for_tenant(self.tenant)

    def get(self, request, tenant_slug: str, public_id):
        return Response(CustomerOutputSerializer(self.get_object()).data)


class TicketOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    reference = serializers.SerializerMethodField()
    customer = serializers.UUIDField(source="customer.public_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    assignee = serializers.EmailField(
        source="assignee.email", read_only=True, allow_null=True, default=None
    )
    group = serializers.CharField(
        source="group.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "number",
            "subject",
            "customer",
            "customer_name",
            "channel",
            "status",
            "priority",
            "assignee",
            "group",
            "tier",
            "created_at",
            "updated_at",
            "first_response_at",
            "solved_at",
            "closed_at",
            "message_count",
            "reopen_count",
        ]

    def get_reference(self, ticket: Ticket) -> str:
        return ticket.reference_with(self.context["tenant"].reference_prefix)


class TicketInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=250)
    body = serializers.CharField(max_length=100_000)
    customer = serializers.UUIDField(required=False, help_text="An existing customer's id.")
    customer_email = serializers.EmailField(required=False, help_text="Or the customer's email.")
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("customer_email"):
            raise serializers.ValidationError({"customer": ["Give customer or customer_email."]})
        return attrs


class TicketListApi(TenantApiView):
    """List tickets (filter with ?status=) or open one."""

    model = Ticket
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_WORK
    serializer_class = TicketOutputSerializer

    def get_tenant_queryset(self):
        queryset = selectors.ticket_list(tenant=self.tenant)
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Status.values:
                raise serializers.ValidationError({"status": [f"Choose from {Status.values}."]})
            queryset = queryset.filter(status=wanted)
        return queryset

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        context = {"tenant": self.tenant}
        return self.get_paginated_response(
            TicketOutputSerializer(page, many=True, context=context).data
        )

    @extend_schema(request=TicketInputSerializer, responses={201: TicketOutputSerializer})
    def post(self, request, tenant_slug: str):
        data = TicketInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("customer"):
            customer = selectors.customer_get(tenant=self.tenant, public_id=values["customer"])
            if customer is None:
                raise serializers.ValidationError({"customer": ["Unknown customer."]})
        else:
            customer, _ = services.customer_get_or_create(
                tenant=self.tenant,
                email=values["customer_email"],
                name=values.get("customer_name", ""),
            )
        try:
            ticket = services.ticket_create(
                tenant=self.tenant,
                customer=customer,
                subject=values["subject"],
                body=values["body"],
                channel=values["channel"],
                priority=values["priority"],
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        ticket = selectors.ticket_get(tenant=self.tenant, public_id=ticket.public_id)
        return Response(
            TicketOutputSerializer(ticket, context={"tenant": self.tenant}).data,
            status=status.HTTP_201_CREATED,
        )


class TicketDetailApi(TenantApiView):
    model = Ticket
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_WORK
    serializer_class = TicketOutputSerializer

    def get_tenant_queryset(self):
        return selectors.ticket_list(tenant=self.tenant)

    def get(self, request, tenant_slug: str, public_id):
        return Response(
            TicketOutputSerializer(self.get_object(), context={"tenant": self.tenant}).data
        )
