"""API for BI tools: the dashboard's figures and the per-ticket rows, as JSON.

- ``GET /api/v1/t/<slug>/metrics/``: headline figures of a period and of the period before,
  trend buckets, breakdowns by channel, group, agent, tag and journey stage, keywords, signals,
  the reports of the extra survey questions, help-page feedback (count, sentiment mix, latest),
  definitions.
- ``GET /api/v1/t/<slug>/metrics/tickets/``: one row per ticket created in the period (the CSV
  export's columns), cursor-paginated.

Both take the dashboard's query parameters: ``period`` (7d, 30d, 90d, this_month, last_month,
this_quarter, 365d, custom with ``from``/``to``), ``bucket`` (day, week, month), ``channel``,
``group``, ``agent``, ``tag``.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from empathy_metrics.exports import TICKET_FIELDS, ticket_export_queryset, ticket_records
from empathy_metrics.models import MetricsRollup
from empathy_metrics.periods import (
    BUCKETS,
    Period,
    PeriodError,
    filters_from_params,
    period_from_params,
    zone,
)
from empathy_metrics.selectors.dashboard import dashboard_data
from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.policy import Perm
from tickets.models import Channel, Ticket

PARAMETERS = [
    OpenApiParameter(
        "period",
        str,
        description="7d, 30d, 90d (default), this_month, last_month, this_quarter, 365d or custom",
    ),
    OpenApiParameter("from", date, description="Custom period: first local day"),
    OpenApiParameter("to", date, description="Custom period: last local day"),
    OpenApiParameter("bucket", str, description="day, week or month (default: by length)"),
    OpenApiParameter("channel", str),
    OpenApiParameter("group", int, description="Group id; 0 = no group"),
    OpenApiParameter("agent", int, description="User id; 0 = unassigned"),
    OpenApiParameter("tag", int, description="Tag id"),
]


def _parse(view, request):
    tz = zone(view.tenant.time_zone)
    try:
        period = period_from_params(request.query_params, tz=tz, now=timezone.now())
        filters = filters_from_params(request.query_params, channels=list(Channel.values))
        bucket = request.query_params.get("bucket") or period.auto_bucket()
        if bucket not in BUCKETS:
            raise PeriodError("bucket must be day, week or month.")
    except PeriodError as error:
        raise exceptions.ValidationError({"period": [str(error)]}) from error
    return period, filters, bucket


def _period_json(period: Period) -> dict:
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "days": period.days,
        "time_zone": str(period.tz),
    }


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class MetricsApi(TenantApiView):
    """The dashboard's data for a period (figures with counts, trend, breakdowns)."""

    model = MetricsRollup
    read_perm = Perm.DASHBOARDS_VIEW
    pagination_class = None

    def get_tenant_queryset(self):
        return MetricsRollup.objects.for_tenant(self.tenant)

    @extend_schema(parameters=PARAMETERS, responses={200: dict})
    def get(self, request, tenant_slug: str):
        period, filters, bucket = _parse(self, request)
        data = dashboard_data(
            tenant=self.tenant,
            period=period,
            filters=filters,
            bucket_unit=bucket,
            now=timezone.now(),
        )
        body = {
            "period": _period_json(period),
            "previous_period": _period_json(data["previous"]),
            "filters": filters.as_params(),
            "bucket": bucket,
            "figures": data["figures"],
            "previous_figures": data["previous_figures"],
            "trend": data["trend"],
            "breakdowns": {
                dim: [{**row, "value": row["value"], "label": str(row["label"])} for row in rows]
                for dim, rows in data["breakdowns"].items()
            },
            "signals": [
                {
                    **signal,
                    "examples": [
                        {"ticket": e["ticket_number"], "text": e["text"], "at": e["at"]}
                        for e in signal["examples"]
                    ],
                }
                for signal in data["signals"]
            ],
            "questions": data["questions"],
            "journey_stages": data["journey_stages"],
            "feedback": data["feedback"],
            "definitions": {d["key"]: d["text"] for d in data["definitions"]},
            "units": {
                "durations": "business minutes",
                "rates": "percent",
                "nps": "points from -100 to 100",
            },
        }
        return Response(_jsonable(body))


class MetricsTicketListApi(TenantApiView):
    """One row per ticket created in the period: the per-ticket export as JSON."""

    model = Ticket
    read_perm = Perm.DASHBOARDS_VIEW
    cursor_ordering = "-id"

    def get_tenant_queryset(self):
        period, filters, _bucket = _parse(self, self.request)
        self._period = period
        return ticket_export_queryset(tenant=self.tenant, period=period, filters=filters)

    @extend_schema(parameters=PARAMETERS, responses={200: dict})
    def get(self, request, tenant_slug: str):
        page = self.paginate_queryset(self.get_queryset().values(*TICKET_FIELDS))
        records = ticket_records(tenant=self.tenant, rows=list(page), tz=self._period.tz)
        return self.get_paginated_response(records)
