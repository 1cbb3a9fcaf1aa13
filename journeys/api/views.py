"""Journey events in, funnels out. Thin: parse, authorise, call one service or selector."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from helpdesk.tenancy.api.schema import ErrorSerializer
from helpdesk.tenancy.api.throttling import TenantScopedRateThrottle
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.policy import Perm
from journeys import selectors, services
from journeys.forms import FunnelFilterForm
from journeys.models import Journey, JourneyEvent
from journeys.services.ingest import MAX_BATCH

MAX_BODY_BYTES = 5 * 1024 * 1024
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "86400",
}


class EventInputSerializer(serializers.Serializer):
    """One event (documentation only: events are validated one by one in the service)."""

    id = serializers.CharField(
        max_length=100, required=False, help_text="Your unique id: a repeat is ignored."
    )
    name = serializers.CharField(max_length=100, help_text="e.g. “Checkout started”.")
    customer_id = serializers.CharField(
        max_length=100, required=False, help_text="Your id for the customer (or give email)."
    )
    email = serializers.EmailField(required=False)
    timestamp = serializers.DateTimeField(
        required=False, help_text="ISO 8601 with a time zone; default: now. Late is fine."
    )
    properties = serializers.DictField(required=False, help_text="Up to 4 KB of JSON.")


class EventIngestApi(TenantApiView):
    """Send journey events in batches of up to 1,000 (POST), or list the latest ones (GET).

    Authenticate with a tenant API key with the scope ``ingest:events``. Good events are stored
    even when others in the batch are refused; each refused event is listed with its index and
    the reason. Browsers may call it from the tenant's site (CORS), as the tracking snippet does.
    """

    model = JourneyEvent
    throttle_classes = [TenantScopedRateThrottle]
    throttle_scope = "events"
    read_perm = Perm.JOURNEYS_VIEW
    write_perm = Perm.EVENTS_INGEST
    cursor_ordering = "-id"

    class InputSerializer(serializers.Serializer):
        events = EventInputSerializer(many=True, max_length=MAX_BATCH)

    class OutputSerializer(serializers.Serializer):
        message = serializers.CharField()
        accepted = serializers.IntegerField(help_text="New events stored.")
        duplicates = serializers.IntegerField(help_text="Ids seen before: ignored.")
        rejected = serializers.IntegerField()
        errors = inline_serializer(
            "EventError",
            {
                "index": serializers.IntegerField(),
                "id": serializers.CharField(allow_null=True),
                "message": serializers.CharField(),
            },
            many=True,
        )

    class EventOutputSerializer(serializers.ModelSerializer):
        id = serializers.CharField(source="event_id")
        timestamp = serializers.DateTimeField(source="occurred_at")
        customer = serializers.UUIDField(source="customer.public_id")
        customer_external_id = serializers.CharField(source="customer.external_id")

        class Meta:
            model = JourneyEvent
            fields = [
                "id",
                "name",
                "timestamp",
                "received_at",
                "customer",
                "customer_external_id",
                "properties",
            ]

    serializer_class = EventOutputSerializer

    def get_tenant_queryset(self):
        return selectors.event_list(tenant=self.tenant)

    def check_permissions(self, request):
        if request.method == "OPTIONS":
            return  # a CORS preflight carries no credentials; it learns nothing of the tenant
        super().check_permissions(request)

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in {"POST", "OPTIONS"}:
            for header, value in CORS_HEADERS.items():
                response[header] = value
        return response

    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.EventOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            # Every event refused (the result), or a batch that is not one (the error shape).
            400: PolymorphicProxySerializer(
                component_name="EventIngestRefusal",
                serializers=[OutputSerializer, ErrorSerializer],
                resource_type_field_name=None,
            ),
        },
    )
    def post(self, request, tenant_slug: str):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return Response(
                {"message": f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        data = request.data
        events = data.get("events") if isinstance(data, dict) else data
        try:
            result = services.events_ingest(tenant=self.tenant, events=events)
        except services.BatchError as exc:
            raise ValidationError({"events": [str(exc)]}) from exc
        stored = result.accepted + result.duplicates
        if result.errors and not stored:
            message = "No event was stored: every event was refused (see errors)."
        elif result.errors:
            message = (
                f"{result.rejected:,} of {result.received:,} events were refused (see errors)."
            )
        else:
            message = "OK"
        body = {
            "message": message,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "errors": [{"index": e.index, "id": e.id, "message": e.message} for e in result.errors],
        }
        code = status.HTTP_400_BAD_REQUEST if result.errors and not stored else status.HTTP_200_OK
        return Response(body, status=code)


class JourneyListApi(TenantApiView):
    """The tenant's journeys with their stages."""

    model = Journey
    read_perm = Perm.JOURNEYS_VIEW
    write_perm = Perm.JOURNEYS_EDIT
    pagination_class = None

    class OutputSerializer(serializers.ModelSerializer):
        id = serializers.UUIDField(source="public_id")
        stages = serializers.SerializerMethodField()

        class Meta:
            model = Journey
            fields = [
                "id",
                "name",
                "description",
                "is_active",
                "stuck_after_hours",
                "dropped_after_days",
                "stages",
            ]

        def get_stages(self, journey) -> list[dict]:
            return [
                {
                    "position": s.position,
                    "name": s.name,
                    "event_names": s.event_names,
                    "stuck_after_hours": s.stuck_after_hours or journey.stuck_after_hours,
                }
                for s in journey.stages.all()
            ]

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return Journey.objects.for_tenant(self.tenant).prefetch_related("stages")

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, tenant_slug: str):
        return Response(self.OutputSerializer(self.get_queryset(), many=True).data)


