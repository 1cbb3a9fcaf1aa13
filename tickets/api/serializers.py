"""Output shapes shared by several endpoints (public ids only, never database ids)."""

from __future__ import annotations

import copy

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.models import Customer, Macro, Message, SavedView, Ticket


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


# Fields that hold fields (a list's child, a related field's, a nested serializer's).
_INNER_FIELDS = ("child", "child_relation", "fields", "_declared_fields")


class FieldsBuiltOnce:
    """A ModelSerializer works its fields out from the model every time one is created (about a
    millisecond for a ticket's two dozen), and any serializer deep-copies its declared fields
    (each one built again from its arguments). This works them out once per class and gives
    each instance shallow copies: a field is bound to its serializer (name, parent), so it
    cannot be shared, but its options (choices, validators, formats) are only read after
    ``__init__``. A field that holds fields is copied whole, as DRF does. Only for serializers
    whose fields do not depend on the instance or the request."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return {
            name: copy.deepcopy(field)
            if any(hasattr(field, inner) for inner in _INNER_FIELDS)
            else copy.copy(field)
            for name, field in built.items()
        }


class TicketOutputSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """Needs ``context["tenant"]`` for the reference (ACME-1042)."""

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
    tags = serializers.SerializerMethodField()

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
            "tags",
            "custom_fields",
            "sla_stage",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, ticket: Ticket) -> list[str]:
        known = getattr(ticket, "tag_names", None)  # set by whoever knows them already
        if known is not None:
            return sorted(known)
        prefetched = getattr(ticket, "_prefetched_objects_cache", {}).get("tags")
        tags = prefetched if prefetched is not None else ticket.tags.all()
        return sorted(tag.name for tag in tags)


class MessageOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    author = serializers.SerializerMethodField()
    internal = serializers.BooleanField(source="is_internal")
    body = serializers.CharField(source="body_text")
    html = serializers.CharField(source="body_html")

    class Meta:
        model = Message
        fields = [
            "id",
            "author_type",
            "author",
            "internal",
            "body",
            "html",
            "channel",
            "created_at",
        ]

    def get_author(self, message: Message) -> str:
        if message.author_user_id:
            return message.author_user.get_full_name()
        return str(message.author_customer) if message.author_customer_id else ""


class MacroOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Macro
        fields = ["id", "name", "body", "set_status", "set_priority", "add_tags", "created_at"]


class SavedViewOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    shared = serializers.SerializerMethodField()

    class Meta:
        model = SavedView
        fields = ["id", "name", "filters", "shared", "created_at"]

    def get_shared(self, view: SavedView) -> bool:
        return view.owner_id is None
