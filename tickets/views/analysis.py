"""The one-click correction of a message's analysis (sentiment or a signal) from the ticket page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets.models import SIGNALS
from tickets.selectors_analysis import message_get
from tickets.services.analysis import SENTIMENT_LABELS, SIGNAL_VALUES, analysis_correct


class CorrectionForm(forms.Form):
    field = forms.ChoiceField(choices=[(f, f) for f in ("sentiment", *SIGNALS)])
    value = forms.ChoiceField(choices=[(v, v) for v in (*SENTIMENT_LABELS, *SIGNAL_VALUES)])


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@tenant_view(Perm.TICKETS_WORK)
@require_POST
def message_correct(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    """POST field=sentiment|<signal>, value=<label>|present|absent. Back to the ticket page."""
    message = message_get(tenant=request.tenant, public_id=public_id)
    if message is None or message.author_type != "customer":
        raise Http404("Not found.")
    form = CorrectionForm(request.POST)
    error = ""
    correction = None
    if not form.is_valid():
        error = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
    else:
        try:
            with tenant_context(request.tenant):
                correction = analysis_correct(
                    tenant=request.tenant,
                    actor=request.user,
                    message=message,
                    field=form.cleaned_data["field"],
                    corrected=form.cleaned_data["value"],
                )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if _wants_json(request):
        if error:
            return JsonResponse({"error": error}, status=400)
        return JsonResponse(
            {
                "field": form.cleaned_data["field"],
                "corrected": correction.corrected if correction else None,
                "predicted": correction.predicted if correction else None,
            }
        )
    if error:
        messages.error(request, f"Correction not saved: {error}")
    else:
        messages.success(
            request, "Correction saved." if correction else "Back to the analyser's reading."
        )
    return redirect("tickets:ticket-page", tenant_slug=tenant_slug, number=message.ticket.number)
