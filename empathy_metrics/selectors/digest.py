"""Reads: the weekly digest (the same data for the email and the page).

The week is Monday to Sunday in the tenant's time zone, compared with the week before:
- CSAT, NPS and retention of both weeks (from the rollups);
- rising complaint themes: keywords of negative customer messages that were found more often
  than the week before, with an example message;
- rising signals (confusion, frustration, urgency, churn risk) with examples;
- confusion themes that no published help article covers yet: keywords of messages showing
  confusion whose words appear in no published article's title or text;
- journey stages whose drop-off rose (provided by the journeys app through a hook).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db.models import Q

from empathy_metrics.facts import SIGNAL_THRESHOLD, clean_keywords, message_scope, present_signals
from empathy_metrics.periods import Filters, Period, local_day, week_start, zone
from empathy_metrics.selectors.rollup import retention_rollup, tallies_for
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Article, MessageAnalysis

THEMES = 5
DIGEST_SIGNALS = ("confusion", "frustration", "urgency", "churn_risk")

_DROPOFF_PROVIDERS: list[Callable[..., list[dict]]] = []


def register_dropoff_provider(provider: Callable[..., list[dict]]) -> None:
    """Journeys: ``provider(tenant=, week=, previous=)`` returns stages whose drop-off rose:
    ``[{"journey", "stage", "dropoff", "previous_dropoff"}]`` (percentages)."""
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


def _keyword_counts(tenant: Tenant, period: Period, condition: Q, signal: str = ""):
    counts: Counter[str] = Counter()
    examples: dict[str, MessageAnalysis] = {}
    for analysis in _analyses(tenant, period, condition).iterator(chunk_size=2000):
        if signal and signal not in present_signals(analysis.signals):
            continue
        for keyword in clean_keywords(analysis.keywords):
            counts[keyword] += 1
            examples.setdefault(keyword, analysis)  # the latest one (newest first)
    return counts, examples


def _example(analysis: MessageAnalysis | None) -> dict | None:
    if analysis is None:
        return None
    return {
        "text": analysis.message.body_text,
        "ticket_number": analysis.ticket.number,
        "at": analysis.message_created_at,
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
    negative = Q(sentiment_label="negative", is_supported_language=True)
    with tenant_context(tenant):
        now_counts, now_examples = _keyword_counts(tenant, week, negative)
        before_counts, _ = _keyword_counts(tenant, previous, negative)
        rising_themes = sorted(
            (
                {
                    "keyword": keyword,
                    "count": count,
                    "previous": before_counts.get(keyword, 0),
                    "rise": count - before_counts.get(keyword, 0),
                    "example": _example(now_examples.get(keyword)),
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
                example = next(
                    (
                        a
                        for a in _analyses(tenant, week, Q(signals__has_key=name))[:50]
                        if name in present_signals(a.signals)
                    ),
                    None,
                )
                rising_signals.append(
                    {"name": name, "count": count, "previous": before, "example": _example(example)}
                )
        confusion_counts, confusion_examples = _keyword_counts(
            tenant, week, Q(signals__has_key="confusion"), signal="confusion"
        )
        uncovered = []
        for keyword, count in sorted(confusion_counts.items(), key=lambda i: (-i[1], i[0])):
            if not _covered(tenant, keyword):
                uncovered.append(
                    {
                        "keyword": keyword,
                        "count": count,
                        "example": _example(confusion_examples.get(keyword)),
                    }
                )
            if len(uncovered) == THEMES:
                break
    dropoffs: list[dict] = []
    for provider in _DROPOFF_PROVIDERS:
        dropoffs.extend(provider(tenant=tenant, week=week, previous=previous) or [])
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
        "dropoffs_available": bool(_DROPOFF_PROVIDERS),
        "signal_threshold": SIGNAL_THRESHOLD,
    }
