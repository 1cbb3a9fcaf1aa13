"""The tenant's triage rules over the REST API: list, create, read, change, reorder, delete.

Who may: the same permission as the analysis settings page (``Perm.SETTINGS_MANAGE``: admins;
no API key scope carries it). Validation is the service's (``tickets.services.triage_rules``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.policy import Perm
from tickets.api.views import as_drf_error
from tickets.models import SIGNALS, TriageRule
from tickets.services.analysis import SENTIMENT_LABELS
from tickets.services.triage_rules import (
    NOTIFY_CHOICES,
    triage_rule_create,
    triage_rule_delete,
    triage_rule_update,
    triage_rules_reorder,
)


class TriageConditionsSerializer(serializers.Serializer):
    sentiment = serializers.ChoiceField(choices=SENTIMENT_LABELS, required=False)
    signals = serializers.ListField(
        child=serializers.ChoiceField(choices=SIGNALS),
        required=False,
        help_text="Every one of these signals must be present.",
    )
    min_score = serializers.FloatField(
        required=False, help_text="The least score of each signal, 0.5 (present) to 1."
    )


class TriageActionsSerializer(serializers.Serializer):
    set_priority = serializers.ChoiceField(
        choices=["normal", "high", "urgent"],
        required=False,
        help_text="Raised to this, never lowered.",
    )
    add_tags = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="Normalised like ticket tags (lower case, spaces become hyphens).",
    )
    notify = serializers.ChoiceField(choices=NOTIFY_CHOICES, required=False)


class TriageRuleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField()
    conditions = TriageConditionsSerializer()
    actions = TriageActionsSerializer()
    is_active = serializers.BooleanField()
    position = serializers.IntegerField(help_text="Rules run in ascending position.")


class _TriageRuleApi(TenantApiView):
    model = TriageRule
    read_perm = Perm.SETTINGS_MANAGE
    write_perm = Perm.SETTINGS_MANAGE
    serializer_class = TriageRuleOutputSerializer
    pagination_class = None
    lookup_field = "pk"
    lookup_url_kwarg = "rule_id"

    def get_tenant_queryset(self):
        return TriageRule.objects.for_tenant(self.tenant).order_by("position", "id")


class TriageRuleListApi(_TriageRuleApi):
    """The tenant's triage rules in the order they run, or add one (placed last)."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        # the rule's JSON is checked by the service, which names what is wrong
        conditions = serializers.JSONField(help_text="See TriageConditions.")
        actions = serializers.JSONField(help_text="See TriageActions.")
        is_active = serializers.BooleanField(default=True)

    @extend_schema(responses={200: TriageRuleOutputSerializer(many=True)})
    def get(self, request, tenant_slug: str):
        return Response(TriageRuleOutputSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: TriageRuleOutputSerializer})
    def post(self, request, tenant_slug: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rule = triage_rule_create(tenant=self.tenant, actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TriageRuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class TriageRuleDetailApi(_TriageRuleApi):
    """Read, change (any of name, conditions, actions, is_active, position) or delete a rule.
    A changed rule keeps its id, so it does not act again on a message it already acted on."""

    # Named apart from other detail views' InputSerializer: the schema's component names
    # ("PatchedTriageRulePatchRequest") must not collide with the webhooks' (drf_spectacular.W001).
    class TriageRulePatchSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        conditions = serializers.JSONField(required=False)
        actions = serializers.JSONField(required=False)
        is_active = serializers.BooleanField(required=False)
        position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)

    InputSerializer = TriageRulePatchSerializer

    def get(self, request, tenant_slug: str, rule_id: int):
        return Response(TriageRuleOutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses={200: TriageRuleOutputSerializer})
    def patch(self, request, tenant_slug: str, rule_id: int):
        rule = self.get_object()
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            rule = triage_rule_update(
                tenant=self.tenant, actor=request.user, rule=rule, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TriageRuleOutputSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request, tenant_slug: str, rule_id: int):
        triage_rule_delete(tenant=self.tenant, actor=request.user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TriageRuleOrderApi(_TriageRuleApi):
    """Put the rules in a new order: every rule id of the tenant, once, first to run first."""

    class InputSerializer(serializers.Serializer):
        order = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=500)

    @extend_schema(request=InputSerializer, responses={200: TriageRuleOutputSerializer(many=True)})
    def post(self, request, tenant_slug: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            triage_rules_reorder(
                tenant=self.tenant, actor=request.user, rule_ids=data.validated_data["order"]
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TriageRuleOutputSerializer(self.get_queryset(), many=True).data)
