"""Forms of the metrics and survey pages (input only; the services validate the rules)."""

from __future__ import annotations

from django import forms

from empathy_metrics.models import SurveySettings

EXTRA_SLOTS = 3


class SurveySettingsForm(forms.Form):
    csat_question = forms.CharField(label="CSAT question", max_length=200)
    csat_scale = forms.ChoiceField(
        label="Look of the 1\u20135 scale",
        choices=SurveySettings.Scale.choices,
        widget=forms.RadioSelect,
        help_text="Every look shows all five steps, evenly spaced, with nothing pre-selected.",
    )
    csat_auto_send = forms.BooleanField(
        label="Ask for CSAT automatically when a ticket is solved",
        required=False,
        help_text="Off: agents send the CSAT survey by hand from the ticket.",
    )
    nps_question = forms.CharField(label="NPS question", max_length=200)
    nps_first_after_days = forms.IntegerField(
        label="First NPS survey, days after a customer's first ticket", min_value=0, max_value=3650
    )
    nps_interval_days = forms.IntegerField(
        label="Ask the same customer again after at least (days)", min_value=1, max_value=3650
    )
    reminder_after_hours = forms.IntegerField(
        label="Remind once after (hours)",
        min_value=1,
        max_value=24 * 14,
        required=False,
        help_text="Leave empty to send no reminder.",
    )
    active_days = forms.IntegerField(
        label="A customer is active with a contact in the last (days)",
        min_value=1,
        max_value=730,
        help_text="Used by the retention rate. Changing it recomputes the figures.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for slot in range(1, EXTRA_SLOTS + 1):
            self.fields[f"extra_{slot}_text"] = forms.CharField(
                label=f"Extra question {slot}", max_length=200, required=False
            )
            self.fields[f"extra_{slot}_kind"] = forms.ChoiceField(
                label=f"Answer to question {slot}",
                choices=[("rating", "Rating 1\u20135"), ("text", "Free text")],
                required=False,
            )
        for field in self.fields.values():
            if isinstance(field.widget, forms.TextInput | forms.NumberInput | forms.Select):
                field.widget.attrs.setdefault("class", "input")

    @classmethod
    def initial_from(cls, settings_row: SurveySettings) -> dict:
        initial = {
            name: getattr(settings_row, name)
            for name in (
                "csat_question",
                "csat_scale",
                "csat_auto_send",
                "nps_question",
                "nps_first_after_days",
                "nps_interval_days",
                "reminder_after_hours",
                "active_days",
            )
        }
        for slot, question in enumerate(settings_row.extra_questions or [], start=1):
            initial[f"extra_{slot}_text"] = question.get("text", "")
            initial[f"extra_{slot}_kind"] = question.get("kind", "rating")
        return initial

    def settings_values(self) -> dict:
        data = dict(self.cleaned_data)
        questions = []
        for slot in range(1, EXTRA_SLOTS + 1):
            text = data.pop(f"extra_{slot}_text", "").strip()
            kind = data.pop(f"extra_{slot}_kind", "") or "rating"
            if text:
                questions.append({"text": text, "kind": kind})
        data["extra_questions"] = questions
        return data


class NpsAnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in range(11)], coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label="What is the main reason for your score?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "input"}),
    )

    def __init__(self, *args, extra_questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_questions = list(extra_questions)
        for question in self.extra_questions:
            name = f"extra_{question['id']}"
            if question.get("kind") == "rating":
                self.fields[name] = forms.TypedChoiceField(
                    label=question["text"],
                    choices=[(str(n), str(n)) for n in range(1, 6)],
                    coerce=int,
                    required=False,
                    widget=forms.RadioSelect,
                )
            else:
                self.fields[name] = forms.CharField(
                    label=question["text"],
                    required=False,
                    max_length=2000,
                    widget=forms.Textarea(attrs={"rows": 2, "class": "input"}),
                )

    def extra_answers(self) -> dict:
        return {
            question["id"]: self.cleaned_data.get(f"extra_{question['id']}")
            for question in self.extra_questions
        }

    def extra_fields(self):
        return [self[f"extra_{question['id']}"] for question in self.extra_questions]


class CsatAnswerForm(NpsAnswerForm):
    """The emailed CSAT survey: 1-5 (pre-selected from the link), an optional comment, and the
    tenant's extra questions."""

    score = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in range(1, 6)], coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label="Anything you would like to add?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "input"}),
    )


class CsatDetailsForm(CsatAnswerForm):
    """What the customer may add after the one-click rating: the comment and the extra questions
    (the score is already saved and never changes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["score"]


class FeedbackForm(forms.Form):
    body = forms.CharField(
        label="Your feedback",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6, "class": "input"}),
    )
    email = forms.EmailField(
        label="Your email address",
        required=False,
        help_text="Only if you would like an answer.",
        widget=forms.EmailInput(attrs={"class": "input", "autocomplete": "email"}),
    )
    website = forms.CharField(required=False, widget=forms.HiddenInput)  # honeypot


class DigestSubscriptionForm(forms.Form):
    weekly = forms.BooleanField(required=False)
