"""CSAT: the answer from the customer's status page (``POST /feedback/csat/<token>/``), and the
agents' "send the CSAT survey" button of the ticket page (``POST /t/<slug>/tickets/<n>/csat/``).

The status link's token binds the tenant and the ticket: the view resolves it through the
tickets app, enters the tenant's scope, and calls ``csat_response_submit``. With the page's script
(header ``X-Fragment: 1``) the form fragment comes back (thanks, or the form with its error); without, a redirect to the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from empathy_metrics.selectors_csat import csat_response_for
from empathy_metrics.services import (
    csat_request_send,
    csat_response_add_details,
    csat_response_submit,
)
from empathy_metrics.templatetags.empathy_tags import csat_form
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets.selectors import ticket_get_by_number
from tickets.selectors_status import status_link_resolve, status_ticket_get


@require_POST
def csat_submit(request: HttpRequest, token: str) -> HttpResponse:
    link = status_link_resolve(token=token)
    if link is None:
        return render(request, "tickets/status/link_invalid.html", status=404)
    tenant = link.tenant
    as_fragment = request.headers.get("X-Fragment") == "1"  # the status page's script
    values = {"score": request.POST.get("score", ""), "comment": request.POST.get("comment", "")}
    with tenant_context(tenant), timezone.override(tenant.time_zone):
        ticket = status_ticket_get(tenant=tenant, ticket_id=link.ticket_id)
        if ticket is None:
            return render(request, "tickets/status/link_invalid.html", status=404)
        errors: list[str] = []
        try:
            if request.POST.get("details") == "1":  # the comment after a one-click rating
                answer = csat_response_for(
                    tenant=tenant, ticket_id=ticket.pk, resolution=ticket.reopen_count
                )
                if answer is None:
                    raise ValidationError(gettext("Choose a rating first."))
                csat_response_add_details(tenant=tenant, response=answer, comment=values["comment"])
            else:
                csat_response_submit(
                    tenant=tenant, ticket=ticket, score=values["score"], comment=values["comment"]
                )
        except ValidationError as exc:
            errors = exc.messages
        if as_fragment:
            context = csat_form(
                {"csrf_token": get_token(request), "csat_errors": errors, "csat_values": values},
                ticket=ticket,
                token=link.token,
            )
            response = render(
                request, "empathy_metrics/csat_form.html", context, status=400 if errors else 200
            )
            response["Cache-Control"] = "private, no-store"
            return response
    if errors:
        messages.error(request, " ".join(errors))
    else:
        messages.success(request, gettext("Thank you for your feedback!"))
    return redirect(reverse("status:page", args=[link.token]) + "#feedback")


@tenant_view(Perm.TICKETS_WORK)
@require_POST
def csat_send(request: HttpRequest, tenant_slug: str, number: int) -> HttpResponse:
    """An agent sends the CSAT survey of the ticket's current resolution by hand."""
    tenant = request.tenant
    ticket = ticket_get_by_number(tenant=tenant, number=number)
    if ticket is None:
        raise Http404("No such ticket")
    target = reverse("tickets:ticket-page", kwargs={"tenant_slug": tenant_slug, "number": number})
    try:
        csat_request_send(tenant=tenant, ticket=ticket, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(target)
    messages.success(request, gettext("The CSAT survey is on its way to the customer."))
    return redirect(target)
