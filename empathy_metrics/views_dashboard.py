"""Pages: the manager's dashboard, the drill-down behind every figure, and CSV exports."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from empathy_metrics import exports
from empathy_metrics.periods import (
    BUCKETS,
    PRESETS,
    Filters,
    Period,
    PeriodError,
    filters_from_params,
    period_from_params,
    zone,
)
from empathy_metrics.selectors.dashboard import dashboard_data
from empathy_metrics.selectors.drilldown import DRILLS, backlog_is_past, drill_rows
from empathy_metrics.selectors.names import dimension_labels, filter_options
from empathy_metrics.selectors.rollup import rollup_state
from empathy_metrics.selectors.settings import survey_settings_get
from empathy_metrics.tasks import metrics_rollup_update_task
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets.models import Channel

QUERY_KEYS = ("period", "from", "to", "bucket", "channel", "group", "agent", "tag")
DRILL_PAGE_SIZE = 50
# The dashboard asks for a catch-up run when the last one is older than this (beat normally
# runs every few minutes; this keeps a demo without beat, or a stalled beat, fresh).
STALE_AFTER_SECONDS = 15 * 60
REFRESH_REQUEST_SECONDS = 5 * 60


def parse_request(request: HttpRequest, *, now: datetime) -> tuple[Period, Filters, str]:
    """Period, filters and bucket from the query string; raises PeriodError with a message."""
    params = request.GET
    tz = zone(request.tenant.time_zone)
    period = period_from_params(params, tz=tz, now=now)
    filters = filters_from_params(params, channels=list(Channel.values))
    bucket = (params.get("bucket") or "").strip() or period.auto_bucket()
    if bucket not in BUCKETS:
        raise PeriodError("Choose day, week or month buckets.")
    return period, filters, bucket


def query_params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET[key].strip() for key in QUERY_KEYS if request.GET.get(key, "").strip()}


def request_rollup_refresh(tenant, *, now: datetime) -> bool:
    """Enqueue a catch-up run of the rollups when they are missing or stale."""
    state = rollup_state(tenant=tenant)
    fresh = (
        state is not None
        and state.last_run_at is not None
        and (now - state.last_run_at).total_seconds() < STALE_AFTER_SECONDS
    )
    if fresh:
        return False
    # At most one request per tenant and few minutes enqueues the catch-up run.
    if cache.add(f"metrics:refresh-requested:{tenant.pk}", 1, timeout=REFRESH_REQUEST_SECONDS):
        metrics_rollup_update_task.delay_on_commit(tenant.pk)
    return True


def _filter_context(request: HttpRequest, period: Period | None, bucket: str | None) -> dict:
    return {
        "presets": list(PRESETS.items()),
        "buckets": list(BUCKETS.items()),
        "options": filter_options(tenant=request.tenant),
        "params": request.GET,
        "query_params": query_params(request),
        "period": period,
        "bucket": bucket,
    }


@tenant_view(Perm.DASHBOARDS_VIEW)
def dashboard(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    now = timezone.now()
    try:
        period, filters, bucket = parse_request(request, now=now)
    except PeriodError as error:
        context = {**_filter_context(request, None, None), "error": str(error)}
        return render(request, "empathy_metrics/dashboard.html", context, status=400)
    state = rollup_state(tenant=tenant)
    preparing = request_rollup_refresh(tenant, now=now) and (
        state is None or state.last_rebuild_at is None
    )
    data = dashboard_data(
        tenant=tenant, period=period, filters=filters, bucket_unit=bucket, now=now
    )
    context = {
        **_filter_context(request, period, bucket),
        "data": data,
        "definitions_by_key": {d["key"]: d["text"] for d in data["definitions"]},
        "filters_query": urlencode(query_params(request)),
        "chart_data": chart_payload(data),
        "preparing": preparing,
        "updated_at": state.last_run_at if state else None,
        "filter_labels": active_filter_labels(request.tenant, filters),
    }
    return render(request, "empathy_metrics/dashboard.html", context)


def _question_text(tenant, question_id: str) -> str:
    for question in survey_settings_get(tenant=tenant).extra_questions or []:
        if question.get("id") == question_id:
            return question.get("text", "")
    return question_id


def chart_payload(data: dict) -> dict:
    """What static/js/dashboard.js draws (no functions, no HTML)."""
    return {"trend": data["trend"], "bucket": data["bucket_unit"]}


def active_filter_labels(tenant, filters: Filters) -> list[dict]:
    if filters.is_empty:
        return []
    labels = dimension_labels(tenant=tenant)
    found = []
    for dim, title in (
        ("channel", "Channel"),
        ("group", "Group"),
        ("agent", "Agent"),
        ("tag", "Tag"),
    ):
        value = getattr(filters, dim)
        if value is not None:
            found.append({"dim": dim, "title": title, "label": labels[dim].get(value, f"#{value}")})
    return found


@tenant_view(Perm.DASHBOARDS_VIEW)
def drill(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    now = timezone.now()
    metric = request.GET.get("metric", "")
    if not metric:  # nothing chosen: the figures to choose from are on the dashboard
        back = urlencode(query_params(request))
        target = reverse("metrics:dashboard", kwargs={"tenant_slug": tenant_slug})
        return redirect(f"{target}?{back}" if back else target)
    signal = request.GET.get("signal", "")[:40]
    keyword = request.GET.get("keyword", "")[:100]
    question = request.GET.get("question", "")[:10]
    rating = request.GET.get("rating", "")[:2]
    journey = request.GET.get("journey", "")[:40]
    stage = request.GET.get("stage", "")[:2]
    try:
        period, filters, bucket = parse_request(request, now=now)
        if metric not in DRILLS:
            raise PeriodError("Choose a figure to see what is behind it.")
        drill_def, rows = drill_rows(
            tenant=tenant,
            metric=metric,
            period=period,
            filters=filters,
            signal=signal,
            keyword=keyword,
            question=question,
            rating=rating,
            now=now,
            journey=journey,
            stage=stage,
        )
    except PeriodError as error:
        context = {**_filter_context(request, None, None), "error": str(error)}
        return render(request, "empathy_metrics/drill.html", context, status=400)
    paginator = Paginator(rows, DRILL_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    params = query_params(request)
    back = dict(params)
    extra = {"metric": metric}
    if signal:
        extra["signal"] = signal
    if keyword:
        extra["keyword"] = keyword
    if question:
        extra["question"] = question
    if rating:
        extra["rating"] = rating
    if metric.startswith("stage_"):
        extra.update({"journey": journey, "stage": stage})
    context = {
        **_filter_context(request, period, bucket),
        "drill": drill_def,
        "page": page,
        "rows": exports.drill_display_rows(
            tenant=tenant, drill=drill_def, rows=page.object_list, question=question
        ),
        "signal": signal,
        "keyword": keyword,
        "question": _question_text(tenant, question) if question else "",
        "rating": rating,
        "dashboard_query": urlencode(back),
        "drill_query": urlencode({**params, **extra}),
        "filter_labels": active_filter_labels(tenant, filters),
        "now": now,
        "backlog_at": period.end
        if metric == "backlog" and backlog_is_past(period=period, now=now)
        else None,
    }
    return render(request, "empathy_metrics/drill.html", context)


@tenant_view(Perm.DASHBOARDS_VIEW)
def export(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """CSV of any dashboard table (``table=``, default the headline cards), the per-ticket
    export (``table=tickets``), or a drill-down list (``table=drill&metric=...``)."""
    now = timezone.now()
    table = request.GET.get("table", "") or "cards"
    try:
        period, filters, bucket = parse_request(request, now=now)
        response = exports.export_response(
            tenant=request.tenant,
            table=table,
            period=period,
            filters=filters,
            bucket=bucket,
            params=request.GET,
            now=now,
        )
        audit_record(
            tenant=request.tenant,
            action="export",
            actor=request.user,
            target=f"dashboard {table}",
            data={"table": table, "query": request.GET.urlencode()[:500]},
            request=request,
        )
        return response
    except PeriodError as error:
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain; charset=utf-8")


def copy_query(params: QueryDict, **changes) -> str:
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()
