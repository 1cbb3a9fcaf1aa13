"""Tenants that require two-factor sign-in keep members without a verified session out."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from helpdesk.accounts.two_factor import two_factor_enabled

REQUIRED_MESSAGE = (
    "This helpdesk requires two-factor sign-in. Set it up on your account's two-factor page "
    "(/accounts/two-factor/), then sign in again."
)


class TwoFactorRequiredMiddleware:
    """After ``TenantMiddleware`` and django-otp's ``OTPMiddleware``: a member of a tenant with
    ``require_two_factor`` whose session is not verified with a code gets a 403 from the API and
    is sent to set up (or enter) a code from pages. Customer-facing pages (help centre, portal)
    stay open; API keys and tokens are separate credentials and are not affected."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        tenant = getattr(request, "tenant", None)
        if tenant is None or not tenant.require_two_factor:
            return None
        if getattr(request, "membership", None) is None:
            return None  # anonymous or not a member: the view answers as usual
        if getattr(view_func, "customer_facing", False):
            return None
        user = request.user
        if user.is_verified():
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse({"message": REQUIRED_MESSAGE}, status=403)
        query = urlencode({"next": request.get_full_path()})
        if two_factor_enabled(user=user):
            return redirect(f"{reverse('accounts:two-factor-verify')}?{query}")
        return redirect(f"{reverse('accounts:two-factor')}?{query}")
