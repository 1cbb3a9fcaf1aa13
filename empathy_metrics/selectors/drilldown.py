"""Reads: the tickets, answers, messages or customers behind a figure (the drill-down).

Each drill metric is a queryset over the source tables with exactly the definition of its figure
(``facts.py``), so the number of rows equals the count shown on the dashboard (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from empathy_metrics.facts import (
    CSAT_SATISFIED_MIN,
    ESCALATED_TO_TIER,
    NPS_DETRACTOR_MAX,
    NPS_PROMOTER_MIN,
    SOLVED_STATUSES,
    analysis_as_corrected,
    clean_keywords,
    corrections_of,
    message_scope,
    ticket_scope,
)
from empathy_metrics.models import CustomerActivitySpan, SurveyKind, SurveyResponse
from empathy_metrics.periods import Filters, Period, PeriodError, local_day
from empathy_metrics.selectors.feedback import feedback_responses
from empathy_metrics.selectors.journey_stages import journey_stage_items
from empathy_metrics.selectors.questions import answers_to_question
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import (
    OPEN_STATUSES,
    AnalysisCorrection,
    Customer,
    MessageAnalysis,
    Ticket,
    TicketEvent,
)


@dataclass(frozen=True)
class Drill:
    key: str
    label: str
    kind: str  # "tickets", "responses", "messages" or "customers"


DRILLS: dict[str, Drill] = {
    d.key: d
    for d in (
        Drill("tickets", "Tickets created", "tickets"),
        Drill("frt", "Tickets with a first response", "tickets"),
        Drill("resolution", "Solved or closed tickets", "tickets"),
        Drill("repeats", "Repeat tickets", "tickets"),
        Drill("escalated", "Tickets escalated to tier 2", "tickets"),
        Drill("solved_ever", "Tickets solved at least once", "tickets"),
        Drill("reopened", "Reopened tickets", "tickets"),
        Drill("sla_attained", "Tickets that met their SLA", "tickets"),
        Drill("sla_missed", "Tickets that breached their SLA", "tickets"),
        Drill("backlog", "Open tickets (the backlog)", "tickets"),
        Drill("csat", "CSAT answers", "responses"),
        Drill("csat_satisfied", "Satisfied CSAT answers (4 or 5)", "responses"),
        Drill("csat_unsatisfied", "Unsatisfied CSAT answers (1 to 3)", "responses"),
        Drill("comments", "CSAT answers with a comment", "responses"),
        Drill("nps", "NPS answers", "responses"),
        Drill("promoters", "NPS promoters (9 or 10)", "responses"),
        Drill("passives", "NPS passives (7 or 8)", "responses"),
        Drill("detractors", "NPS detractors (0 to 6)", "responses"),
        Drill("answers", "Answers to an extra question", "responses"),
        Drill("feedback", "Feedback from the help page", "responses"),
        Drill("messages", "Analysed customer messages", "messages"),
        Drill("negative", "Negative customer messages", "messages"),
        Drill("neutral", "Neutral customer messages", "messages"),
        Drill("positive", "Positive customer messages", "messages"),
        Drill("signal", "Messages with a signal", "messages"),
        Drill("corrected", "Messages whose analysis agents corrected", "messages"),
        Drill("keyword", "Messages with a keyword", "messages"),
        Drill("stage_tickets", "Tickets raised at a journey stage", "tickets"),
        Drill("stage_csat", "CSAT answers for tickets raised at a journey stage", "responses"),
        Drill("stage_nps", "NPS answers given at a journey stage", "responses"),
        Drill("stage_messages", "Customer messages written at a journey stage", "messages"),
        Drill("stage_negative", "Negative messages written at a journey stage", "messages"),
        Drill("active_start", "Customers active at the start", "customers"),
        Drill("active_end", "Customers active at the end", "customers"),
        Drill("acquired", "New customers acquired in the period", "customers"),
    )
}


def _dims(queryset: QuerySet, filters: Filters, *, prefix: str, agent_field: str) -> QuerySet:
    if filters.channel is not None:
        queryset = queryset.filter(**{f"{prefix}channel": filters.channel})
    if filters.group is not None:
        queryset = queryset.filter(
            **(
                {f"{prefix}group__isnull": True}
                if filters.group == 0
                else {f"{prefix}group_id": filters.group}
            )
        )
    if filters.agent is not None:
        queryset = queryset.filter(
            **(
                {f"{agent_field}__isnull": True}
                if filters.agent == 0
                else {f"{agent_field}_id": filters.agent}
            )
        )
    if filters.tag is not None:
        queryset = queryset.filter(**{f"{prefix}tags": filters.tag})
    return queryset


def _escalated() -> Exists:
    return Exists(
        TicketEvent.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            ticket_id=OuterRef("pk"),
            kind="ticket.escalated",
            to_value=ESCALATED_TO_TIER,
        )
    )


QUESTION_IDS = ("q1", "q2", "q3")

TICKET_CONDITIONS: dict[str, Q] = {
    "tickets": Q(),
    "frt": Q(first_response_at__isnull=False),
    "resolution": Q(solved_at__isnull=False),
    "repeats": Q(repeat_of__isnull=False),
    "solved_ever": Q(solved_at__isnull=False) | Q(reopen_count__gt=0),
    "reopened": Q(reopen_count__gt=0),
    "sla_attained": Q(
        sla_policy__isnull=False, sla_breached_at__isnull=True, status__in=SOLVED_STATUSES
    ),
    "sla_missed": Q(sla_policy__isnull=False, sla_breached_at__isnull=False),
}


STATUS_EVENTS = ("ticket.status_changed", "ticket.reopened")


def backlog_is_past(*, period: Period, now: datetime | None) -> bool:
    """The backlog figure of a period that ended before today is the open tickets at its end
    (the day's snapshot); otherwise it is the open tickets now."""
    return now is not None and period.end < local_day(now, period.tz)


def open_at(queryset: QuerySet[Ticket], at: datetime) -> QuerySet[Ticket]:
    """The tickets of ``queryset`` that were open at ``at``, rebuilt from their status events:
    the status an event set last before ``at``, else the one the first later event changed,
    else the current status. Tickets created later, or merged before ``at``, are out."""
    events = TicketEvent.objects.filter(
        tenant_id=OuterRef("tenant_id"), ticket_id=OuterRef("pk"), kind__in=STATUS_EVENTS
    )
    before = events.filter(created_at__lt=at).order_by("-created_at", "-id").values("to_value")
    after = events.filter(created_at__gte=at).order_by("created_at", "id").values("from_value")
    merged_before = TicketEvent.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        ticket_id=OuterRef("pk"),
        kind="ticket.merged",
        created_at__lt=at,
    )
    return (
        queryset.filter(created_at__lt=at)
        .annotate(status_then=Coalesce(Subquery(before[:1]), Subquery(after[:1]), F("status")))
        .filter(status_then__in=OPEN_STATUSES)
        .exclude(Exists(merged_before))
    )


