"""Reads of CSAT for the customer's status page and the ticket page (the dashboards have their
own selectors)."""

from __future__ import annotations

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse, SurveySettings
from helpdesk.tenancy.models import Tenant


def survey_settings_get(*, tenant: Tenant) -> SurveySettings:
    """The tenant's survey settings, or the defaults (unsaved) when it has none yet."""
    return SurveySettings.objects.for_tenant(tenant).first() or SurveySettings(tenant=tenant)


def csat_response_for(*, tenant: Tenant, ticket_id: int, resolution: int) -> SurveyResponse | None:
    """The CSAT answer given for this resolution of the ticket, if any."""
    return (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(kind=SurveyKind.CSAT, ticket_id=ticket_id, resolution=resolution)
        .first()
    )


def csat_request_for(*, tenant: Tenant, ticket_id: int, resolution: int) -> SurveyRequest | None:
    """The CSAT survey of this resolution of the ticket (emailed, or asked on the status page)."""
    return (
        SurveyRequest.objects.for_tenant(tenant)
        .filter(kind=SurveyKind.CSAT, ticket_id=ticket_id, resolution=resolution)
        .first()
    )


def csat_responses_for_ticket(*, tenant: Tenant, ticket_id: int) -> list[SurveyResponse]:
    """Every CSAT answer of the ticket, latest resolution first."""
    return list(
        SurveyResponse.objects.for_tenant(tenant)
        .filter(kind=SurveyKind.CSAT, ticket_id=ticket_id)
        .order_by("-resolution")
    )


CUSTOMER_ANSWERS = 20


def survey_answers_for_customer(
    *, tenant: Tenant, customer_id: int, limit: int = CUSTOMER_ANSWERS
) -> tuple[list[SurveyResponse], int]:
    """The customer's CSAT and NPS answers and help-page feedback, newest first (at most
    ``limit``), and how many there are in all."""
    answers = (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(customer_id=customer_id)
        .select_related("ticket")
        .order_by("-created_at", "-id")
    )
    return list(answers[:limit]), answers.count()
