"""Customers and tickets over the REST API. Thin: parse, authorise, call a service or selector."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, serializers, status
from rest_framework.response import Response

from helpdesk.accounts.models import User
from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Perm
from helpdesk.tenancy.selectors import membership_get_by_email
from tickets import selectors, services
from tickets.api.idempotency import idempotent
from tickets.api.serializers import (
    CustomerOutputSerializer,
    FieldsBuiltOnce,
    TicketOutputSerializer,
)
from tickets.models import Channel, Customer, Priority, Status, Tag, Ticket
from tickets.queue import QueueFilters, queue_queryset
from tickets.services.customers import customer_update
from tickets.services.fields import (
    ticket_custom_fields_set,
    ticket_set_priority,
    ticket_tags_change,
)


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    )


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

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Name, email or company contains")]
    )
    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CustomerOutputSerializer(page, many=True).data)

    @extend_schema(request=CustomerInputSerializer, responses={201: CustomerOutputSerializer})
    def post(self, request, tenant_slug: str):
        def create() -> Response:
            data = CustomerInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
            if not fields.get("email") and not fields.get("name"):
                raise serializers.ValidationError({"email": ["Give at least an email or a name."]})
            customer, created = services.customer_get_or_create(
                tenant=self.tenant,
                email=fields.pop("email", ""),
                name=fields.pop("name", ""),
                **fields,
            )
            if not created:
                raise serializers.ValidationError({"email": ["A customer with this email exists."]})
            return Response(CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED)

        return idempotent(request, self.tenant, create)


class CustomerDetailApi(TenantApiView):
    model = Customer
    read_perm = Perm.CUSTOMERS_VIEW
    write_perm = Perm.CUSTOMERS_EDIT
    serializer_class = CustomerOutputSerializer

    def get_tenant_queryset(self):
        return Customer.objects.for_tenant(self.tenant)

    def get(self, request, tenant_slug: str, public_id):
        return Response(CustomerOutputSerializer(self.get_object()).data)

    @extend_schema(request=CustomerInputSerializer, responses=CustomerOutputSerializer)
    def patch(self, request, tenant_slug: str, public_id):
        customer = self.get_object()
        data = CustomerInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            customer = customer_update(tenant=self.tenant, customer=customer, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(CustomerOutputSerializer(customer).data)


class TicketInputSerializer(FieldsBuiltOnce, serializers.Serializer):
    subject = serializers.CharField(max_length=250)
    body = serializers.CharField(max_length=100_000)
    customer = serializers.UUIDField(required=False, help_text="An existing customer's id.")
    customer_email = serializers.EmailField(required=False, help_text="Or the customer's email.")
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("customer_email"):
            raise serializers.ValidationError({"customer": ["Give customer or customer_email."]})
        return attrs


class TicketUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.EmailField(
        required=False, allow_null=True, help_text="A member's email, or null."
    )
    add_tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    remove_tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    custom_fields = serializers.DictField(required=False)


TICKET_FILTER_PARAMETERS = [
    OpenApiParameter(
        "view", str, enum=["mine", "unassigned", "group", "at_risk", "open", "solved", "all"]
    ),
    OpenApiParameter("status", str, many=True, enum=Status.values),
    OpenApiParameter("priority", str, many=True, enum=Priority.values),
    OpenApiParameter("channel", str, many=True, enum=Channel.values),
    OpenApiParameter("assignee", str, description="A user id, 'me' or 'none'"),
    OpenApiParameter("tag", str),
    OpenApiParameter(
        "q", str, description="Full-text search over subjects, messages and customers"
    ),
]


def ticket_rows(queryset):
    return queryset.select_related("customer", "assignee", "group").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.all())
    )


class TicketListApi(TenantApiView):
    """List tickets with the queue's filters (default: every ticket) or open one."""

    model = Ticket
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_WORK
    serializer_class = TicketOutputSerializer
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["updated_at", "created_at", "number"]
    ordering = "-updated_at"

    def get_tenant_queryset(self):
        params = self.request.query_params.copy()
        params.setdefault("view", "all")
        params.pop("sort", None)
        user = None if isinstance(self.request.user, ApiKeyPrincipal) else self.request.user
        return ticket_rows(
            queue_queryset(tenant=self.tenant, user=user, filters=QueueFilters.from_params(params))
        )

    @extend_schema(parameters=TICKET_FILTER_PARAMETERS)
    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {"tenant": self.tenant}
        return self.get_paginated_response(
            TicketOutputSerializer(page, many=True, context=context).data
        )

    @extend_schema(
        request=TicketInputSerializer,
        responses={201: TicketOutputSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, location=OpenApiParameter.HEADER, required=False
            )
        ],
    )
    def post(self, request, tenant_slug: str):
        return idempotent(request, self.tenant, self._create)

    def _create(self) -> Response:
        data = TicketInputSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        new_customer = False
        if values.get("customer"):
            customer = selectors.customer_get(tenant=self.tenant, public_id=values["customer"])
            if customer is None:
                raise serializers.ValidationError({"customer": ["Unknown customer."]})
        else:
            customer, new_customer = services.customer_get_or_create(
                tenant=self.tenant,
                email=values["customer_email"],
                name=values.get("customer_name", ""),
            )
        actor = None if isinstance(self.request.user, ApiKeyPrincipal) else self.request.user
        try:
            ticket = services.ticket_create(
                tenant=self.tenant,
                customer=customer,
                subject=values["subject"],
                body=values["body"],
                channel=values["channel"],
                priority=values["priority"],
                actor=actor,
                new_customer=new_customer,
            )
            if values.get("tags"):
                ticket_tags_change(
                    tenant=self.tenant, actor=actor, ticket=ticket, add=values["tags"]
                )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        if values.get("tags"):
            ticket = ticket_rows(selectors.ticket_list(tenant=self.tenant)).get(pk=ticket.pk)
        else:  # the ticket in hand is current: no assignee, group or tags yet
            ticket.tag_names = []
        return Response(
            TicketOutputSerializer(ticket, context={"tenant": self.tenant}).data,
            status=status.HTTP_201_CREATED,
        )


