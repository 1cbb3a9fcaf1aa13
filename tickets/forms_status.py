"""Forms of the customer's status page, the portal sign-in and the staff link controls."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class StatusReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10_000,
        error_messages={"required": _("Write a message first.")},
    )


class PortalLoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )


class StatusLinkExpiryForm(forms.Form):
    """Staff: when the current link stops working (in days from now; empty: never)."""

    days = forms.IntegerField(
        label=_("Expires in (days)"), required=False, min_value=0, max_value=3650
    )
