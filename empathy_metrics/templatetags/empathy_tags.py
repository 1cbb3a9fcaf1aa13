"""Template tags that let lower apps show empathy-metrics pieces without importing our Python.

``{% csat_form ticket=ticket token=link.token %}`` renders the CSAT question of the customer's
status page: the form while the ticket is resolved and this resolution is not rated yet, a thank
you once it is, and nothing (an empty placeholder the page can refresh) otherwise. It must be
rendered inside the ticket's tenant scope.
"""

from __future__ import annotations

from django import template
from django.urls import reverse

from empathy_metrics.selectors_csat import csat_response_for, survey_settings_get
from tickets.models import Status

register = template.Library()


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
