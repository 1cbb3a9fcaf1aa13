"""Pages: landing, sign-up, the post-login home, and tenant administration."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy import selectors, services
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.forms import (
    ApiKeyForm,
    MemberAddForm,
    MemberRoleForm,
    SignupForm,
    TenantSettingsForm,
)
from helpdesk.tenancy.models import ApiKey, Membership
from helpdesk.tenancy.policy import Perm


def _form_errors_from(exc: ValidationError, form) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenancy/landing.html", {"form": SignupForm()})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["website"]:
            return redirect("landing")  # a bot filled the honeypot
        data = form.cleaned_data
        try:
            tenant, user = services.tenant_signup(
                name=data["name"],
                slug=data["slug"],
                email=data["email"],
                password=data["password"],
                full_name=data["full_name"],
                time_zone=data["time_zone"],
            )
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! {tenant.name}'s helpdesk is ready.")
            return redirect("tenancy:dashboard", tenant_slug=tenant.slug)
    return render(
        request, "tenancy/signup.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """After login: the only tenant, or a chooser when the person belongs to several."""
    memberships = list(selectors.membership_list_for_user(user=request.user))
    if len(memberships) == 1:
        return redirect("tenancy:dashboard", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenancy/choose_tenant.html", {"memberships": memberships})


@tenant_view(Perm.TICKETS_VIEW)
def dashboard(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """A tenant's start page: where each role begins its day."""
    from django.urls import NoReverseMatch

    for name in ("tickets:queue",):
        try:
            return redirect(reverse(name, kwargs={"tenant_slug": tenant_slug}))
        except NoReverseMatch:
            continue
    raise Http404


@tenant_view(Perm.MEMBERS_MANAGE)
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.membership_add(
                tenant=tenant,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                full_name=form.cleaned_data["full_name"],
            )
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(
                request, f"{membership.user.email} was added as {membership.get_role_display()}."
            )
            return redirect("tenancy:members", tenant_slug=tenant.slug)
    context = {
        "form": form,
        "members": selectors.membership_list(tenant=tenant),
        "role_form": MemberRoleForm(),
    }
    return render(request, "tenancy/members.html", context, status=400 if form.errors else 200)


def _membership_or_404(request: HttpRequest, membership_id: int) -> Membership:
    membership = (
        Membership.objects.filter(tenant=request.tenant, pk=membership_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise Http404("Not found.")
    return membership


@tenant_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_role(request: HttpRequest, tenant_slug: str, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                tenant=request.tenant,
                actor=request.user,
                membership=membership,
                role=form.cleaned_data["role"],
            )
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display()}."
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose a valid role.")
    return redirect("tenancy:members", tenant_slug=tenant_slug)


@tenant_view(Perm.MEMBERS_MANAGE)
@require_POST
def member_remove(request: HttpRequest, tenant_slug: str, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    try:
        services.membership_remove(tenant=request.tenant, actor=request.user, membership=membership)
        messages.success(request, f"{membership.user.email} was removed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("tenancy:members", tenant_slug=tenant_slug)


@tenant_view(Perm.APIKEYS_MANAGE)
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _key, new_key = services.api_key_create(
                tenant=tenant,
                actor=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            form = ApiKeyForm()
    context = {"form": form, "keys": selectors.api_key_list(tenant=tenant), "new_key": new_key}
    return render(request, "tenancy/api_keys.html", context, status=400 if form.errors else 200)


@tenant_view(Perm.APIKEYS_MANAGE)
@require_POST
def api_key_revoke(request: HttpRequest, tenant_slug: str, public_id: str) -> HttpResponse:
    key = ApiKey.objects.for_tenant(request.tenant).filter(public_id=public_id).first()
    if key is None:
        raise Http404("Not found.")
    services.api_key_revoke(tenant=request.tenant, actor=request.user, key=key)
    messages.success(request, f"The key “{key.name}” was revoked.")
    return redirect("tenancy:api-keys", tenant_slug=tenant_slug)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    initial = {
        "name": tenant.name,
        "time_zone": tenant.time_zone,
        "brand_color": tenant.brand_color,
        "require_two_factor": tenant.require_two_factor,
    }
    form = TenantSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_update(tenant=tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(request, "Settings saved.")
            return redirect("tenancy:settings", tenant_slug=tenant.slug)
    return render(
        request, "tenancy/settings.html", {"form": form}, status=400 if form.errors else 200
    )


@tenant_view(Perm.MEMBERS_MANAGE)
def audit_log(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The security log of this tenant, newest first, 100 per page."""
    from django.core.paginator import Paginator

    from helpdesk.tenancy.audit import ACTIONS, audit_list

    page = Paginator(audit_list(tenant=request.tenant), 100).get_page(request.GET.get("page"))
    return render(request, "tenancy/audit.html", {"page": page, "actions": ACTIONS})