def drill_tickets(
    *,
    tenant: Tenant,
    metric: str,
    period: Period,
    filters: Filters,
    now: datetime | None = None,
) -> QuerySet[Ticket]:
    queryset = Ticket.objects.for_tenant(tenant)
    if metric == "backlog" and backlog_is_past(period=period, now=now):
        queryset = open_at(queryset, period.end_at)
    elif metric == "backlog":
        queryset = queryset.filter(status__in=OPEN_STATUSES, merged_into__isnull=True)
    else:
        queryset = queryset.filter(ticket_scope(period.start_at, period.end_at))
        if metric == "escalated":
            queryset = queryset.filter(_escalated())
        else:
            queryset = queryset.filter(TICKET_CONDITIONS[metric])
    queryset = _dims(queryset, filters, prefix="", agent_field="assignee")
    return queryset.select_related("customer", "group", "assignee").order_by("-created_at", "-id")


RESPONSE_CONDITIONS: dict[str, tuple[str, Q]] = {
    "csat": (SurveyKind.CSAT, Q()),
    "csat_satisfied": (SurveyKind.CSAT, Q(score__gte=CSAT_SATISFIED_MIN)),
    "csat_unsatisfied": (SurveyKind.CSAT, Q(score__lt=CSAT_SATISFIED_MIN)),
    "comments": (SurveyKind.CSAT, ~Q(comment="")),
    "nps": (SurveyKind.NPS, Q()),
    "promoters": (SurveyKind.NPS, Q(score__gte=NPS_PROMOTER_MIN)),
    "passives": (SurveyKind.NPS, Q(score__gt=NPS_DETRACTOR_MAX, score__lt=NPS_PROMOTER_MIN)),
    "detractors": (SurveyKind.NPS, Q(score__lte=NPS_DETRACTOR_MAX)),
}


