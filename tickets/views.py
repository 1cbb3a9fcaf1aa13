"""Agent pages: the queue, a ticket with its conversation, customers."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets import selectors
from tickets.models import OPEN_STATUSES, Status

QUEUE_VIEWS = {
    "open": ("All open", lambda qs, user: qs.filter(status__in=OPEN_STATUSES)),
    "mine": ("Mine", lambda qs, user: qs.filter(assignee=user, status__in=OPEN_STATUSES)),
    "unassigned": (
        "Unassigned",
        lambda qs, user: qs.filter(assignee=None, status__in=OPEN_STATUSES),
    ),
    "solved": ("Solved", lambda qs, user: qs.filter(status__in=[Status.SOLVED, Status.CLOSED])),
}


@tenant_view(Perm.TICKETS_VIEW)
def queue(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    view = request.GET.get("view", "open")
    if view not in QUEUE_VIEWS:
        view = "open"
    label, apply = QUEUE_VIEWS[view]
    tickets = apply(selectors.ticket_list(tenant=request.tenant), request.user).order_by(
        "-updated_at", "-id"
    )
    page = Paginator(tickets, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "views": [(key, name) for key, (name, _) in QUEUE_VIEWS.items()],
        "current_view": view,
        "current_label": label,
    }
    return render(request, "tickets/queue.html", context)


@tenant_view(Perm.TICKETS_VIEW)
def ticket_page(request: HttpRequest, tenant_slug: str, number: int) -> HttpResponse:
    ticket = selectors.ticket_get_by_number(tenant=request.tenant, number=number)
    if ticket is None:
        raise Http404("Not found.")
    conversation = selectors.message_list_for_ticket(
        tenant=request.tenant, ticket=ticket, include_internal=True
    )
    context = {
        "ticket": ticket,
        "reference": ticket.reference_with(request.tenant.reference_prefix),
        "conversation": conversation,
        "events": ticket.events.select_related("actor_user", "actor_customer").order_by("-id")[:30],
        "other_tickets": selectors.ticket_list(tenant=request.tenant)
        .filter(customer=ticket.customer)
        .exclude(pk=ticket.pk)[:10],
        "can_work": role_has_perm(request.membership.role, Perm.TICKETS_WORK),
    }
    return render(request, "tickets/ticket.html", context)


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
    return render(request, "tickets/customer.html", {"customer": customer, "tickets": tickets})
