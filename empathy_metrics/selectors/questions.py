"""Reads: the reports of the tenant's extra survey questions (up to three, rated 1-5 or free text).

The answers are kept with the survey answer they came with (CSAT or NPS), in
``SurveyResponse.extra_answers`` under the question's id (``q1``..``q3``, by position in the
survey settings). A report covers the answers given in the period, like CSAT and NPS; like NPS it
is about customers, so the channel, group, agent and tag filters do not apply to it.
"""

from __future__ import annotations

from django.db.models import Count
from django.db.models.fields.json import KT

from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.periods import Period
from empathy_metrics.tally import share
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

RATINGS = (1, 2, 3, 4, 5)
SATISFIED_MIN = 4
EXAMPLES = 5


def answers_to_question(*, tenant: Tenant, period: Period, question_id: str):
    """The survey answers of the period that answer the extra question ``question_id``."""
    return SurveyResponse.objects.for_tenant(tenant).filter(
        kind__in=(SurveyKind.CSAT, SurveyKind.NPS),
        created_at__gte=period.start_at,
        created_at__lt=period.end_at,
        extra_answers__has_key=question_id,
    )


def extra_question_reports(*, tenant: Tenant, period: Period, questions: list[dict]) -> list[dict]:
    """One report per configured question: rated ones get the count, the average, the share of
    4 and 5 and the spread over 1-5; free-text ones the count and the latest answers."""
    reports = []
    with tenant_context(tenant):
        for question in questions:
            qid, kind = question.get("id", ""), question.get("kind", "rating")
            if not qid:
                continue
            answers = answers_to_question(tenant=tenant, period=period, question_id=qid)
            report = {"id": qid, "text": question.get("text", ""), "kind": kind}
            if kind == "rating":
                spread = dict.fromkeys(RATINGS, 0)
                grouped = (
                    answers.annotate(value=KT(f"extra_answers__{qid}"))
                    .values("value")
                    .annotate(n=Count("id"))
                    .order_by()
                )
                for row in grouped:
                    try:
                        rating = int(row["value"])
                    except (TypeError, ValueError):
                        continue
                    if rating in spread:
                        spread[rating] += row["n"]
                count = sum(spread.values())
                report.update(
                    count=count,
                    average=sum(r * n for r, n in spread.items()) / count if count else None,
                    satisfied=share(sum(spread[r] for r in RATINGS if r >= SATISFIED_MIN), count),
                    spread=[
                        (rating, spread[rating], share(spread[rating], count)) for rating in RATINGS
                    ],
                )
            else:
                latest = list(
                    answers.select_related("ticket").order_by("-created_at", "-id")[:EXAMPLES]
                )
                report.update(
                    count=answers.count(),
                    examples=[
                        {
                            "text": str(r.extra_answers.get(qid, "")),
                            "kind": r.kind,
                            "ticket_number": r.ticket.number if r.ticket_id else None,
                            "at": r.created_at,
                        }
                        for r in latest
                    ],
                )
            reports.append(report)
    return reports
