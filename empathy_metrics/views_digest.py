"""Pages: the weekly digest (the same as the email) and the opt-in for the email."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from empathy_metrics.forms import DigestSubscriptionForm
from empathy_metrics.models import DigestSubscription
from empathy_metrics.periods import week_start
from empathy_metrics.selectors.digest import digest_data, digest_week_for
from empathy_metrics.services_digest import digest_subscription_set
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm


@tenant_view(Perm.DASHBOARDS_VIEW)
def digest_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    latest = digest_week_for(tenant=tenant, now=timezone.now())
    monday, error = latest, ""
    raw = (request.GET.get("week") or "").strip()
    if raw:
        try:
            monday = week_start(date.fromisoformat(raw))
        except ValueError:
            error = "The week must be a date like 2026-03-02."
        else:
            if monday > latest:
                error = "That week is not over yet."
                monday = latest
    with tenant_context(tenant):
        subscription = (
            DigestSubscription.objects.for_tenant(tenant).filter(user=request.user).first()
        )
    context = {
        "digest": digest_data(tenant=tenant, monday=monday),
        "subscribed": bool(subscription and subscription.weekly),
        "error": error,
        "latest": latest,
        "newer": None if monday >= latest else monday + timedelta(days=7),
        "older": monday - timedelta(days=7),
    }
    return render(request, "empathy_metrics/digest.html", context, status=400 if error else 200)


@tenant_view(Perm.DASHBOARDS_VIEW)
@require_POST
def digest_subscription(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = DigestSubscriptionForm(request.POST)
    form.is_valid()
    weekly = bool(form.cleaned_data.get("weekly"))
    try:
        digest_subscription_set(tenant=request.tenant, user=request.user, weekly=weekly)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "You will get the digest every Monday morning."
            if weekly
            else "You will no longer get the weekly digest.",
        )
    return redirect(reverse("metrics:digest", kwargs={"tenant_slug": tenant_slug}))
