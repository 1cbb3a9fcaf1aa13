"""Pages: an agent's own metrics (their CSAT, response times and the comments left for them).

Agents see only their own page. People who may view the dashboards (managers, admins) can open
any member's page with ``?agent=<user id>``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from empathy_metrics.definitions import definitions_for
from empathy_metrics.exports import csv_response
from empathy_metrics.periods import BUCKETS, PRESETS, PeriodError
from empathy_metrics.selectors.agent import agent_comments, agent_metrics
from empathy_metrics.selectors.settings import survey_settings_get
from empathy_metrics.views_dashboard import parse_request, query_params
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Perm, role_has_perm

COMMENTS_PER_PAGE = 20


def definitions_by_key(tenant) -> dict[str, str]:
    active_days = survey_settings_get(tenant=tenant).active_days
    return {
        d["key"]: d["text"]
        for d in definitions_for(time_zone=tenant.time_zone, active_days=active_days)
    }


def _agent_for(request: HttpRequest):
    """The member whose page this is: the viewer, or ``?agent=`` for dashboard viewers."""
    raw = (request.GET.get("agent") or "").strip()
    if not raw or raw == str(request.user.pk):
        return request.user
    if not role_has_perm(request.membership.role, Perm.DASHBOARDS_VIEW):
        raise PermissionDenied("You can only see your own metrics.")
    if not raw.isdigit():
        raise Http404("No such member")
    membership = (
        Membership.objects.filter(tenant=request.tenant, user_id=int(raw))
        .select_related("user")
        .first()
    )
    if membership is None:
        raise Http404("No such member")
    return membership.user


@tenant_view(Perm.TICKETS_WORK)
def my_metrics(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    agent = _agent_for(request)
    now = timezone.now()
    base = {
        "agent": agent,
        "is_self": agent.pk == request.user.pk,
        "presets": list(PRESETS.items()),
        "buckets": list(BUCKETS.items()),
        "params": request.GET,
        "query_params": query_params(request),
    }
    try:
        period, _filters, bucket = parse_request(request, now=now)
    except PeriodError as error:
        return render(
            request, "empathy_metrics/my_metrics.html", {**base, "error": str(error)}, status=400
        )
    data = agent_metrics(
        tenant=request.tenant, agent_id=agent.pk, period=period, bucket_unit=bucket, now=now
    )
    comments = Paginator(
        agent_comments(tenant=request.tenant, agent_id=agent.pk, period=period), COMMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    context = {
        **base,
        "period": period,
        "bucket": bucket,
        "data": data,
        "chart_data": {"trend": data["trend"], "bucket": bucket},
        "comments": comments,
        "definitions_by_key": definitions_by_key(request.tenant),
        "export_query": urlencode({**query_params(request), "table": "comments"}),
        "keep_agent": [] if agent.pk == request.user.pk else [("agent", str(agent.pk))],
    }
    return render(request, "empathy_metrics/my_metrics.html", context)


@tenant_view(Perm.TICKETS_WORK)
def my_metrics_export(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """CSV of the comments customers left the agent (``table=comments``) or of the cards."""
    agent = _agent_for(request)
    now = timezone.now()
    try:
        period, _filters, bucket = parse_request(request, now=now)
    except PeriodError as error:
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain; charset=utf-8")
    table = request.GET.get("table", "comments")
    tenant = request.tenant
    if table == "comments":
        prefix = tenant.reference_prefix

        def rows():
            yield ["created_at", "score", "comment", "ticket", "customer"]
            for response in agent_comments(tenant=tenant, agent_id=agent.pk, period=period):
                yield [
                    response.created_at.isoformat(),
                    response.score,
                    response.comment,
                    f"{prefix}-{response.ticket.number}" if response.ticket_id else "",
                    response.customer.name if response.customer_id else "",
                ]

        rows_list = list(rows())
    elif table == "cards":
        data = agent_metrics(
            tenant=tenant, agent_id=agent.pk, period=period, bucket_unit=bucket, now=now
        )
        rows_list = [["figure", "unit", "value", "previous", "detail"]] + [
            [
                c["label"],
                c["unit"],
                c["value"] if c["value"] is not None else "",
                c["change"]["previous"] if c["change"] else "",
                c["detail"],
            ]
            for c in data["cards"]
        ]
    else:
        return HttpResponse(
            "Unknown table: use comments or cards.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filename = f"{tenant.slug}-agent-{agent.pk}-{table}-{period.start}-{period.end}.csv"
    audit_record(
        tenant=tenant,
        action="export",
        actor=request.user,
        target=f"agent metrics {table} of {agent.email}",
        data={"table": f"agent-{table}", "agent": agent.pk, "query": request.GET.urlencode()[:500]},
        request=request,
    )
    return csv_response(rows_list, filename)
