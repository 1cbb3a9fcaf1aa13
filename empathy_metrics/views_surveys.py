"""Public pages: the NPS and CSAT surveys behind the emailed links, and feedback from the help
page.

No login: the survey link's signed token binds the tenant and the survey request; the feedback
form names its helpdesk in the path. No page shows any of the tenant's data beyond the subject
of the customer's own ticket.

The score in an emailed link (``?score=4``) is pre-selected, not saved: mail scanners open links
before people do, and the first CSAT answer of a resolution is final. One click opens the page
with the score chosen, the comment is optional, and "Send" saves.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from empathy_metrics.forms import CsatAnswerForm, CsatDetailsForm, FeedbackForm, NpsAnswerForm
from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse
from empathy_metrics.selectors.settings import survey_settings_get
from empathy_metrics.services import (
    csat_details_open,
    csat_response_add_details,
    csat_response_submit,
)
from empathy_metrics.services_nps import feedback_submit, nps_response_submit, survey_token_read
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.selectors import tenant_get_by_slug

INVALID_LINK = "This survey link is not valid or has expired."
CLOSED_CSAT = (
    "This survey is closed: the request was reopened since. You will be asked again once it is "
    "resolved."
)


def _survey_request(token: str) -> tuple[Tenant, SurveyRequest]:
    found = survey_token_read(token)
    if found is None:
        raise Http404(INVALID_LINK)
    tenant_id, public_id = found
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404(INVALID_LINK)
    with tenant_context(tenant):
        survey_request = (
            SurveyRequest.objects.for_tenant(tenant)
            .filter(public_id=public_id, kind__in=(SurveyKind.NPS, SurveyKind.CSAT))
            .select_related("customer", "ticket")
            .first()
        )
    if survey_request is None:
        raise Http404(INVALID_LINK)
    return tenant, survey_request


def _form_errors_from(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            name = field if field in form.fields else f"extra_{field}"
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
def nps_answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        tenant, survey_request = _survey_request(token)
    except Http404:
        return render(
            request, "empathy_metrics/survey_invalid.html", {"message": INVALID_LINK}, status=404
        )
    if survey_request.kind == SurveyKind.CSAT:
        return _csat_answer(request, tenant, survey_request)
    config = survey_settings_get(tenant=tenant)
    with tenant_context(tenant):
        existing = (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(request=survey_request, kind=SurveyKind.NPS)
            .first()
        )
    questions = config.extra_questions or []
    saved = False
    if request.method == "POST":
        form = NpsAnswerForm(request.POST, extra_questions=questions)
        if form.is_valid():
            try:
                existing = nps_response_submit(
                    tenant=tenant,
                    survey_request=survey_request,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    extra_answers=form.extra_answers(),
                )
            except ValidationError as error:
                _form_errors_from(form, error)
            else:
                saved = True
    else:
        initial = {}
        if existing is not None:
            initial = {"score": str(existing.score), "comment": existing.comment}
            for qid, value in (existing.extra_answers or {}).items():
                if not qid.startswith("_"):
                    initial[f"extra_{qid}"] = value
        raw = (request.GET.get("score") or "").strip()
        if raw.isdigit() and 0 <= int(raw) <= 10:
            initial["score"] = raw
        form = NpsAnswerForm(initial=initial, extra_questions=questions)
    context = {
        "tenant_name": tenant.name,
        "brand_color": tenant.brand_color,
        "question": config.nps_question,
        "form": form,
        "saved": saved,
        "answered": existing is not None,
        "scale": [str(n) for n in range(11)],
    }
    return render(
        request, "empathy_metrics/nps_survey.html", context, status=400 if form.errors else 200
    )


def _preselected_score(request: HttpRequest, scores: range) -> str | None:
    raw = (request.GET.get("score") or "").strip()
    return raw if raw.isdigit() and int(raw) in scores else None


def _csat_answer(
    request: HttpRequest, tenant: Tenant, survey_request: SurveyRequest
) -> HttpResponse:
    """The emailed CSAT survey of one ticket resolution (the first answer is final)."""
    config = survey_settings_get(tenant=tenant)
    questions = config.extra_questions or []
    ticket = survey_request.ticket
    with tenant_context(tenant):
        existing = (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(kind=SurveyKind.CSAT, ticket=ticket, resolution=survey_request.resolution)
            .first()
        )
    context = {
        "tenant_name": tenant.name,
        "brand_color": tenant.brand_color,
        "reference": f"{tenant.reference_prefix}-{ticket.number}" if ticket else "",
        "subject": ticket.subject if ticket else "",
        "question": config.csat_question,
        "scale": config.csat_scale,
        "answer": existing,
    }
    if existing is not None:
        return _csat_details(request, tenant, existing, questions, context)
    if ticket is None or ticket.reopen_count != survey_request.resolution:
        return render(
            request, "empathy_metrics/survey_invalid.html", {"message": CLOSED_CSAT}, status=410
        )
    if request.method == "POST":
        form = CsatAnswerForm(request.POST, extra_questions=questions)
        if form.is_valid():
            try:
                result = csat_response_submit(
                    tenant=tenant,
                    ticket=ticket,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    channel="email",
                    extra_answers=form.extra_answers(),
                )
            except ValidationError as error:
                _form_errors_from(form, error)
            else:
                context["answer"] = result.response
                context["saved"] = True
                context["details_form"] = CsatDetailsForm(extra_questions=questions)
                return render(request, "empathy_metrics/csat_survey.html", context)
    else:
        initial = {}
        score = _preselected_score(request, range(1, 6))
        if score is not None:
            initial["score"] = score
            # One click: the score chosen in the email is sent by the page's script at once
            # (static/js/csat_autosubmit.js). Mail scanners that open links run no scripts, so
            # their visit records nothing; without scripts the customer presses "Send".
            context["autosubmit"] = True
        form = CsatAnswerForm(initial=initial, extra_questions=questions)
    context["form"] = form
    return render(
        request, "empathy_metrics/csat_survey.html", context, status=400 if form.errors else 200
    )


def _csat_details(
    request: HttpRequest, tenant: Tenant, answer: SurveyResponse, questions: list, context: dict
) -> HttpResponse:
    """After the rating: thanks, and once, the optional comment and extra questions."""
    open_for_details = csat_details_open(answer)
    context["answer"] = answer
    if request.method == "POST" and request.POST.get("details") == "1" and open_for_details:
        form = CsatDetailsForm(request.POST, extra_questions=questions)
        if form.is_valid():
            try:
                answer = csat_response_add_details(
                    tenant=tenant,
                    response=answer,
                    comment=form.cleaned_data["comment"],
                    extra_answers=form.extra_answers(),
                )
            except ValidationError as error:
                _form_errors_from(form, error)
            else:
                context.update(answer=answer, saved=True, details_saved=True)
                return render(request, "empathy_metrics/csat_survey.html", context)
        context["details_form"] = form
        return render(request, "empathy_metrics/csat_survey.html", context, status=400)
    if open_for_details:
        context["details_form"] = CsatDetailsForm(extra_questions=questions)
    return render(request, "empathy_metrics/csat_survey.html", context)


@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, helpdesk: str) -> HttpResponse:
    tenant = tenant_get_by_slug(slug=helpdesk)
    if tenant is None:
        raise Http404("No such helpdesk")
    sent = False
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["website"]:
                sent = True  # a bot filled the honeypot: pretend it worked
            else:
                try:
                    feedback_submit(
                        tenant=tenant,
                        body=form.cleaned_data["body"],
                        email=form.cleaned_data["email"],
                        page=request.META.get("HTTP_REFERER", "")[:300],
                    )
                except ValidationError as error:
                    _form_errors_from(form, error)
                else:
                    sent = True
                    form = FeedbackForm()
    else:
        form = FeedbackForm()
    return render(
        request,
        "empathy_metrics/feedback.html",
        {"form": form, "sent": sent, "tenant_name": tenant.name},
        status=400 if form.errors else 200,
    )
