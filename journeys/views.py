"""Journey pages: the list, the funnel (managers), the editor and the tracking setup (admins)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm, role_has_perm
from helpdesk.tenancy.selectors import api_key_list
from journeys import selectors, services
from journeys.forms import PERIOD_CHOICES, FunnelFilterForm, JourneyForm, StageFormSet
from journeys.models import Journey

CHART_WIDTH = 760
CHART_ROW = 56
CHART_BAR = 30
NEW_JOURNEY_ROWS = 4


def _journey_or_404(request: HttpRequest, public_id) -> Journey:
    journey = selectors.journey_get(tenant=request.tenant, public_id=public_id)
    if journey is None:
        raise Http404("Not found.")
    return journey


def _can(request: HttpRequest, perm: Perm) -> bool:
    return role_has_perm(request.membership.role, perm)


@tenant_view(Perm.JOURNEYS_VIEW)
def journey_list_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    period = selectors.period_last_days(days=30)
    journeys = selectors.journey_list(tenant=tenant)
    stages = {
        journey.pk: selectors.journey_stages(tenant=tenant, journey=journey) for journey in journeys
    }
    headlines = selectors.journey_headlines(
        tenant=tenant,
        period=period,
        journeys={j: stages[j.pk][-1].position for j in journeys if stages[j.pk]},
    )
    rows = []
    for journey in journeys:
        numbers = headlines.get(journey.pk, {"entered": 0, "completed": 0})
        entered = numbers["entered"]
        rows.append(
            {
                "journey": journey,
                "stages": stages[journey.pk],
                "entered": entered,
                "completed": numbers["completed"],
                "rate": numbers["completed"] / entered if entered else None,
            }
        )
    context = {
        "rows": rows,
        "period": period,
        "can_edit": _can(request, Perm.JOURNEYS_EDIT),
    }
    return render(request, "journeys/list.html", context)


def _chart(funnel) -> dict:
    """Bar geometry for the funnel chart (SVG attributes, so no inline styles)."""
    entered = funnel.entered or 1
    label_width = 170
    bar_width = CHART_WIDTH - label_width - 110
    bars = []
    for index, stage in enumerate(funnel.stages):
        y = index * CHART_ROW + 8
        width = round(bar_width * stage.reached / entered, 1) if funnel.entered else 0
        bars.append(
            {
                "stage": stage,
                "y": y,
                "text_y": y + CHART_BAR / 2 + 5,
                "x": label_width,
                "width": max(width, 2 if stage.reached else 0),
                "full": bar_width,
                "value_x": label_width + max(width, 2) + 8,
                "gap_y": y + CHART_BAR + 15,
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": len(funnel.stages) * CHART_ROW,
        "bars": bars,
        "label_width": label_width,
    }


@tenant_view(Perm.JOURNEYS_VIEW)
def journey_funnel_page(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    tenant = request.tenant
    journey = _journey_or_404(request, public_id)
    filters = FunnelFilterForm(request.GET or None)
    if request.GET and not filters.is_valid():
        messages.error(request, f"{filters.first_error()} Showing the last 30 days instead.")
        filters = FunnelFilterForm()
    data = filters.cleaned_data if filters.is_bound else {}
    period = filters.period(tenant)
    stages = selectors.journey_stages(tenant=tenant, journey=journey)
    funnel = selectors.journey_funnel(tenant=tenant, journey=journey, period=period, stages=stages)
    previous = selectors.journey_funnel(
        tenant=tenant, journey=journey, period=period.previous(), stages=stages, with_now=False
    )
    voice = selectors.journey_voice(tenant=tenant, journey=journey, period=period, stages=stages)
    previous_voice = selectors.journey_voice(
        tenant=tenant, journey=journey, period=period.previous(), stages=stages
    )
    insights = selectors.journey_insights(
        funnel=funnel, previous_funnel=previous, voice=voice, previous_voice=previous_voice
    )
    breakdown = None
    if data.get("by"):
        breakdown = selectors.journey_breakdown(
            tenant=tenant, journey=journey, period=period, by=data["by"], stage_count=len(stages)
        )
    selected = data.get("stage")
    if selected is None or selected >= len(stages):
        # Open the panel of the stage that needs attention: the first insight's, else the
        # stage that loses the largest share of its customers.
        if insights:
            selected = insights[0].stage
        else:
            candidates = [s for s in funnel.stages if s.drop_off]
            worst = max(candidates, key=lambda s: (s.drop_off_rate, s.drop_off), default=None)
            selected = worst.position if worst else 0
    days = data.get("days") or (None if data.get("start") else 30)
    query = {k: v for k, v in request.GET.items() if k != "stage"} if filters.is_bound else {}
    context = {
        "journey": journey,
        "funnel": funnel,
        "previous": previous,
        "voice": voice,
        "insights": insights,
        "breakdown": breakdown,
        "chart": _chart(funnel),
        "filters": filters,
        "period": period,
        "days": days,
        "period_choices": [(int(value), label) for value, label in PERIOD_CHOICES],
        "by": data.get("by") or "",
        "breakdowns": selectors.BREAKDOWNS,
        "selected": selected,
        "stage_rows": list(zip(funnel.stages, voice.stages, strict=True)),
        "base_query": urlencode(query),
        "can_edit": _can(request, Perm.JOURNEYS_EDIT),
        "now_stuck": sum(s.now_stuck for s in funnel.stages),
        "now_dropped": sum(s.now_dropped for s in funnel.stages),
    }
    return render(request, "journeys/funnel.html", context)


def _apply_errors(exc: ValidationError, form, formset) -> list[str]:
    """Put a service's errors on the form fields; stage errors are listed above the stages."""
    stage_errors: list[str] = []
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return stage_errors
    for field, errors in exc.message_dict.items():
        if field == "stages":
            stage_errors += errors
        elif field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, errors)
    return stage_errors


