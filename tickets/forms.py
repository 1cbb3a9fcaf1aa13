"""Forms of the agent workspace pages."""

from __future__ import annotations

from django import forms

from tickets.models import Priority, Status

STATUS_AFTER_REPLY = [
    ("", "Keep status"),
    *[(s, f"Set {label.lower()}") for s, label in Status.choices if s != "new"],
]


class ReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), max_length=100_000, strip=False
    )
    internal = forms.BooleanField(required=False, label="Internal note")
    set_status = forms.ChoiceField(choices=STATUS_AFTER_REPLY, required=False, label="Then")
    macro = forms.UUIDField(required=False, widget=forms.HiddenInput)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False, help_text="A member's user id; empty to unassign.")

    def clean_assignee(self) -> int | None:
        value = self.cleaned_data["assignee"].strip()
        if not value:
            return None
        if not value.isdigit():
            raise forms.ValidationError("Choose a member.")
        return int(value)


class EscalateForm(forms.Form):
    group = forms.IntegerField()
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class DeescalateForm(forms.Form):
    group = forms.IntegerField()
    reason = forms.CharField(max_length=500, required=False)


class TagsForm(forms.Form):
    add = forms.CharField(max_length=200, required=False, help_text="Comma-separated")
    remove = forms.CharField(max_length=50, required=False)

    def clean_add(self) -> list[str]:
        return [t for t in (part.strip() for part in self.cleaned_data["add"].split(",")) if t]


class MergeForm(forms.Form):
    target = forms.IntegerField(min_value=1, label="Merge into ticket number")


class BulkForm(forms.Form):
    tickets = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(
        choices=[
            ("assign", "Assign"),
            ("status", "Set status"),
            ("priority", "Set priority"),
            ("tag", "Add tag"),
            ("close", "Close"),
        ]
    )
    value = forms.CharField(required=False, max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        self.fields["tickets"].choices = [(n, n) for n in numbers if str(n).isdigit()]


class SaveViewForm(forms.Form):
    name = forms.CharField(max_length=80)
    shared = forms.BooleanField(required=False, label="Share with the team")


class CustomerEditForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=40, required=False)
    company = forms.CharField(max_length=200, required=False)
    tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated")
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=10_000
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]
