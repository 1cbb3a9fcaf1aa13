"""Pages: the survey settings of a tenant (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from empathy_metrics.forms import SurveySettingsForm
from empathy_metrics.selectors.settings import survey_settings_get
from empathy_metrics.services_nps import survey_settings_update
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm


def _errors_into(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            if field == "extra_questions":
                target = "extra_1_text"
            form.add_error(target, errors)
    else:
        form.add_error(None, error)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_http_methods(["GET", "POST"])
def survey_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    current = survey_settings_get(tenant=request.tenant)
    if request.method == "POST":
        form = SurveySettingsForm(request.POST)
        if form.is_valid():
            try:
                survey_settings_update(
                    tenant=request.tenant, actor=request.user, **form.settings_values()
                )
            except ValidationError as error:
                _errors_into(form, error)
            else:
                messages.success(request, "Survey settings saved.")
                return redirect("metrics:survey-settings", tenant_slug=tenant_slug)
    else:
        form = SurveySettingsForm(initial=SurveySettingsForm.initial_from(current))
    extra_rows = [(form[f"extra_{slot}_text"], form[f"extra_{slot}_kind"]) for slot in range(1, 4)]
    return render(
        request,
        "empathy_metrics/survey_settings.html",
        {"form": form, "extra_rows": extra_rows, "current": current},
        status=400 if form.errors else 200,
    )
