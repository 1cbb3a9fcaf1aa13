"""Template tags that let lower apps show empathy-metrics pieces without importing our Python.

``{% csat_form ticket=ticket token=link.token %}`` renders the CSAT question of the customer's
status page: the form while the ticket is resolved and this resolution is not rated yet, a thank
you once it is, and nothing (an empty placeholder the page can refresh) otherwise. It must be
rendered inside the ticket's tenant scope.

``{% csat_ticket_card ticket=ticket can_work=can_work %}`` is the CSAT box of the agents' ticket
page: the answers of the ticket, whether this resolution's survey went out, and the button that
sends it by hand.

``{% customer_feedback_card customer=customer %}`` is the feedback box of the customer's page:
their CSAT and NPS answers and help-page feedback (score, date, comment, ticket link).
"""

from __future__ import annotations

from django import template
from django.urls import reverse

from empathy_metrics.selectors_csat import (
    csat_request_for,
    csat_response_for,
    csat_responses_for_ticket,
    survey_answers_for_customer,
    survey_settings_get,
)
from empathy_metrics.services import csat_details_open
from tickets.models import Status

register = template.Library()

# The looks of the 1-5 scale: every look shows all five steps, evenly spaced, in the same order.
FACES = {1: "\U0001f61e", 2: "\U0001f641", 3: "\U0001f610", 4: "\U0001f642", 5: "\U0001f600"}


@register.filter
def csat_step(score, scale: str = "numbers") -> str:
    """One step of the CSAT scale in the tenant's look: ``3``, ``★★★`` or a face."""
    try:
        n = int(score)
    except (TypeError, ValueError):
        return ""
    if scale == "stars":
        return "\u2605" * n
    if scale == "faces":
        return FACES.get(n, str(n))
    return str(n)


@register.inclusion_tag("empathy_metrics/csat_form.html", takes_context=True)
def csat_form(context, *, ticket, token: str = "", read_only: bool = False) -> dict:
    tenant = ticket.tenant
    resolved = ticket.status in (Status.SOLVED, Status.CLOSED) and not ticket.merged_into_id
    answer = None
    if resolved:
        answer = csat_response_for(
            tenant=tenant, ticket_id=ticket.pk, resolution=ticket.reopen_count
        )
    settings = survey_settings_get(tenant=tenant)
    if not resolved:
        state = "hidden"
    elif answer is not None:
        state = "thanks"
    else:
        state = "ask"
    return {
        "state": state,
        "answer": answer,
        "details_open": answer is not None and csat_details_open(answer),
        "question": settings.csat_question,
        "scale": settings.csat_scale,
        "scores": [1, 2, 3, 4, 5],
        "resolution": ticket.reopen_count,
        "read_only": read_only or not token,
        "action": reverse("empathy_metrics:csat-submit", args=[token]) if token else "",
        "csrf_token": context.get("csrf_token"),
        "form_errors": context.get("csat_errors") or [],
        "form_values": context.get("csat_values") or {},
    }


@register.inclusion_tag("empathy_metrics/ticket_csat.html", takes_context=True)
def csat_ticket_card(context, *, ticket, can_work: bool = False) -> dict:
    tenant = context.get("current_tenant") or ticket.tenant
    resolved = ticket.status in (Status.SOLVED, Status.CLOSED) and not ticket.merged_into_id
    answers = csat_responses_for_ticket(tenant=tenant, ticket_id=ticket.pk)
    current = next((a for a in answers if a.resolution == ticket.reopen_count), None)
    survey = None
    if resolved and current is None:
        survey = csat_request_for(
            tenant=tenant, ticket_id=ticket.pk, resolution=ticket.reopen_count
        )
    has_email = bool(ticket.customer.email)
    can_send = can_work and resolved and current is None and survey is None and has_email
    return {
        "csrf_token": context.get("csrf_token"),
        "ticket": ticket,
        "answers": answers,
        "current": current,
        "survey": survey,
        "resolved": resolved,
        "auto_send": survey_settings_get(tenant=tenant).csat_auto_send if can_send else None,
        "can_send": can_send,
        "has_email": has_email,
        "send_url": reverse(
            "metrics:csat-send", kwargs={"tenant_slug": tenant.slug, "number": ticket.number}
        ),
    }


@register.inclusion_tag("empathy_metrics/customer_feedback.html", takes_context=True)
def customer_feedback_card(context, *, customer) -> dict:
    tenant = context.get("current_tenant") or customer.tenant
    answers, total = survey_answers_for_customer(tenant=tenant, customer_id=customer.pk)
    return {
        "current_tenant": tenant,
        "customer": customer,
        "answers": answers,
        "total": total,
    }
