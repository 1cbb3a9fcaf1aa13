"""A message's analysis and its corrections over the API."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Perm
from tickets.api.views import as_drf_error
from tickets.models import SIGNALS, Message
from tickets.selectors_analysis import message_analysis_get, message_corrections
from tickets.services.analysis import SENTIMENT_LABELS, SIGNAL_VALUES, analysis_correct


class CorrectionInputSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=["sentiment", *SIGNALS])
    value = serializers.ChoiceField(
        choices=[*SENTIMENT_LABELS, *SIGNAL_VALUES],
        help_text="A sentiment label, or present/absent for a signal.",
    )


class AnalysisOutputSerializer(serializers.Serializer):
    message = serializers.UUIDField()
    state = serializers.CharField()
    model_version = serializers.CharField(allow_blank=True)
    language = serializers.CharField(allow_blank=True)
    is_supported_language = serializers.BooleanField()
    sentiment_label = serializers.CharField(allow_blank=True)
    sentiment_score = serializers.FloatField(allow_null=True)
    signals = serializers.DictField()
    keywords = serializers.ListField(child=serializers.CharField())
    corrections = serializers.DictField()


class MessageCorrectionApi(TenantApiView):
    """GET the analysis of a customer message with its corrections; POST a correction (people
    only). Correcting back to the prediction removes the correction."""

    model = Message
    read_perm = Perm.TICKETS_VIEW
    write_perm = Perm.TICKETS_WORK

    def get_tenant_queryset(self):
        return Message.objects.for_tenant(self.tenant).filter(author_type="customer")

    def _message(self) -> Message:
        message = self.get_queryset().filter(public_id=self.kwargs["public_id"]).first()
        if message is None:
            raise NotFound("Not found.")
        return message

    def _body(self, message: Message) -> dict:
        analysis = message_analysis_get(tenant=self.tenant, message=message)
        corrections = message_corrections(tenant=self.tenant, message=message)
        return AnalysisOutputSerializer(
            {
                "message": message.public_id,
                "state": message.analysis_state,
                "model_version": analysis.model_version if analysis else "",
                "language": analysis.language if analysis else "",
                "is_supported_language": analysis.is_supported_language if analysis else True,
                "sentiment_label": analysis.sentiment_label if analysis else "",
                "sentiment_score": analysis.sentiment_score if analysis else None,
                "signals": analysis.signals if analysis else {},
                "keywords": analysis.keywords if analysis else [],
                "corrections": {
                    field: {
                        "predicted": c.predicted,
                        "corrected": c.corrected,
                        "model_version": c.model_version,
                        "by": c.corrected_by.email if c.corrected_by else "",
                        "at": c.created_at.isoformat(),
                    }
                    for field, c in corrections.items()
                },
            }
        ).data

    @extend_schema(responses={200: AnalysisOutputSerializer})
    def get(self, request, tenant_slug: str, public_id):
        return Response(self._body(self._message()))

    @extend_schema(request=CorrectionInputSerializer, responses={200: AnalysisOutputSerializer})
    def post(self, request, tenant_slug: str, public_id):
        if isinstance(request.user, ApiKeyPrincipal):
            raise serializers.ValidationError({"field": ["Corrections are made by people."]})
        message = self._message()
        data = CorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with tenant_context(self.tenant):
                analysis_correct(
                    tenant=self.tenant,
                    actor=request.user,
                    message=message,
                    field=data.validated_data["field"],
                    corrected=data.validated_data["value"],
                )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._body(message))
