"""Reads: the weekly digest (the same data for the email and the page).

The week is Monday to Sunday in the tenant's time zone, compared with the week before:
- CSAT, NPS and retention of both weeks (from the rollups);
- rising complaint themes: keywords of negative customer messages and survey comments (CSAT
  comments, NPS reasons, help-page feedback) that were found more often than the week before,
  with an example;
- rising signals (confusion, frustration, urgency, churn risk) with examples;
- confusion themes that no published help article covers yet: keywords of messages and survey
  comments showing confusion whose words appear in no published article's title or text;
- a message counts with the agents' corrections of its analysis (its corrected label and
  signals), as in the dashboard's figures.
- journey stages whose drop-off rose (provided by the journeys app through a hook).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from django.db.models import Q

from empathy_metrics.facts import (
    SIGNAL_THRESHOLD,
    SURVEY_ANALYSIS_KEY,
    analysis_as_corrected,
    clean_keywords,
    comment_analysis,
    corrections_of,
    message_scope,
)
from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.periods import Filters, Period, local_day, week_start, zone
from empathy_metrics.selectors.rollup import retention_rollup, tallies_for
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import AnalysisCorrection, Article, MessageAnalysis

THEMES = 5
DIGEST_SIGNALS = ("confusion", "frustration", "urgency", "churn_risk")

_DROPOFF_PROVIDERS: list[Callable[..., list[dict] | None]] = []


def register_dropoff_provider(provider: Callable[..., list[dict] | None]) -> None:
    """Journeys: ``provider(tenant=, week=, previous=)`` returns the stages whose drop-off rose,
    ``[{"journey", "stage", "dropoff", "previous_dropoff", "url", ...}]`` (percentages), or None
    when the tenant tracks no journey (see ``journeys/digest_provider.py``)."""
    if provider not in _DROPOFF_PROVIDERS:
        _DROPOFF_PROVIDERS.append(provider)


def digest_week_for(*, tenant: Tenant, now: datetime) -> date:
    """Monday of the last complete local week before ``now``."""
    today = local_day(now, zone(tenant.time_zone))
    return week_start(today) - timedelta(days=7)


def _week(tenant: Tenant, monday: date) -> Period:
    return Period(monday, monday + timedelta(days=6), zone(tenant.time_zone), "week")


def _analyses(tenant: Tenant, period: Period, condition: Q):
    return (
        MessageAnalysis.objects.for_tenant(tenant)
        .filter(message_scope(period.start_at, period.end_at))
        .filter(condition)
        .select_related("message", "ticket")
        .order_by("-message_created_at", "-id")
    )


COMMENT_SOURCES = {
    SurveyKind.CSAT: "CSAT comment",
    SurveyKind.NPS: "NPS reason",
    SurveyKind.FEEDBACK: "Help-page feedback",
}


def _theme_messages(tenant: Tenant, period: Period, *, label: str, signal: str) -> Iterator:
    """``(at, keywords, analysis)`` of the period's customer messages whose corrected label is
    ``label`` or that show ``signal`` (corrections applied), newest first."""
    corrected = AnalysisCorrection.objects.for_tenant(tenant).filter(
        field="sentiment" if label else signal
    )
    if label:
        condition = Q(is_supported_language=True) & (
            Q(sentiment_label=label) | Q(message_id__in=corrected.values("message_id"))
        )
    else:
        condition = Q(signals__has_key=signal) | Q(
            message_id__in=corrected.filter(corrected="present").values("message_id")
        )
    chunk: list[MessageAnalysis] = []
    analyses = _analyses(tenant, period, condition).iterator(chunk_size=2000)
    while True:
        chunk = [a for _i, a in zip(range(2000), analyses, strict=False)]
        if not chunk:
            return
        corrections = corrections_of(tenant, [a.message_id for a in chunk])
        for a in chunk:
            found, _score, present = analysis_as_corrected(a, corrections)
            if (label and found != label) or (signal and signal not in present):
                continue
            yield a.message_created_at, clean_keywords(a.keywords), a


def _theme_comments(tenant: Tenant, period: Period, *, label: str, signal: str) -> Iterator:
    """``(at, keywords, answer)`` of the period's analysed survey comments that are ``label`` or
    show ``signal``, newest first."""
    answers = (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(
            kind__in=tuple(COMMENT_SOURCES),
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
            extra_answers__has_key=SURVEY_ANALYSIS_KEY,
        )
        .exclude(comment="")
        .select_related("ticket")
        .order_by("-created_at", "-id")
    )
    for answer in answers.iterator(chunk_size=2000):
        analysis = comment_analysis(answer.extra_answers)
        if analysis is None:
            continue
        if (label and analysis["label"] != label) or (signal and signal not in analysis["signals"]):
            continue
        yield answer.created_at, analysis["keywords"], answer


def _keyword_counts(tenant: Tenant, period: Period, *, label: str = "", signal: str = ""):
    """Per keyword: how many messages and survey comments of the period (negative ones with
    ``label``, those showing ``signal`` otherwise) have it, and the latest example of it that
    has a ticket (``comment_examples``: the latest survey comment, when none has)."""
    items = [
        *_theme_messages(tenant, period, label=label, signal=signal),
        *_theme_comments(tenant, period, label=label, signal=signal),
    ]
    items.sort(key=lambda item: item[0], reverse=True)
    counts: Counter[str] = Counter()
    comments: Counter[str] = Counter()
    examples: dict[str, MessageAnalysis | SurveyResponse] = {}
    comment_examples: dict[str, SurveyResponse] = {}
    for _at, keywords, source in items:
        is_comment = isinstance(source, SurveyResponse)
        for keyword in keywords:
            counts[keyword] += 1
            comments[keyword] += is_comment
            if not is_comment or source.ticket_id:
                examples.setdefault(keyword, source)  # the latest (newest first)
            else:
                comment_examples.setdefault(keyword, source)
    return counts, examples, comments, comment_examples


def _example(analysis: MessageAnalysis | SurveyResponse | None) -> dict | None:
    """An example with its ticket (a message, or a CSAT comment on a ticket)."""
    if analysis is None:
        return None
    if isinstance(analysis, SurveyResponse):
        return {
            "text": analysis.comment,
            "ticket_number": analysis.ticket.number,
            "at": analysis.created_at,
            "source": COMMENT_SOURCES.get(analysis.kind, "Survey comment"),
        }
    return {
        "text": analysis.message.body_text,
        "ticket_number": analysis.ticket.number,
        "at": analysis.message_created_at,
        "source": "Message",
    }


def _comment_example(answer: SurveyResponse | None) -> dict | None:
    """A survey comment without a ticket (an NPS reason, help-page feedback)."""
    if answer is None:
        return None
    return {
        "text": answer.comment,
        "at": answer.created_at,
        "source": COMMENT_SOURCES.get(answer.kind, "Survey comment"),
    }


def _covered(tenant: Tenant, keyword: str) -> bool:
    words = [w for w in keyword.split() if len(w) > 2] or [keyword]
    condition = Q()
    for word in words:
        condition &= Q(title__icontains=word) | Q(body__icontains=word)
    return (
        Article.objects.for_tenant(tenant)
        .filter(state=Article.State.PUBLISHED)
        .filter(condition)
        .exists()
    )


def digest_data(*, tenant: Tenant, monday: date) -> dict:
    week = _week(tenant, monday)
    previous = week.previous()
    this_tally, last_tally = tallies_for(
        tenant=tenant,
        slots=[(week.start, week.end), (previous.start, previous.end)],
        filters=Filters(),
    )
    this_figures, last_figures = this_tally.figures(), last_tally.figures()
    retention_now, retention_before = retention_rollup(tenant=tenant, periods=[week, previous])
    headline = [
        {
            "key": "csat",
            "label": "CSAT",
            "unit": "pct",
            "value": this_figures["csat"]["value"],
            "previous": last_figures["csat"]["value"],
            "count": this_figures["csat"]["count"],
        },
        {
            "key": "nps",
            "label": "NPS",
            "unit": "nps",
            "value": this_figures["nps"]["value"],
            "previous": last_figures["nps"]["value"],
            "count": this_figures["nps"]["count"],
        },
        {
            "key": "retention",
            "label": "Customer retention",
            "unit": "pct",
            "value": retention_now["value"],
            "previous": retention_before["value"],
            "count": retention_now["start_active"],
        },
    ]
    with tenant_context(tenant):
        now_counts, now_examples, now_comments, now_comment_examples = _keyword_counts(
            tenant, week, label="negative"
        )
        before_counts = _keyword_counts(tenant, previous, label="negative")[0]
        rising_themes = sorted(
            (
                {
                    "keyword": keyword,
                    "count": count,
                    "previous": before_counts.get(keyword, 0),
                    "rise": count - before_counts.get(keyword, 0),
                    "comments": now_comments[keyword],
                    "example": _example(now_examples.get(keyword)),
                    "comment_example": None
                    if keyword in now_examples
                    else _comment_example(now_comment_examples.get(keyword)),
                }
                for keyword, count in now_counts.items()
                if count > before_counts.get(keyword, 0)
            ),
            key=lambda theme: (-theme["rise"], -theme["count"], theme["keyword"]),
        )[:THEMES]
        rising_signals = []
        for name in DIGEST_SIGNALS:
            count = this_figures["signals"].get(name, 0)
            before = last_figures["signals"].get(name, 0)
            if count > before:
                found = next(_theme_messages(tenant, week, label="", signal=name), None)
                example = found[2] if found else None
                rising_signals.append(
                    {"name": name, "count": count, "previous": before, "example": _example(example)}
                )
        confusion_counts, confusion_examples, confusion_comments, confusion_comment_examples = (
            _keyword_counts(tenant, week, signal="confusion")
        )
        uncovered = []
        for keyword, count in sorted(confusion_counts.items(), key=lambda i: (-i[1], i[0])):
            if not _covered(tenant, keyword):
                uncovered.append(
                    {
                        "keyword": keyword,
                        "count": count,
                        "comments": confusion_comments[keyword],
                        "example": _example(confusion_examples.get(keyword)),
                        "comment_example": None
                        if keyword in confusion_examples
                        else _comment_example(confusion_comment_examples.get(keyword)),
                    }
                )
            if len(uncovered) == THEMES:
                break
    dropoffs: list[dict] = []
    dropoffs_available = False
    for provider in _DROPOFF_PROVIDERS:
        found = provider(tenant=tenant, week=week, previous=previous)
        if found is not None:
            dropoffs_available = True
            dropoffs.extend(found)
    return {
        "week": week,
        "previous": previous,
        "headline": headline,
        "tickets": this_figures["tickets"],
        "previous_tickets": last_figures["tickets"],
        "rising_themes": rising_themes,
        "rising_signals": rising_signals,
        "uncovered_confusion": uncovered,
        "dropoffs": dropoffs,
        "dropoffs_available": dropoffs_available,
        "signal_threshold": SIGNAL_THRESHOLD,
    }
