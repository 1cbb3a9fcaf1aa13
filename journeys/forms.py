"""Forms of the journey pages and the funnel filters (shared by the pages and the API)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from helpdesk.tenancy.models import Tenant
from journeys.models import MAX_STAGES
from journeys.selectors.funnels import BREAKDOWNS, Period, period_between, period_last_days
from journeys.services.definitions import MAX_DROPPED_DAYS, MAX_STUCK_HOURS, StageSpec

PERIOD_CHOICES = [("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("180", "180 days")]
MAX_RANGE_DAYS = 366


class FunnelFilterForm(forms.Form):
    days = forms.TypedChoiceField(choices=PERIOD_CHOICES, coerce=int, required=False)
    start = forms.DateField(required=False, label="From")
    end = forms.DateField(required=False, label="To")
    by = forms.ChoiceField(
        choices=[("", "No breakdown"), *BREAKDOWNS.items()], required=False, label="Break down by"
    )
    stage = forms.IntegerField(required=False, min_value=0, max_value=MAX_STAGES - 1)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None):
            raise forms.ValidationError("Give both dates of the range, or pick a preset.")
        if start and end:
            if start > end:
                raise forms.ValidationError("The range starts after it ends.")
            if (end - start).days + 1 > MAX_RANGE_DAYS:
                raise forms.ValidationError(f"Pick at most {MAX_RANGE_DAYS} days.")
            if start < date(2000, 1, 1):
                raise forms.ValidationError("Pick a range after the year 2000.")
            if start > timezone.localdate():
                raise forms.ValidationError("The range starts in the future.")
        return data

    def period(self, tenant: Tenant) -> Period:
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("start") and data.get("end"):
            return period_between(start=data["start"], end=data["end"], tz=tenant.time_zone)
        return period_last_days(days=data.get("days") or 30)

    def first_error(self) -> str:
        for errors in self.errors.values():
            return f"{errors[0]}"
        return ""


class JourneyForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    is_active = forms.BooleanField(
        required=False, initial=True, label="Track this journey (update positions as events come)"
    )
    stuck_after_hours = forms.IntegerField(
        min_value=1,
        max_value=MAX_STUCK_HOURS,
        initial=72,
        label="Stuck after (hours)",
        help_text="A customer with no progress at a stage for this long is stuck.",
    )
    dropped_after_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DROPPED_DAYS,
        initial=14,
        label="Dropped after (days)",
        help_text="No progress for this long: dropped. Their next visit to the first stage "
        "starts a new run.",
    )


class StageForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, label="Stage")
    event_names = forms.CharField(
        max_length=1100,
        required=False,
        label="Events",
        help_text="Event names, separated by commas.",
    )
    stuck_after_hours = forms.IntegerField(
        min_value=1, max_value=MAX_STUCK_HOURS, required=False, label="Stuck after (h)"
    )

    def spec(self) -> StageSpec | None:
        data = self.cleaned_data
        name = (data.get("name") or "").strip()
        events = [e.strip() for e in (data.get("event_names") or "").split(",") if e.strip()]
        if not name and not events:
            return None  # an empty row
        return StageSpec(
            name=name, event_names=tuple(events), stuck_after_hours=data.get("stuck_after_hours")
        )


StageFormSet = forms.formset_factory(
    StageForm, extra=0, max_num=MAX_STAGES, absolute_max=MAX_STAGES
)
