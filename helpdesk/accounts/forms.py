from django import forms
from django.contrib.auth.forms import AuthenticationForm

from helpdesk.accounts.throttle import login_blocked, login_failed, login_succeeded
from helpdesk.tenancy.audit import client_ip


class EmailAuthenticationForm(AuthenticationForm):
    """Email sign-in, throttled after repeated failures (see helpdesk/accounts/throttle.py)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins. Wait 15 minutes, or reset your password.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        email = (self.cleaned_data.get("username") or "").lower()
        ip = client_ip(self.request)
        if email and login_blocked(email=email, ip=ip):
            self.throttled = True
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if email:
                login_failed(email=email, ip=ip)
            raise
        login_succeeded(email=email, ip=ip)
        return cleaned


class TwoFactorCodeForm(forms.Form):
    """A code from the authenticator app, or one of the recovery codes."""

    token = forms.CharField(
        label="Code",
        max_length=20,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the 6-digit code from your app, or a recovery code."},
    )
