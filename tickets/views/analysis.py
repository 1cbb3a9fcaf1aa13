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
    PRESENT_AT,
    SENTIMENT_LABELS,
    SIGNAL_VALUES,
    analysis_correct,
    analysis_settings_update,
    triage_rules_install_defaults,
)
from tickets.services.triage_rules import (
    triage_rule_create,
    triage_rule_delete,
    triage_rule_move,
    triage_rule_update,
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
    when = " and ".join(parts) or "never (no condition)"
    if conditions.get("signals") and conditions.get("min_score"):
        when += f" (signal score at least {conditions['min_score']:g})"
    return when


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


class TriageRuleForm(forms.Form):
    """One rule: when (sentiment and/or signals) and then (priority, tags, notify)."""

    name = forms.CharField(label="Name", max_length=100)
    sentiment = forms.ChoiceField(
        label="Sentiment",
        required=False,
        choices=[("", "Any sentiment"), *((label, label.title()) for label in SENTIMENT_LABELS)],
    )
    signals = forms.MultipleChoiceField(
        label="Signals present (all of them)",
        required=False,
        choices=[(name, _signal_label(name)) for name in SIGNALS],
        widget=forms.CheckboxSelectMultiple,
    )
    min_score = forms.CharField(
        label="Minimum signal score",
        required=False,
        max_length=10,
        widget=forms.NumberInput(attrs={"min": PRESENT_AT, "max": 1, "step": 0.05}),
        help_text=f"From {PRESENT_AT} (the signal is present) to 1 (very strong). "
        "Only with signals.",
    )
    set_priority = forms.ChoiceField(
        label="Raise the priority to",
        required=False,
        choices=[("", "Leave it"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")],
        help_text="A rule only ever raises a priority, never lowers it.",
    )
    add_tags = forms.CharField(
        label="Add tags",
        required=False,
        max_length=600,
        help_text="Separated by commas, e.g. needs-clarity, billing.",
    )
    notify = forms.ChoiceField(
        label="Notify",
        required=False,
        choices=[("", "Nobody"), ("managers", "The managers"), ("admins", "The admins")],
    )
    is_active = forms.BooleanField(label="On", required=False, initial=True)

    # where a service error about a key of the rule is shown
    ERROR_FIELDS = {
        "name": "name",
        "sentiment": "sentiment",
        "signals": "signals",
        "min_score": "min_score",
        "set_priority": "set_priority",
        "add_tags": "add_tags",
        "notify": "notify",
    }

    @classmethod
    def initial_for(cls, rule) -> dict:
        conditions, actions = rule.conditions or {}, rule.actions or {}
        return {
            "name": rule.name,
            "sentiment": conditions.get("sentiment", ""),
            "signals": conditions.get("signals", []),
            "min_score": conditions.get("min_score", ""),
            "set_priority": actions.get("set_priority", ""),
            "add_tags": ", ".join(actions.get("add_tags") or []),
            "notify": actions.get("notify", ""),
            "is_active": rule.is_active,
        }

    def rule_values(self) -> dict:
        data = self.cleaned_data
        conditions = {"sentiment": data["sentiment"], "signals": data["signals"]}
        if data["min_score"].strip():
            conditions["min_score"] = data["min_score"].strip()
        actions = {
            "set_priority": data["set_priority"],
            "add_tags": [t for t in data["add_tags"].split(",") if t.strip()],
            "notify": data["notify"],
        }
        return {
            "name": data["name"],
            "conditions": conditions,
            "actions": actions,
            "is_active": data["is_active"],
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, errors in exc.message_dict.items():
            self.add_error(self.ERROR_FIELDS.get(key), errors)


class TriageRuleMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


def _settings_context(
    request: HttpRequest,
    words_form: AnalysisWordsForm | None = None,
    rule_form: TriageRuleForm | None = None,
    editing=None,
) -> dict:
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
    if rule_form is None:
        rule_form = TriageRuleForm(
            initial=TriageRuleForm.initial_for(editing) if editing is not None else None
        )
    return {
        "words_form": words_form,
        "rule_form": rule_form,
        "editing": editing,
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
    rule = triage_rule_update(
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


def _rule_or_404(request: HttpRequest, rule_id: int):
    from tickets.selectors_analysis import triage_rule_get

    with tenant_context(request.tenant):
        rule = triage_rule_get(tenant=request.tenant, rule_id=rule_id)
    if rule is None:
        raise Http404("Not found.")
    return rule


def _settings_url(tenant_slug: str, anchor: str = "triage-rules") -> str:
    from django.urls import reverse

    return reverse("tickets:analysis-settings", kwargs={"tenant_slug": tenant_slug}) + f"#{anchor}"


def _render_rule_form(request: HttpRequest, form: TriageRuleForm, editing=None) -> HttpResponse:
    status = 400 if form.errors else 200
    context = _settings_context(request, rule_form=form, editing=editing)
    return render(request, "tickets/analysis_settings.html", context, status=status)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def triage_rule_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Create a rule from the form under the rule list; errors come back on the same page."""
    form = TriageRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = triage_rule_create(
                tenant=request.tenant, actor=request.user, **form.rule_values()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Rule “{rule.name}” added.")
            return redirect(_settings_url(tenant_slug, f"rule-{rule.pk}"))
    return _render_rule_form(request, form)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_http_methods(["GET", "POST"])
def triage_rule_edit(request: HttpRequest, tenant_slug: str, rule_id: int) -> HttpResponse:
    """The settings page with the rule's form filled in; POST saves it."""
    rule = _rule_or_404(request, rule_id)
    if request.method == "GET":
        form = TriageRuleForm(initial=TriageRuleForm.initial_for(rule))
        form.fields["name"].widget.attrs["autofocus"] = True
        return _render_rule_form(request, form, editing=rule)
    form = TriageRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = triage_rule_update(
                tenant=request.tenant, actor=request.user, rule=rule, **form.rule_values()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Rule “{rule.name}” saved.")
            return redirect(_settings_url(tenant_slug, f"rule-{rule.pk}"))
    return _render_rule_form(request, form, editing=rule)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def triage_rule_remove(request: HttpRequest, tenant_slug: str, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    triage_rule_delete(tenant=request.tenant, actor=request.user, rule=rule)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect(_settings_url(tenant_slug))


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def triage_rule_reposition(request: HttpRequest, tenant_slug: str, rule_id: int) -> HttpResponse:
    """Move a rule one step up (runs earlier) or down."""
    rule = _rule_or_404(request, rule_id)
    form = TriageRuleMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Move a rule up or down.")
        return redirect(_settings_url(tenant_slug))
    triage_rule_move(
        tenant=request.tenant,
        actor=request.user,
        rule=rule,
        direction=form.cleaned_data["direction"],
    )
    return redirect(_settings_url(tenant_slug, f"rule-{rule.pk}"))
