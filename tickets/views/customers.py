"""Customer list and profile pages."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets import selectors
from tickets.forms import CustomerEditForm
from tickets.selectors_analysis import customer_sentiment_trend
from tickets.services.customers import customer_update


@tenant_view(Perm.CUSTOMERS_VIEW)
def customer_list_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    customers = selectors.customer_list(tenant=request.tenant, search=search).order_by("name", "id")
    page = Paginator(customers, 50).get_page(request.GET.get("page"))
    return render(request, "tickets/customers.html", {"page": page, "search": search})


@tenant_view(Perm.CUSTOMERS_VIEW)
def customer_page(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    customer = selectors.customer_get(tenant=request.tenant, public_id=public_id)
    if customer is None:
        raise Http404("Not found.")
    tickets = (
        selectors.ticket_list(tenant=request.tenant)
        .filter(customer=customer)
        .order_by("-created_at")
    )
    form = CustomerEditForm(
        initial={
            "name": customer.name,
            "phone": customer.phone,
            "company": customer.company,
            "tags": ", ".join(customer.tags),
            "notes": customer.notes,
        }
    )
    context = {
        "customer": customer,
        "tickets": tickets,
        "figures": selectors.customer_figures(tenant=request.tenant, customer=customer),
        "sentiment": customer_sentiment_trend(tenant=request.tenant, customer=customer),
        "form": form,
        "can_edit": role_has_perm(request.membership.role, Perm.CUSTOMERS_EDIT),
    }
    return render(request, "tickets/customer.html", context)


@tenant_view(Perm.CUSTOMERS_EDIT)
@require_POST
def customer_edit(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    customer = selectors.customer_get(tenant=request.tenant, public_id=public_id)
    if customer is None:
        raise Http404("Not found.")
    form = CustomerEditForm(request.POST)
    if form.is_valid():
        try:
            customer_update(tenant=request.tenant, customer=customer, **form.cleaned_data)
            messages.success(request, "Profile saved.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Check the fields and try again.")
    return redirect("tickets:customer-page", tenant_slug=tenant_slug, public_id=public_id)