FUNNEL_PARAMETERS = [
    OpenApiParameter("days", int, enum=[7, 30, 90, 180], description="Default 30."),
    OpenApiParameter("start", str, description="YYYY-MM-DD (with end): a date range instead."),
    OpenApiParameter("end", str, description="YYYY-MM-DD, inclusive."),
    OpenApiParameter("by", str, enum=["tag", "company", "signup_month"]),
]


class JourneyFunnelApi(TenantApiView):
    """A journey's funnel for a period: stages, conversion, drop-off, median times, the voice of
    the customer per stage, insights against the previous period, and an optional breakdown."""

    model = Journey
    read_perm = Perm.JOURNEYS_VIEW
    write_perm = Perm.JOURNEYS_EDIT
    pagination_class = None

    def get_tenant_queryset(self):
        return Journey.objects.for_tenant(self.tenant)

    @extend_schema(parameters=FUNNEL_PARAMETERS, responses=inline_serializer("Funnel", {}))
    def get(self, request, tenant_slug: str, public_id):
        journey = self.get_object()
        filters = FunnelFilterForm(request.query_params)
        if not filters.is_valid():
            raise ValidationError({"period": [filters.first_error()]})
        period = filters.period(self.tenant)
        stages = selectors.journey_stages(tenant=self.tenant, journey=journey)
        if not stages:
            raise NotFound("Not found.")
        funnel = selectors.journey_funnel(
            tenant=self.tenant, journey=journey, period=period, stages=stages
        )
        previous = selectors.journey_funnel(
            tenant=self.tenant,
            journey=journey,
            period=period.previous(),
            stages=stages,
            with_now=False,
        )
        voice = selectors.journey_voice(
            tenant=self.tenant, journey=journey, period=period, stages=stages
        )
        previous_voice = selectors.journey_voice(
            tenant=self.tenant, journey=journey, period=period.previous(), stages=stages
        )
        insights = selectors.journey_insights(
            funnel=funnel, previous_funnel=previous, voice=voice, previous_voice=previous_voice
        )
        body = {
            "journey": {"id": str(journey.public_id), "name": journey.name},
            "period": {"start": period.start, "end": period.end, "label": period.label},
            "entered": funnel.entered,
            "completed": funnel.completed,
            "recomputing": journey.is_rebuilding,
            "stages": [_stage_body(stage, voice.stage(stage.position)) for stage in funnel.stages],
            "insights": [
                {
                    "kind": i.kind,
                    "stage": i.stage,
                    "headline": i.headline,
                    "detail": i.detail,
                    "current": i.current,
                    "previous": i.previous,
                    "tickets": [t.number for t in i.examples],
                }
                for i in insights
            ],
        }
        by = filters.cleaned_data.get("by")
        if by:
            breakdown = selectors.journey_breakdown(
                tenant=self.tenant, journey=journey, period=period, by=by, stage_count=len(stages)
            )
            body["breakdown"] = {
                "by": by,
                "segments": [
                    {"label": row.label, "reached": row.reached} for row in breakdown.rows
                ],
            }
        return Response(body)


def _stage_body(stage, voice) -> dict:
    return {
        "position": stage.position,
        "name": stage.name,
        "reached": stage.reached,
        "skipped": stage.skipped,
        "conversion": stage.conversion,
        "overall": stage.overall,
        "drop_off": stage.drop_off,
        "drop_off_rate": stage.drop_off_rate,
        "median_seconds_from_previous": stage.median_seconds,
        "now": {
            "waiting": stage.now_waiting,
            "stuck": stage.now_stuck,
            "dropped": stage.now_dropped,
        },
        "voice": {
            "tickets": voice.tickets,
            "chats": voice.chats,
            "messages": voice.messages,
            "survey_comments_scored": voice.survey_scored,
            "sentiment": voice.sentiment,  # of the messages and the analysed survey comments
            "signals": dict(voice.signals),
            "keywords": [{"keyword": k, "count": n} for k, n in voice.keywords],
            "surveys": voice.surveys,
            "csat_average": voice.csat_average,
            "csat_count": voice.csat_count,
        },
    }
