"""Writes of the empathy metrics app: CSAT surveys and answers.

``csat_response_submit`` records the customer's satisfaction with a resolved ticket: once per
resolution (``Ticket.reopen_count`` numbers the resolutions), idempotent (asking again returns the
first answer unchanged), for the ticket's own customer, and only while the ticket is solved or
closed.

A comment goes through the same analysis as customer messages (``services_survey_analysis``:
a task on the analysis queue after commit, and the sweeper if the broker was down).

``csat_request_send`` emails the CSAT question of a ticket's current resolution (one link per
score, signed like the NPS links); ``csat_requests_send_due`` is the automatic sweep (beat, every
few minutes) when the tenant's ``csat_auto_send`` is on; otherwise agents send it by hand from the
ticket page. The one reminder goes out with the NPS reminders (``services_nps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse, SurveySettings
from empathy_metrics.services_nps import extra_answers_clean, send_survey_email
from empathy_metrics.services_survey_analysis import survey_analysis_enqueue
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.events import event_record
from tickets.models import Status, Ticket

CSAT_SCORES = range(1, 6)
CSAT_COMMENT_MAX = 2000
# The automatic sweep asks about resolutions of the last few days only (never the backlog of
# old tickets when a tenant turns it on) and waits a little, so that a ticket reopened at once
# is not asked about.
CSAT_SEND_WITHIN = timedelta(days=3)
CSAT_SEND_AFTER = timedelta(minutes=10)
CSAT_BATCH_PER_RUN = 500


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
    extra_answers: dict | None = None,
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
        extras = extra_answers_clean(
            SurveySettings.objects.for_tenant(tenant).first() or SurveySettings(), extra_answers
        )
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
                    extra_answers=extras,
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
        survey_analysis_enqueue(tenant=tenant, response=response)  # the comment, after commit
        return CsatResult(response, created=True)


def csat_details_open(response: SurveyResponse) -> bool:
    """May the customer still add a comment and extra answers to this CSAT answer? Only once:
    not after a comment or any extra answer (keys starting with ``_`` are ours, not theirs)."""
    if response.comment:
        return False
    given = (response.extra_answers or {}).items()
    return not any(v not in (None, "") for k, v in given if not k.startswith("_"))


def csat_response_add_details(
    *,
    tenant: Tenant,
    response: SurveyResponse,
    comment: str = "",
    extra_answers: dict | None = None,
) -> SurveyResponse:
    """The comment and extra answers a customer adds right after a one-click rating.

    Once: details already given stay as they are, and the score never changes.
    """
    comment = (comment or "").strip()
    if len(comment) > CSAT_COMMENT_MAX:
        raise ValidationError(
            {
                "comment": gettext("Keep the comment under %(n)d characters.")
                % {"n": CSAT_COMMENT_MAX}
            }
        )
    with tenant_context(tenant):
        response = (
            SurveyResponse.objects.for_tenant(tenant)
            .select_for_update()
            .get(pk=response.pk, kind=SurveyKind.CSAT)
        )
        if not csat_details_open(response):
            return response
        extras = extra_answers_clean(
            SurveySettings.objects.for_tenant(tenant).first() or SurveySettings(), extra_answers
        )
        changed = []
        if comment:
            response.comment = comment
            changed.append("comment")
        if any(v not in (None, "") for k, v in extras.items() if not k.startswith("_")):
            response.extra_answers = {**(response.extra_answers or {}), **extras}
            changed.append("extra_answers")
        if changed:
            response.save(update_fields=changed)
        if comment:
            survey_analysis_enqueue(tenant=tenant, response=response)  # after commit
    return response


# --- asking by email --------------------------------------------------------------------------


def _resolved(ticket: Ticket) -> bool:
    return ticket.status in (Status.SOLVED, Status.CLOSED) and not ticket.merged_into_id


def csat_request_send(
    *, tenant: Tenant, ticket: Ticket, actor=None, now: datetime | None = None
) -> SurveyRequest:
    """Email the CSAT question of the ticket's current resolution to its customer (after commit).

    Refused (``ValidationError``) when the ticket is not resolved, the customer has no email
    address, or this resolution was already asked about or rated.
    """
    now = now or timezone.now()
    with tenant_context(tenant):
        if ticket.tenant_id != tenant.pk:
            raise ValidationError("Ticket belongs to another tenant.")
        ticket = (
            Ticket.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=ticket.pk)
        )
        if not _resolved(ticket):
            raise ValidationError(gettext("The CSAT survey is sent once the ticket is solved."))
        if not ticket.customer.email:
            raise ValidationError(gettext("The customer has no email address."))
        survey_request, created = SurveyRequest.objects.for_tenant(tenant).get_or_create(
            tenant=tenant,
            kind=SurveyKind.CSAT,
            ticket=ticket,
            resolution=ticket.reopen_count,
            defaults={"customer": ticket.customer, "sent_at": now},
        )
        if not created:
            if survey_request.answered_at is not None:
                raise ValidationError(gettext("The customer already rated this resolution."))
            raise ValidationError(gettext("The CSAT survey was already sent for this resolution."))
        send_survey_email(tenant=tenant, survey_request=survey_request, reminder=False)
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="survey.csat_sent",
            actor=actor,
            data={"resolution": ticket.reopen_count, "by_hand": actor is not None},
            is_public=False,
            at=now,
        )
    return survey_request


def csat_tickets_due(*, tenant: Tenant, now: datetime, limit: int = CSAT_BATCH_PER_RUN) -> list:
    """Tickets solved or closed recently whose current resolution was not asked about yet."""
    with tenant_context(tenant):
        asked = SurveyRequest.objects.filter(
            tenant_id=tenant.pk,
            kind=SurveyKind.CSAT,
            ticket_id=OuterRef("pk"),
            resolution=OuterRef("reopen_count"),
        )
        return list(
            Ticket.objects.for_tenant(tenant)
            .filter(
                status__in=(Status.SOLVED, Status.CLOSED),
                merged_into__isnull=True,
                solved_at__gte=now - CSAT_SEND_WITHIN,
                solved_at__lte=now - CSAT_SEND_AFTER,
            )
            .exclude(customer__email="")
            .exclude(Exists(asked))
            .order_by("solved_at", "id")[:limit]
        )


def csat_requests_send_due(*, tenant: Tenant, now: datetime | None = None) -> int:
    """The automatic CSAT emails (when the tenant's ``csat_auto_send`` is on). Returns how many."""
    now = now or timezone.now()
    with tenant_context(tenant):
        config = SurveySettings.objects.for_tenant(tenant).first() or SurveySettings()
    if not config.csat_auto_send:
        return 0
    sent = 0
    for ticket in csat_tickets_due(tenant=tenant, now=now):
        try:  # one transaction per ticket: each email goes out when its own request is saved
            csat_request_send(tenant=tenant, ticket=ticket, now=now)
        except ValidationError:
            continue  # changed since it was listed (reopened, rated on the status page)
        sent += 1
    return sent
