"""Writes of the empathy metrics app: survey answers.

``csat_response_submit`` records the customer's satisfaction with a resolved ticket: once per
resolution (``Ticket.reopen_count`` numbers the resolutions), idempotent (asking again returns the
first answer unchanged), for the ticket's own customer, and only while the ticket is solved or
closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.events import event_record
from tickets.models import Status, Ticket

CSAT_SCORES = range(1, 6)
CSAT_COMMENT_MAX = 2000


@dataclass(frozen=True)
class CsatResult:
    response: SurveyResponse
    created: bool  # False: this resolution was already rated; the first answer stands


def _score(value) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if isinstance(value, bool) or score not in CSAT_SCORES:
        raise ValidationError({"score": gettext("Choose a rating from 1 to 5.")})
    return score


def csat_response_submit(
    *,
    tenant: Tenant,
    ticket: Ticket,
    score: int,
    comment: str = "",
    channel: str = "status_page",
    at: datetime | None = None,
) -> CsatResult:
    """Record the CSAT answer for the ticket's current resolution, once.

    The answer is linked to a ``SurveyRequest`` of the resolution (created here when the status
    page asked rather than an email) and to the agent who held the ticket. An internal timeline
    event tells the agents.
    """
    score = _score(score)
    comment = (comment or "").strip()
    if len(comment) > CSAT_COMMENT_MAX:
        raise ValidationError(
            {
                "comment": gettext("Keep the comment under %(n)d characters.")
                % {"n": CSAT_COMMENT_MAX}
            }
        )
    now = at or timezone.now()
    with tenant_context(tenant):
        if ticket.tenant_id != tenant.pk:
            raise ValidationError("Ticket belongs to another tenant.")
        ticket = (
            Ticket.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=ticket.pk)
        )
        if ticket.status not in (Status.SOLVED, Status.CLOSED) or ticket.merged_into_id:
            raise ValidationError(gettext("You can rate the help once your request is resolved."))
        resolution = ticket.reopen_count
        existing = (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(kind=SurveyKind.CSAT, ticket=ticket, resolution=resolution)
            .first()
        )
        if existing is not None:
            return CsatResult(existing, created=False)
        request, _ = SurveyRequest.objects.for_tenant(tenant).get_or_create(
            tenant=tenant,
            kind=SurveyKind.CSAT,
            ticket=ticket,
            resolution=resolution,
            defaults={"customer": ticket.customer, "sent_at": ticket.solved_at or now},
        )
        try:
            with transaction.atomic():
                response = SurveyResponse.objects.create(
                    tenant=tenant,
                    kind=SurveyKind.CSAT,
                    request=request,
                    customer=ticket.customer,
                    ticket=ticket,
                    agent_id=ticket.assignee_id,
                    resolution=resolution,
                    score=score,
                    comment=comment,
                    channel=channel,
                    created_at=now,
                )
        except IntegrityError:  # a concurrent answer won the race; it stands
            return CsatResult(
                SurveyResponse.objects.for_tenant(tenant).get(
                    kind=SurveyKind.CSAT, ticket=ticket, resolution=resolution
                ),
                created=False,
            )
        if request.answered_at is None:
            request.answered_at = now
            request.save(update_fields=["answered_at"])
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="survey.csat_received",
            customer=ticket.customer,
            to_value=str(score),
            data={"score": score, "resolution": resolution, "has_comment": bool(comment)},
            is_public=False,
            at=now,
        )
        return CsatResult(response, created=True)