def _editor(request: HttpRequest, journey: Journey | None) -> HttpResponse:
    tenant = request.tenant
    stage_errors: list[str] = []
    if request.method == "POST":
        form = JourneyForm(request.POST)
        formset = StageFormSet(request.POST, prefix="stages")
        if form.is_valid() and formset.is_valid():
            specs = [spec for spec in (f.spec() for f in formset.forms) if spec is not None]
            data = form.cleaned_data
            fields = {
                "name": data["name"],
                "description": data["description"],
                "stages": specs,
                "stuck_after_hours": data["stuck_after_hours"],
                "dropped_after_days": data["dropped_after_days"],
                "is_active": data["is_active"],
            }
            try:
                if journey is None:
                    journey = services.journey_create(tenant=tenant, actor=request.user, **fields)
                    messages.success(
                        request,
                        f"Journey “{journey.name}” created. Customers' positions are being "
                        "worked out from the events already received.",
                    )
                else:
                    journey = services.journey_update(
                        tenant=tenant, actor=request.user, journey=journey, **fields
                    )
                    messages.success(request, f"Journey “{journey.name}” saved.")
            except ValidationError as exc:
                stage_errors = _apply_errors(exc, form, formset)
            else:
                return redirect(
                    "journeys:funnel", tenant_slug=tenant.slug, public_id=journey.public_id
                )
        elif formset.non_form_errors():
            stage_errors = list(formset.non_form_errors())
    elif journey is not None:
        form = JourneyForm(
            initial={
                "name": journey.name,
                "description": journey.description,
                "is_active": journey.is_active,
                "stuck_after_hours": journey.stuck_after_hours,
                "dropped_after_days": journey.dropped_after_days,
            }
        )
        stages = selectors.journey_stages(tenant=tenant, journey=journey)
        formset = StageFormSet(
            prefix="stages",
            initial=[
                {
                    "name": s.name,
                    "event_names": ", ".join(s.event_names),
                    "stuck_after_hours": s.stuck_after_hours,
                }
                for s in stages
            ]
            + [{}],
        )
    else:
        form = JourneyForm()
        formset = StageFormSet(prefix="stages", initial=[{}] * NEW_JOURNEY_ROWS)
    context = {
        "journey": journey,
        "form": form,
        "formset": formset,
        "stage_errors": stage_errors,
        "event_names": selectors.event_names_recent(tenant=tenant),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "journeys/editor.html", context, status=status)


@tenant_view(Perm.JOURNEYS_EDIT)
@require_http_methods(["GET", "POST"])
def journey_create_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return _editor(request, None)


@tenant_view(Perm.JOURNEYS_EDIT)
@require_http_methods(["GET", "POST"])
def journey_edit_page(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    return _editor(request, _journey_or_404(request, public_id))


@tenant_view(Perm.JOURNEYS_EDIT)
@require_POST
def journey_delete_view(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    journey = _journey_or_404(request, public_id)
    services.journey_delete(tenant=request.tenant, actor=request.user, journey=journey)
    messages.success(request, f"Journey “{journey.name}” deleted. Its events are kept.")
    return redirect("journeys:list", tenant_slug=tenant_slug)


@tenant_view(Perm.JOURNEYS_EDIT)
def tracking_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """How to send events (API, snippet) and the latest events received."""
    tenant = request.tenant
    endpoint = request.build_absolute_uri(
        reverse("api-journeys:event-list", kwargs={"tenant_slug": tenant.slug})
    )
    keys = [k for k in api_key_list(tenant=tenant) if k.is_active and "ingest:events" in k.scopes]
    context = {
        "endpoint": endpoint,
        # The unhashed name: tenant sites keep one URL across our deploys.
        "snippet_url": request.build_absolute_uri(f"/{settings.STATIC_URL.strip('/')}/js/track.js"),
        "keys": keys,
        "can_manage_keys": _can(request, Perm.APIKEYS_MANAGE),
        "events": list(selectors.event_list(tenant=tenant)[:25]),
        "event_names": selectors.event_names_recent(tenant=tenant),
    }
    return render(request, "journeys/tracking.html", context)
