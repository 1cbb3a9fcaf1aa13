"""The customer portal (``/t/<slug>/portal/``): a customer signs in by email link and sees all
their tickets, each with its live status page.

These pages face customers, not staff: they carry ``customer_facing = True`` (the isolation
probe and the staff page matrix read it) and never use the staff session. The portal session
stores, per tenant, the id of the signed-in customer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy.models import Tenant
from tickets import selectors_status
from tickets.forms_status import PortalLoginForm
from tickets.models import Customer
from tickets.services.portal import portal_login_link_send, portal_login_verify
from tickets.services.status import (
    status_link_ensure,
    status_stage,
    status_stage_label,
)

SESSION_KEY = "portal_customers"


def customer_page(view: Callable) -> Callable:
    """A page of the tenant's customers (public; the tenant middleware has resolved the slug)."""

    @wraps(view)
    def wrapper(request: HttpRequest, tenant_slug: str, *args, **kwargs) -> HttpResponse:
        if getattr(request, "tenant", None) is None:
            raise Http404("No tenant")
        response = view(request, tenant_slug, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    wrapper.customer_facing = True
    return wrapper


def portal_customer(request: HttpRequest, tenant: Tenant) -> Customer | None:
    """The customer signed in to this tenant's portal in this browser, if any."""
    customer_id = request.session.get(SESSION_KEY, {}).get(str(tenant.pk))
    if not isinstance(customer_id, int):
        return None
    return selectors_status.portal_customer_get(tenant=tenant, customer_id=customer_id)


def _sign_in(request: HttpRequest, tenant: Tenant, customer: Customer) -> None:
    signed_in = dict(request.session.get(SESSION_KEY, {}))
    request.session.cycle_key()  # no session fixation
    signed_in[str(tenant.pk)] = customer.pk
    request.session[SESSION_KEY] = signed_in


@customer_page
@require_http_methods(["GET"])
def portal_home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    customer = portal_customer(request, tenant)
    if customer is None:
        return redirect("customer:portal-login", tenant_slug=tenant.slug)
    rows = []
    tickets = selectors_status.portal_ticket_list(tenant=tenant, customer=customer)
    links = selectors_status.status_links_for_tickets(
        tenant=tenant, ticket_ids=[ticket.pk for ticket in tickets]
    )
    for ticket in tickets:
        stage = status_stage(ticket)
        name = ticket.assignee.first_name if ticket.assignee else ""
        rows.append(
            {
                "ticket": ticket,
                "reference": ticket.reference_with(tenant.reference_prefix),
                "stage": stage,
                "stage_label": status_stage_label(stage, name) if stage != "merged" else "",
                # Tickets older than status pages get their link on first sight.
                "link": links.get(ticket.pk) or status_link_ensure(tenant=tenant, ticket=ticket),
            }
        )
    return render(
        request,
        "tickets/status/portal_home.html",
        {"status_tenant": tenant, "customer": customer, "rows": rows},
    )


@customer_page
@require_http_methods(["GET", "POST"])
def portal_login(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """GET: the sign-in form, or (with ``?token=``) the sign-in itself. POST: send a link."""
    tenant = request.tenant
    context = {"status_tenant": tenant, "form": PortalLoginForm(), "sent": False}
    token = request.GET.get("token", "")
    if request.method == "GET" and token:
        customer = portal_login_verify(tenant=tenant, token=token)
        if customer is not None:
            _sign_in(request, tenant, customer)
            return redirect("customer:portal", tenant_slug=tenant.slug)
        context["link_error"] = gettext(
            "This sign-in link has expired or is not valid. Ask for a new one below."
        )
        return render(request, "tickets/status/portal_login.html", context, status=400)
    if request.method == "POST":
        form = PortalLoginForm(request.POST)
        context["form"] = form
        if form.is_valid():
            try:
                portal_login_link_send(tenant=tenant, email=form.cleaned_data["email"])
            except ValidationError as exc:
                form.add_error("email", " ".join(exc.messages))
            else:
                # The same answer whether or not the address is known (no enumeration).
                context.update(sent=True, email=form.cleaned_data["email"])
                return render(request, "tickets/status/portal_login.html", context)
        return render(request, "tickets/status/portal_login.html", context, status=400)
    if portal_customer(request, tenant) is not None:
        return redirect("customer:portal", tenant_slug=tenant.slug)
    return render(request, "tickets/status/portal_login.html", context)


@customer_page
@require_POST
def portal_logout(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    signed_in = dict(request.session.get(SESSION_KEY, {}))
    if signed_in.pop(str(tenant.pk), None) is not None:
        request.session[SESSION_KEY] = signed_in
        messages.success(request, gettext("You are signed out."))
    return redirect("customer:portal-login", tenant_slug=tenant.slug)