def drill_responses(
    *, tenant: Tenant, metric: str, period: Period, filters: Filters
) -> QuerySet[SurveyResponse]:
    kind, condition = RESPONSE_CONDITIONS[metric]
    queryset = SurveyResponse.objects.for_tenant(tenant).filter(
        condition,
        kind=kind,
        score__isnull=False,
        created_at__gte=period.start_at,
        created_at__lt=period.end_at,
    )
    if kind == SurveyKind.CSAT:  # NPS is about customers: the ticket filters do not apply
        queryset = _dims(queryset, filters, prefix="ticket__", agent_field="agent")
    return queryset.select_related("customer", "ticket", "agent").order_by("-created_at", "-id")


def _corrected(field: str = "", value: str = "") -> Exists:
    """The message of an analysis row has an agent's correction (of ``field``, to ``value``)."""
    corrections = AnalysisCorrection.objects.filter(
        tenant_id=OuterRef("tenant_id"), message_id=OuterRef("message_id")
    )
    if field:
        corrections = corrections.filter(field=field)
    if value:
        corrections = corrections.filter(corrected=value)
    return Exists(corrections)


def drill_messages(
    *,
    tenant: Tenant,
    metric: str,
    period: Period,
    filters: Filters,
    signal: str = "",
    keyword: str = "",
) -> QuerySet[MessageAnalysis] | list[MessageAnalysis]:
    """Analysed messages behind a figure, with the agents' corrections applied as in
    ``facts.message_facts`` (a message corrected to neutral is behind "neutral", not
    "negative")."""
    queryset = MessageAnalysis.objects.for_tenant(tenant).filter(
        message_scope(period.start_at, period.end_at)
    )
    if metric in ("negative", "neutral", "positive"):
        queryset = queryset.filter(is_supported_language=True).filter(
            (Q(sentiment_label=metric) & ~_corrected("sentiment")) | _corrected("sentiment", metric)
        )
    elif metric == "corrected":
        queryset = queryset.filter(_corrected(), is_supported_language=True)
    queryset = _dims(queryset, filters, prefix="ticket__", agent_field="ticket__assignee")
    queryset = queryset.select_related("message", "ticket").order_by("-message_created_at", "-id")
    if metric == "signal":
        wanted = signal.strip()
        if not wanted:
            raise PeriodError("Choose a signal.")
        candidates = list(queryset.filter(Q(signals__has_key=wanted) | _corrected(wanted)))
        corrections = corrections_of(tenant, [a.message_id for a in candidates])
        found = []
        for a in candidates:
            if wanted in analysis_as_corrected(a, corrections)[2]:
                found.append(a)
        return found
    if metric == "keyword":
        wanted = keyword.strip().lower()
        if not wanted:
            raise PeriodError("Choose a keyword.")
        queryset = queryset.filter(keywords__icontains=wanted)  # a superset, narrowed below
        return [a for a in queryset.iterator() if wanted in clean_keywords(a.keywords)]
    return queryset


def corrected_message_count(*, tenant: Tenant, period: Period, filters: Filters) -> int:
    """How many analysed messages of the period agents corrected (the rows of the
    ``corrected`` drill). Read from the corrections, which are few, joined to their analysis."""
    with tenant_context(tenant):
        corrections = AnalysisCorrection.objects.for_tenant(tenant).filter(
            message__analyses__message_created_at__gte=period.start_at,
            message__analyses__message_created_at__lt=period.end_at,
            message__analyses__is_supported_language=True,
        )
        corrections = _dims(
            corrections,
            filters,
            prefix="message__ticket__",
            agent_field="message__ticket__assignee",
        )
        return corrections.values("message_id").distinct().count()


