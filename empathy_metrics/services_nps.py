"""Writes: NPS surveys on a schedule, their reminder, answers, free-form feedback, settings.

- The NPS schedule asks each customer with an email address ``nps_first_after_days`` after their
  first ticket, then again at most every ``nps_interval_days`` (per-tenant settings). It runs in
  the tenant's local daytime (``survey_sending_hour``), a batch per run.
- The survey link carries a token signed with ``django.core.signing`` (salt ``survey``) that binds
  the tenant and the survey request; it expires after ``TOKEN_MAX_AGE_DAYS``.
- One reminder, ``reminder_after_hours`` after the survey was sent, if it is still unanswered.
- Answering twice replaces the one answer of the request (the customer may change their mind or
  add a reason); the reason goes through the same analysis as messages (a task on the analysis
  queue, after commit; see ``services_survey_analysis``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse, SurveySettings
from empathy_metrics.periods import zone
from empathy_metrics.services_survey_analysis import (
    survey_analysis_enqueue,
    survey_analysis_forget,
    survey_response_analyse,  # noqa: F401 (callers import it from here too)
)
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Customer, Status, Ticket
from tickets.services import customer_get_or_create
from tickets.services.status import status_link_url

logger = logging.getLogger(__name__)

TOKEN_SALT = "survey"  # noqa: S105 (a signing salt, not a secret)
TOKEN_MAX_AGE_DAYS = 60
SENDING_HOURS = range(9, 18)  # local time, Monday to Friday
BATCH_PER_RUN = 500
REMIND_WITHIN_DAYS = 14
COMMENT_MAX = 2000
EXTRA_QUESTIONS_MAX = 3
SCALE_CHOICES = ("numbers", "stars", "faces")
FEEDBACK_MAX = 5000


# --- tokens and links ------------------------------------------------------------------------


def survey_token_for(*, survey_request: SurveyRequest) -> str:
    return signing.dumps(
        {"t": survey_request.tenant_id, "r": str(survey_request.public_id)}, salt=TOKEN_SALT
    )


def survey_token_read(token: str) -> tuple[int, str] | None:
    """``(tenant_id, request public id)`` of a valid, unexpired token; None otherwise."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=timedelta(days=TOKEN_MAX_AGE_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int):
        return None
    if not isinstance(data.get("r"), str):
        return None
    return data["t"], data["r"]


def survey_link(*, survey_request: SurveyRequest, score: int | None = None) -> str:
    path = reverse(
        "surveys:answer", kwargs={"token": survey_token_for(survey_request=survey_request)}
    )
    query = f"?score={score}" if score is not None else ""
    return settings.HELPDESK_BASE_URL.rstrip("/") + path + query


# --- settings ---------------------------------------------------------------------------------


def _clean_extra_questions(questions) -> list[dict]:
    if questions in (None, ""):
        return []
    if not isinstance(questions, list):
        raise ValidationError({"extra_questions": "Extra questions must be a list."})
    cleaned = []
    for question in questions:
        if not isinstance(question, dict):
            raise ValidationError({"extra_questions": "Each extra question needs a text."})
        text = str(question.get("text", "")).strip()
        kind = question.get("kind", "rating")
        if not text:
            continue
        if kind not in ("rating", "text"):
            raise ValidationError({"extra_questions": "A question is rated (1-5) or free text."})
        if len(text) > 200:
            raise ValidationError({"extra_questions": "Keep each question under 200 characters."})
        cleaned.append({"id": f"q{len(cleaned) + 1}", "text": text, "kind": kind})
    if len(cleaned) > EXTRA_QUESTIONS_MAX:
        raise ValidationError({"extra_questions": "Ask at most three extra questions."})
    return cleaned


