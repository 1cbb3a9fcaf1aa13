from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib.auth.password_validation import validate_password

from helpdesk.tenancy.models import RESERVED_SLUGS, ApiKey
from helpdesk.tenancy.policy import Role

TIME_ZONE_CHOICES = [
    (tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"
]


class SignupForm(forms.Form):
    name = forms.CharField(
        label="Team or company name",
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    slug = forms.SlugField(
        label="Helpdesk address",
        max_length=50,
        help_text="Lower-case letters, digits and hyphens: your helpdesk lives at /t/<address>/.",
    )
    full_name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="Work email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), min_length=8
    )
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")
    website = forms.CharField(required=False, widget=forms.HiddenInput)  # honeypot

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError("This address is reserved; choose another.")
        return slug

    def clean(self):
        data = super().clean()
        if data.get("password"):
            try:
                validate_password(data["password"])
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class TenantSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)
    brand_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": "Use a hex colour such as #4f46e5."},
    )
    require_two_factor = forms.BooleanField(required=False)


class MemberAddForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    full_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80)
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple
    )