class TicketDetailApi(TenantApiView):
    """Read a ticket, or change its status, priority, assignee, tags and custom fields."""

    model = Ticket
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_WORK
    serializer_class = TicketOutputSerializer

    def get_tenant_queryset(self):
        return ticket_rows(selectors.ticket_list(tenant=self.tenant))

    def get(self, request, tenant_slug: str, public_id):
        return Response(
            TicketOutputSerializer(self.get_object(), context={"tenant": self.tenant}).data
        )

    @extend_schema(request=TicketUpdateSerializer, responses=TicketOutputSerializer)
    def patch(self, request, tenant_slug: str, public_id):
        ticket = self.get_object()
        data = TicketUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        actor = None if isinstance(request.user, ApiKeyPrincipal) else request.user
        tenant = self.tenant
        try:
            with tenant_context(tenant):  # one transaction: all changes or none
                self._apply(ticket, values, actor)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TicketOutputSerializer(self.get_object(), context={"tenant": tenant}).data)

    def _apply(self, ticket: Ticket, values: dict, actor: User | None) -> None:
        tenant = self.tenant
        if "assignee" in values:
            assignee = None
            if values["assignee"]:
                membership = membership_get_by_email(tenant=tenant, email=values["assignee"])
                if membership is None:
                    raise serializers.ValidationError({"assignee": ["No member with this email."]})
                assignee = membership.user
            services.ticket_assign(tenant=tenant, actor=actor, ticket=ticket, assignee=assignee)
        if "priority" in values:
            ticket_set_priority(
                tenant=tenant, actor=actor, ticket=ticket, priority=values["priority"]
            )
        if values.get("add_tags") or values.get("remove_tags"):
            ticket_tags_change(
                tenant=tenant,
                actor=actor,
                ticket=ticket,
                add=values.get("add_tags", []),
                remove=values.get("remove_tags", []),
            )
        if "custom_fields" in values:
            ticket_custom_fields_set(
                tenant=tenant, actor=actor, ticket=ticket, values=values["custom_fields"]
            )
        if "status" in values:
            services.ticket_set_status(
                tenant=tenant, actor=actor, ticket=ticket, status=values["status"]
            )