def survey_settings_update(*, tenant: Tenant, actor, **fields) -> SurveySettings:
    """Save the tenant's survey settings (wording, scale, extra questions, schedule, window)."""
    allowed = {
        "csat_question",
        "csat_scale",
        "csat_auto_send",
        "nps_question",
        "nps_first_after_days",
        "nps_interval_days",
        "reminder_after_hours",
        "extra_questions",
        "active_days",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if "csat_scale" in fields and fields["csat_scale"] not in SCALE_CHOICES:
        raise ValidationError({"csat_scale": "Choose numbers, stars or faces."})
    if "extra_questions" in fields:
        fields["extra_questions"] = _clean_extra_questions(fields["extra_questions"])
    for name in ("csat_question", "nps_question"):
        if name in fields and not str(fields[name]).strip():
            raise ValidationError({name: "The question cannot be empty."})
    if "active_days" in fields and not 1 <= int(fields["active_days"]) <= 730:
        raise ValidationError({"active_days": "Choose between 1 and 730 days."})
    if "nps_interval_days" in fields and int(fields["nps_interval_days"]) < 1:
        raise ValidationError({"nps_interval_days": "Ask at most once a day."})
    with tenant_context(tenant):
        row, _ = (
            SurveySettings.objects.for_tenant(tenant)
            .select_for_update()
            .get_or_create(tenant=tenant)
        )
        for name, value in fields.items():
            setattr(row, name, value.strip() if isinstance(value, str) else value)
        row.full_clean(exclude=["tenant"])
        row.save()
    return row


def _settings(tenant: Tenant) -> SurveySettings:
    row = SurveySettings.objects.for_tenant(tenant).first()
    return row if row is not None else SurveySettings(tenant=tenant)


# --- the NPS schedule ------------------------------------------------------------------------


def survey_sending_hour(*, tenant: Tenant, now: datetime) -> bool:
    """Surveys and reminders go out on local weekdays between 09:00 and 18:00."""
    local = now.astimezone(zone(tenant.time_zone))
    return local.weekday() < 5 and local.hour in SENDING_HOURS


def nps_due_customers(*, tenant: Tenant, now: datetime, limit: int = BATCH_PER_RUN) -> list:
    """Customers with an email address whose first ticket is at least ``nps_first_after_days``
    old and who were not asked within ``nps_interval_days``, oldest customers first."""
    with tenant_context(tenant):
        config = _settings(tenant)
        old_enough = Ticket.objects.filter(
            tenant_id=tenant.pk,
            customer_id=OuterRef("pk"),
            created_at__lte=now - timedelta(days=config.nps_first_after_days),
        )
        asked = SurveyRequest.objects.filter(
            tenant_id=tenant.pk,
            customer_id=OuterRef("pk"),
            kind=SurveyKind.NPS,
            sent_at__gt=now - timedelta(days=config.nps_interval_days),
        )
        return list(
            Customer.objects.for_tenant(tenant)
            .exclude(email="")
            .filter(Exists(old_enough))
            .exclude(Exists(asked))
            .order_by("created_at", "id")[:limit]
        )


def send_survey_email(*, tenant: Tenant, survey_request: SurveyRequest, reminder: bool) -> None:
    """Email an NPS or CSAT survey (one link per score), after commit."""
    customer = survey_request.customer
    config = _settings(tenant)
    if survey_request.kind == SurveyKind.CSAT:
        prefix, question, scores = "csat", config.csat_question, range(1, 6)
    else:
        prefix, question, scores = "nps", config.nps_question, range(11)
    context = {
        "tenant": tenant,
        "customer": customer,
        "question": question,
        "scale": config.csat_scale,
        "ticket": survey_request.ticket,
        "link": survey_link(survey_request=survey_request),
        "score_links": [
            (score, survey_link(survey_request=survey_request, score=score)) for score in scores
        ],
        "reminder": reminder,
    }
    if survey_request.ticket_id:  # CSAT: link the ticket's status page, as every email about a
        # ticket does (its current link; a ticket older than status pages gets one)
        try:
            context["status_url"] = status_link_url(tenant=tenant, ticket=survey_request.ticket)
        except NoReverseMatch:  # status pages not routed
            context["status_url"] = ""
    subject = render_to_string(f"empathy_metrics/email/{prefix}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"empathy_metrics/email/{prefix}_body.txt", context),
        to=[customer.email],
    )
    message.attach_alternative(
        render_to_string(f"empathy_metrics/email/{prefix}_body.html", context), "text/html"
    )

    def send() -> None:
        try:
            message.send()
        except OSError:
            logger.exception("survey email %s could not be sent", survey_request.pk)

    transaction.on_commit(send)


def nps_request_send(
    *, tenant: Tenant, customer: Customer, now: datetime | None = None
) -> SurveyRequest:
    """Ask ``customer`` the NPS question by email (after commit)."""
    now = now or timezone.now()
    with tenant_context(tenant):
        if customer.tenant_id != tenant.pk:
            raise ValidationError("Customer belongs to another tenant.")
        if not customer.email:
            raise ValidationError("The customer has no email address.")
        survey_request = SurveyRequest.objects.create(
            tenant=tenant, kind=SurveyKind.NPS, customer=customer, sent_at=now
        )
        send_survey_email(tenant=tenant, survey_request=survey_request, reminder=False)
    return survey_request


def nps_schedule_run(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Send the NPS survey to every customer it is due for (a batch). Returns how many."""
    now = now or timezone.now()
    sent = 0
    with tenant_context(tenant):
        for customer in nps_due_customers(tenant=tenant, now=now):
            nps_request_send(tenant=tenant, customer=customer, now=now)
            sent += 1
    return sent


def survey_reminders_send(*, tenant: Tenant, now: datetime | None = None) -> int:
    """One reminder for NPS and CSAT surveys unanswered ``reminder_after_hours`` after sending
    (a CSAT survey only while its resolution stands: not once the ticket was reopened)."""
    now = now or timezone.now()
    with tenant_context(tenant):
        config = _settings(tenant)
        if not config.reminder_after_hours:
            return 0
        due = list(
            SurveyRequest.objects.for_tenant(tenant)
            .select_for_update(skip_locked=True, of=("self",))
            .filter(
                Q(kind=SurveyKind.NPS)
                | Q(
                    kind=SurveyKind.CSAT,
                    ticket__status__in=(Status.SOLVED, Status.CLOSED),
                    ticket__reopen_count=F("resolution"),
                ),
                answered_at__isnull=True,
                reminded_at__isnull=True,
                sent_at__lte=now - timedelta(hours=config.reminder_after_hours),
                sent_at__gte=now - timedelta(days=REMIND_WITHIN_DAYS),
            )
            .exclude(customer__email="")
            .select_related("customer", "ticket")
            .order_by("sent_at")[:BATCH_PER_RUN]
        )
        for survey_request in due:
            survey_request.reminded_at = now
            survey_request.save(update_fields=["reminded_at"])
            send_survey_email(tenant=tenant, survey_request=survey_request, reminder=True)
    return len(due)


# --- answers ---------------------------------------------------------------------------------


def extra_answers_clean(config: SurveySettings, answers: dict | None) -> dict:
    """The answers to the tenant's extra questions (``{question id: rating or text}``)."""
    answers = answers or {}
    cleaned = {}
    for question in config.extra_questions or []:
        qid = question.get("id")
        value = answers.get(qid)
        if value in (None, ""):
            continue
        if question.get("kind") == "rating":
            try:
                rating = int(value)
            except (TypeError, ValueError):
                rating = 0
            if not 1 <= rating <= 5:
                raise ValidationError({qid: "Choose a rating from 1 to 5."})
            cleaned[qid] = rating
        else:
            text = str(value).strip()
            if len(text) > COMMENT_MAX:
                raise ValidationError({qid: f"Keep the answer under {COMMENT_MAX} characters."})
            cleaned[qid] = text
    return cleaned


def nps_response_submit(
    *,
    tenant: Tenant,
    survey_request: SurveyRequest,
    score,
    comment: str = "",
    extra_answers: dict | None = None,
    at: datetime | None = None,
) -> SurveyResponse:
    """Record (or update) the answer to an NPS survey request: 0-10 and an optional reason."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = -1
    if not 0 <= score <= 10:
        raise ValidationError({"score": "Choose a score from 0 to 10."})
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError({"comment": f"Keep the reason under {COMMENT_MAX} characters."})
    now = at or timezone.now()
    with tenant_context(tenant):
        survey_request = (
            SurveyRequest.objects.for_tenant(tenant)
            .select_for_update()
            .get(pk=survey_request.pk, kind=SurveyKind.NPS)
        )
        config = _settings(tenant)
        extras = extra_answers_clean(config, extra_answers)
        response = (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(request=survey_request, kind=SurveyKind.NPS)
            .first()
        )
        reason_changed = response is None or response.comment != comment
        kept = {}
        answered_at = now
        if response is not None:
            # A change is written as a new row (same answer time): the rollups find new rows by
            # id, so the day of the answer is recomputed.
            kept = {k: v for k, v in response.extra_answers.items() if k.startswith("_")}
            if reason_changed:
                kept = survey_analysis_forget(kept)
            answered_at = response.created_at
            response.delete()
        response = SurveyResponse.objects.create(
            tenant=tenant,
            kind=SurveyKind.NPS,
            request=survey_request,
            customer_id=survey_request.customer_id,
            score=score,
            comment=comment,
            extra_answers={**kept, **extras},
            channel="email",
            created_at=answered_at,
        )
        if survey_request.answered_at is None:
            survey_request.answered_at = now
            survey_request.save(update_fields=["answered_at"])
        if comment and reason_changed:
            survey_analysis_enqueue(tenant=tenant, response=response)
    return response


def feedback_submit(
    *,
    tenant: Tenant,
    body: str,
    email: str = "",
    name: str = "",
    page: str = "",
    at: datetime | None = None,
) -> SurveyResponse:
    """Free-form feedback from the help page (no score). Linked to the customer by email."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write your feedback first."})
    if len(body) > FEEDBACK_MAX:
        raise ValidationError({"body": f"Keep it under {FEEDBACK_MAX} characters."})
    email = (email or "").strip().lower()
    now = at or timezone.now()
    with tenant_context(tenant):
        customer = None
        if email:
            customer, _created = customer_get_or_create(
                tenant=tenant, email=email, name=(name or "").strip()[:200]
            )
        response = SurveyResponse.objects.create(
            tenant=tenant,
            kind=SurveyKind.FEEDBACK,
            customer=customer,
            comment=body,
            extra_answers={"page": page[:300]} if page else {},
            channel="help_page",
            created_at=now,
        )
        survey_analysis_enqueue(tenant=tenant, response=response)
    return response
