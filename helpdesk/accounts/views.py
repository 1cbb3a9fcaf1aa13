import time
from urllib.parse import urlencode

import django_otp
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_static.models import StaticDevice

from helpdesk.accounts import two_factor
from helpdesk.accounts.forms import EmailAuthenticationForm, TwoFactorCodeForm
from helpdesk.accounts.models import User

# Between a correct password and the code: the user waits here, not yet signed in.
PENDING_KEY = "two_factor_pending"
PENDING_MAX_AGE = 5 * 60


class LoginView(auth_views.LoginView):
    """Email sign-in; a throttled attempt answers 429 with the form and its message. A person
    with two-factor sign-in on is signed in only after the code (``two_factor_verify``)."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
        return response

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.two_factor_enabled(user=user):
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": int(time.time()),
        }
        return redirect("accounts:two-factor-verify")


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _pending_user(request: HttpRequest) -> tuple[User | None, dict]:
    pending = request.session.get(PENDING_KEY) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_MAX_AGE:
        return None, {}
    return User.objects.filter(pk=pending.get("user"), is_active=True).first(), pending


@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in (after the password), or re-verifying a signed-in session that
    a tenant requiring two-factor sign-in sent here."""
    if request.user.is_authenticated:
        user, pending = request.user, {}
        next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
        if user.is_verified():
            return redirect(next_url)
        if not two_factor.two_factor_enabled(user=user):
            return redirect(f"{reverse('accounts:two-factor')}?{urlencode({'next': next_url})}")
    else:
        user, pending = _pending_user(request)
        if user is None:
            request.session.pop(PENDING_KEY, None)
            messages.info(request, "Sign in again: the sign-in took too long.")
            return redirect("accounts:login")
        next_url = _safe_next(request, pending.get("next"))
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.two_factor_verify(user=user, token=form.cleaned_data["token"])
        if device is None:
            form.add_error("token", two_factor.BAD_CODE)
        else:
            if request.user.is_authenticated:
                django_otp.login(request, device)
            else:
                user.otp_device = device  # django-otp marks the new session verified on login
                auth_login(request, user, backend=pending["backend"])
                request.session.pop(PENDING_KEY, None)
            if isinstance(device, StaticDevice):
                left = two_factor.recovery_codes_left(user=user)
                messages.warning(
                    request,
                    f"You used a recovery code: {left} left. Renew them on the two-factor page.",
                )
            return redirect(next_url)
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in on (scan, confirm with a code, keep the recovery codes), renew
    the recovery codes or turn it off."""
    user = request.user
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = TwoFactorCodeForm(request.POST or None)
    action = request.POST.get("action", "")
    if request.method == "POST" and action not in {"confirm", "renew", "disable"}:
        form.add_error(None, "Unknown action.")
    elif request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        try:
            if action == "confirm":
                device, codes = two_factor.totp_enrolment_confirm(
                    user=user, token=token, request=request
                )
                django_otp.login(request, device)
            elif action == "renew":
                codes = two_factor.recovery_codes_renew(user=user, token=token, request=request)
            else:
                two_factor.two_factor_disable(user=user, token=token, request=request)
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("accounts:two-factor")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return render(
                request, "accounts/two_factor_codes.html", {"codes": codes, "next": next_url}
            )
    enabled = two_factor.two_factor_enabled(user=user)
    context = {
        "form": form,
        "enabled": enabled,
        "next": next_url,
        "required_by": two_factor.two_factor_required_by(user=user),
    }
    if enabled:
        context["codes_left"] = two_factor.recovery_codes_left(user=user)
    else:
        context["enrolment"] = two_factor.totp_enrolment_start(user=user)
    return render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The Django admin's sign-in page: ours instead (throttled, and asking for the code of
    two-factor sign-in, which the admin's own form would skip)."""
    next_url = _safe_next(request, request.GET.get("next") or reverse("admin:index"))
    return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")