def drill_customers(*, tenant: Tenant, metric: str, period: Period) -> QuerySet[Customer]:
    """Customers behind the retention figure, from the activity spans (see ``rollups``)."""
    spans = CustomerActivitySpan.objects.for_tenant(tenant)
    if metric == "acquired":  # first seen in the period: created in it, active on one of its days
        spans = spans.filter(
            acquired_day__gte=period.start,
            acquired_day__lte=period.end,
            start_day__lte=period.end,
            end_day__gte=period.start,
        )
    else:
        day = period.start - timedelta(days=1) if metric == "active_start" else period.end
        spans = spans.filter(start_day__lte=day, end_day__gte=day)
    return (
        Customer.objects.for_tenant(tenant)
        .filter(pk__in=spans.values("customer_id"))
        .order_by("name", "id")
    )


def drill_answers(
    *, tenant: Tenant, period: Period, question: str, rating: str = ""
) -> QuerySet[SurveyResponse]:
    """The answers to one extra question (all, or those with one rating)."""
    if question not in QUESTION_IDS:
        raise PeriodError("Choose one of the extra questions.")
    queryset = answers_to_question(tenant=tenant, period=period, question_id=question)
    if rating:
        if rating not in ("1", "2", "3", "4", "5"):
            raise PeriodError("A rating is 1 to 5.")
        queryset = queryset.filter(**{f"extra_answers__{question}": int(rating)})
    return queryset.select_related("customer", "ticket", "agent").order_by("-created_at", "-id")


def drill_journey_stage(*, tenant: Tenant, metric: str, period: Period, journey: str, stage: str):
    """The rows behind a cell of a journey-stage table (``journey=`` public id, ``stage=``
    position): the same placement as the table; the ticket filters do not apply."""
    if not stage.isdigit():
        raise PeriodError("Choose a stage of a journey.")
    items = journey_stage_items(
        tenant=tenant, period=period, journey_id=journey.strip(), stage=int(stage)
    )
    if items is None:
        raise PeriodError("That journey was not found.")
    ids = items[metric.removeprefix("stage_")]
    if metric in ("stage_messages", "stage_negative"):
        return (
            MessageAnalysis.objects.for_tenant(tenant)
            .filter(pk__in=ids)
            .select_related("message", "ticket")
            .order_by("-message_created_at", "-id")
        )
    if metric == "stage_tickets":
        return (
            Ticket.objects.for_tenant(tenant)
            .filter(pk__in=ids)
            .select_related("customer", "group", "assignee")
            .order_by("-created_at", "-id")
        )
    return (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(pk__in=ids)
        .select_related("customer", "ticket", "agent")
        .order_by("-created_at", "-id")
    )


def drill_rows(
    *,
    tenant: Tenant,
    metric: str,
    period: Period,
    filters: Filters,
    signal: str = "",
    keyword: str = "",
    question: str = "",
    rating: str = "",
    now: datetime | None = None,
    journey: str = "",
    stage: str = "",
):
    drill = DRILLS.get(metric)
    if drill is None:
        raise PeriodError(f"Unknown figure {metric!r}.")
    if metric.startswith("stage_"):
        return drill, drill_journey_stage(
            tenant=tenant, metric=metric, period=period, journey=journey, stage=stage
        )
    if metric == "answers":
        return drill, drill_answers(tenant=tenant, period=period, question=question, rating=rating)
    if metric == "feedback":  # about customers, like NPS: the ticket filters do not apply
        return drill, feedback_responses(tenant=tenant, period=period)
    if drill.kind == "tickets":
        return drill, drill_tickets(
            tenant=tenant, metric=metric, period=period, filters=filters, now=now
        )
    if drill.kind == "responses":
        return drill, drill_responses(tenant=tenant, metric=metric, period=period, filters=filters)
    if drill.kind == "messages":
        return drill, drill_messages(
            tenant=tenant,
            metric=metric,
            period=period,
            filters=filters,
            signal=signal,
            keyword=keyword,
        )
    return drill, drill_customers(tenant=tenant, metric=metric, period=period)
