"""The one-click correction of a message's analysis (sentiment or a signal) from the ticket page,
and the tenant's analysis settings page (keyphrase words, triage rules)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets.models import SIGNALS
from tickets.selectors_analysis import message_get
from tickets.services.analysis import (
    DEFAULT_TRIAGE_RULES,
    SENTIMENT_LABELS,
    SIGNAL_VALUES,
    analysis_correct,
    analysis_settings_update,
    triage_rule_set_active,
    triage_rules_install_defaults,
)


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


# --- The tenant's analysis settings: keyphrase words and triage rules ----------------------


def _split_words(value: str) -> list[str]:
    """One entry per line or comma: "Acme Cloud, Acme Sync" or one per line."""
    return [part.strip() for part in value.replace(",", "\n").splitlines() if part.strip()]


class AnalysisWordsForm(forms.Form):
    product_words = forms.CharField(
        label="Your product words",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Your product and brand names, one per line or separated by commas. They are "
        "left out of the keyphrases, so complaints group by theme, not by product name.",
    )
    stop_words = forms.CharField(
        label="More stop words",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Other words that should never count as a keyphrase (greetings, team names).",
    )


class TriageRuleToggleForm(forms.Form):
    rule = forms.IntegerField(min_value=1)
    active = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")


def _signal_label(name: str) -> str:
    return name.replace("_", " ")


def _rule_when(rule) -> str:
    conditions = rule.conditions or {}
    parts = []
    if conditions.get("sentiment"):
        parts.append(f"{conditions['sentiment']} sentiment")
    parts += [_signal_label(n) for n in conditions.get("signals") or []]
    return " and ".join(parts) or "never (no condition)"


def _rule_then(rule) -> str:
    actions = rule.actions or {}
    parts = []
    if actions.get("set_priority"):
        parts.append(f"raise the priority to {actions['set_priority']}")
    if actions.get("add_tags"):
        parts.append("add the tag " + ", ".join(f"“{t}”" for t in actions["add_tags"]))
    if actions.get("notify"):
        parts.append(f"notify the {actions['notify']}")
    return "; ".join(parts) or "nothing"


def _settings_context(request: HttpRequest, words_form: AnalysisWordsForm | None = None) -> dict:
    from tickets.selectors_analysis import analysis_settings_get, triage_rule_list

    tenant = request.tenant
    with tenant_context(tenant):
        settings = analysis_settings_get(tenant=tenant)
        rules = triage_rule_list(tenant=tenant)
    if words_form is None:
        words_form = AnalysisWordsForm(
            initial={
                "product_words": "\n".join(settings.product_words if settings else []),
                "stop_words": "\n".join(settings.stop_words if settings else []),
            }
        )
    return {
        "words_form": words_form,
        "rules": [{"rule": r, "when": _rule_when(r), "then": _rule_then(r)} for r in rules],
        "missing_defaults": len(DEFAULT_TRIAGE_RULES)
        - len({r.name for r in rules} & {spec["name"] for spec in DEFAULT_TRIAGE_RULES}),
    }


@tenant_view(Perm.SETTINGS_MANAGE)
@require_http_methods(["GET", "POST"])
def analysis_settings_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Admins: the words left out of keyphrases, and which triage rules run."""
    form = None
    if request.method == "POST":
        form = AnalysisWordsForm(request.POST)
        if form.is_valid():
            try:
                analysis_settings_update(
                    tenant=request.tenant,
                    actor=request.user,
                    product_words=_split_words(form.cleaned_data["product_words"]),
                    stop_words=_split_words(form.cleaned_data["stop_words"]),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    "Saved. New messages use these words; re-analyse to apply them to older ones.",
                )
                return redirect("tickets:analysis-settings", tenant_slug=tenant_slug)
    status = 400 if form is not None and form.errors else 200
    return render(
        request, "tickets/analysis_settings.html", _settings_context(request, form), status=status
    )


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def triage_rule_toggle(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    from tickets.selectors_analysis import triage_rule_get

    form = TriageRuleToggleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a rule and whether it is on or off.")
        return redirect("tickets:analysis-settings", tenant_slug=tenant_slug)
    with tenant_context(request.tenant):
        rule = triage_rule_get(tenant=request.tenant, rule_id=form.cleaned_data["rule"])
    if rule is None:
        raise Http404("Not found.")
    triage_rule_set_active(
        tenant=request.tenant, actor=request.user, rule=rule, is_active=form.cleaned_data["active"]
    )
    messages.success(request, f"“{rule.name}” is {'on' if rule.is_active else 'off'}.")
    return redirect("tickets:analysis-settings", tenant_slug=tenant_slug)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def triage_rules_defaults(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    created = triage_rules_install_defaults(tenant=request.tenant)
    messages.success(
        request, f"{created} default rule(s) added." if created else "The default rules are there."
    )
    return redirect("tickets:analysis-settings", tenant_slug=tenant_slug)
