"""Reads: everything the manager's dashboard shows, assembled from the rollups.

``dashboard_data`` returns plain data: headline cards (value, change against the previous period,
a series for the sparkline), trend series per bucket, breakdown tables, keywords and signals with
example messages, and the definitions. Views only format it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from empathy_metrics.definitions import common_note, definitions_for
from empathy_metrics.facts import analysis_as_corrected, corrections_of, message_scope
from empathy_metrics.periods import Bucket, Filters, Period
from empathy_metrics.selectors.direct import TOO_FEW_AT_START
from empathy_metrics.selectors.drilldown import corrected_message_count
from empathy_metrics.selectors.feedback import feedback_summary
from empathy_metrics.selectors.journey_stages import journey_stage_breakdowns
from empathy_metrics.selectors.names import dimension_labels
from empathy_metrics.selectors.questions import extra_question_reports
from empathy_metrics.selectors.rollup import (
    backlog_on,
    retention_rollup,
    tallies_by_value,
    tallies_for,
)
from empathy_metrics.selectors.settings import survey_settings_get
from helpdesk.db_routing import reads_from_replica
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import AnalysisCorrection, MessageAnalysis

HEADLINE_SIGNALS = ("confusion", "frustration", "urgency")
EXAMPLES_PER_SIGNAL = 3
BREAKDOWN_DIMS = ("channel", "group", "agent", "tag")


@dataclass(frozen=True)
class CardSpec:
    key: str
    label: str
    unit: str  # "pct", "nps", "minutes", "count"
    better: str  # "up", "down" or "" (neither)
    value: Callable[[dict], float | int | None]
    detail: Callable[[dict], str]
    drill: str
    # What the card says instead of a value when there is none for a reason ("" = "No data").
    empty: Callable[[dict], str] = lambda f: ""


def _n(value: int, one: str, many: str) -> str:
    return f"{value:,} {one if value == 1 else many}"


CARDS: tuple[CardSpec, ...] = (
    CardSpec(
        "csat",
        "CSAT",
        "pct",
        "up",
        lambda f: f["csat"]["value"],
        lambda f: _n(f["csat"]["count"], "response", "responses"),
        "csat",
    ),
    CardSpec(
        "nps",
        "NPS",
        "nps",
        "up",
        lambda f: f["nps"]["value"],
        lambda f: (
            f"{f['nps']['promoters']:,} promoters \u00b7 {f['nps']['passives']:,} passives "
            f"\u00b7 {f['nps']['detractors']:,} detractors"
        ),
        "nps",
    ),
    CardSpec(
        "retention",
        "Customer retention",
        "pct",
        "up",
        lambda f: f["retention"]["value"],
        lambda f: _retention_detail(f["retention"]),
        "active_end",
        lambda f: TOO_FEW_TEXT if f["retention"].get("reason") == TOO_FEW_AT_START else "",
    ),
    CardSpec(
        "frt",
        "First response (median)",
        "minutes",
        "down",
        lambda f: f["frt"]["median"],
        lambda f: (
            "p90 "
            + format_minutes(f["frt"]["p90"])
            + " \u00b7 "
            + _n(f["frt"]["count"], "ticket", "tickets")
        ),
        "frt",
    ),
    CardSpec(
        "resolution",
        "Resolution (median)",
        "minutes",
        "down",
        lambda f: f["resolution"]["median"],
        lambda f: (
            "p90 "
            + format_minutes(f["resolution"]["p90"])
            + " \u00b7 "
            + _n(f["resolution"]["count"], "ticket", "tickets")
        ),
        "resolution",
    ),
    CardSpec(
        "tickets",
        "Tickets created",
        "count",
        "",
        lambda f: f["tickets"],
        lambda f: "",
        "tickets",
    ),
    CardSpec(
        "backlog",
        "Backlog",
        "count",
        "down",
        lambda f: f["backlog"]["value"],
        lambda f: "open at the end of the period",
        "backlog",
    ),
    CardSpec(
        "sla",
        "SLA attainment",
        "pct",
        "up",
        lambda f: f["sla"]["value"],
        lambda f: f"{f['sla']['attained']:,} met \u00b7 {f['sla']['missed']:,} breached",
        "sla_missed",
    ),
    CardSpec(
        "repeat_rate",
        "Repeat tickets",
        "pct",
        "down",
        lambda f: f["repeat_rate"]["value"],
        lambda f: f"{f['repeat_rate']['repeats']:,} of {f['repeat_rate']['tickets']:,}",
        "repeats",
    ),
    CardSpec(
        "escalation_rate",
        "Escalation rate",
        "pct",
        "down",
        lambda f: f["escalation_rate"]["value"],
        lambda f: (
            f"{f['escalation_rate']['escalated']:,} of {f['escalation_rate']['tickets']:,} "
            "to tier 2"
        ),
        "escalated",
    ),
    CardSpec(
        "reopen_rate",
        "Reopen rate",
        "pct",
        "down",
        lambda f: f["reopen_rate"]["value"],
        lambda f: f"{f['reopen_rate']['reopened']:,} of {f['reopen_rate']['solved']:,} solved",
        "reopened",
    ),
    CardSpec(
        "sentiment",
        "Negative sentiment",
        "pct",
        "down",
        lambda f: f["sentiment"]["negative_share"],
        lambda f: _n(f["sentiment"]["labelled"], "message", "messages") + _corrected_note(f),
        "negative",
    ),
)


TOO_FEW_TEXT = "Too few customers at the start of the period"


def _retention_detail(retention: dict) -> str:
    start = f"{retention['start_active']:,} active at the start"
    if retention.get("reason") == TOO_FEW_AT_START:
        start += f" (a rate needs {retention['min_start_active']:,})"
    return (
        f"{start} \u00b7 {retention['end_active']:,} at the end \u00b7 "
        f"{retention['acquired']:,} new"
    )


def _corrected_note(figures: dict) -> str:
    corrected = figures["sentiment"].get("corrected") or 0
    return f" \u00b7 {corrected:,} corrected by agents" if corrected else ""


def format_minutes(minutes: int | None) -> str:
    """Business minutes for people: "45 min", "3 h 5 min", "no data"."""
    if minutes is None:
        return "no data"
    hours, rest = divmod(int(minutes), 60)
    if hours == 0:
        return f"{rest} min"
    return f"{hours:,} h" if rest == 0 else f"{hours:,} h {rest} min"


def change_of(spec: CardSpec, current, previous) -> dict | None:
    if current is None or previous is None:
        return None
    delta = current - previous
    direction = "flat" if abs(delta) < 1e-9 else ("up" if delta > 0 else "down")
    if spec.better and direction != "flat":
        tone = "good" if direction == spec.better else "bad"
    else:
        tone = "flat"
    return {"delta": delta, "direction": direction, "tone": tone, "previous": previous}


def _with_extras(figures: dict, retention: dict, backlog: int | None) -> dict:
    return {**figures, "retention": retention, "backlog": {"value": backlog}}


@reads_from_replica  # the replica when one is configured (HELPDESK_REPLICA_DATABASE_URL)
def dashboard_data(
    *, tenant: Tenant, period: Period, filters: Filters, bucket_unit: str, now: datetime
) -> dict:
    previous = period.previous()
    buckets = period.buckets(bucket_unit)
    settings_row = survey_settings_get(tenant=tenant)
    slots = [(period.start, period.end), (previous.start, previous.end)]
    slots += [(bucket.start, bucket.end) for bucket in buckets]
    current_tally, previous_tally, *bucket_tallies = tallies_for(
        tenant=tenant, slots=slots, filters=filters
    )
    bucket_periods = [Period(b.start, b.end, period.tz) for b in buckets]
    retentions = retention_rollup(tenant=tenant, periods=[period, previous, *bucket_periods])
    backlog_days = [period.end, previous.end, *(b.end for b in buckets)]
    backlogs = backlog_on(tenant=tenant, days=backlog_days, filters=filters, now=now, tz=period.tz)
    current = _with_extras(current_tally.figures(), retentions[0], backlogs[period.end])
    current["sentiment"]["corrected"] = corrected_message_count(
        tenant=tenant, period=period, filters=filters
    )
    before = _with_extras(previous_tally.figures(keywords=0), retentions[1], backlogs[previous.end])
    series = [
        _with_extras(tally.figures(keywords=0), retention, backlogs[bucket.end])
        for tally, retention, bucket in zip(bucket_tallies, retentions[2:], buckets, strict=True)
    ]
    cards = []
    for spec in CARDS:
        value = spec.value(current)
        cards.append(
            {
                "key": spec.key,
                "label": spec.label,
                "unit": spec.unit,
                "value": value,
                "detail": spec.detail(current),
                "empty": spec.empty(current) if value is None else "",
                "change": change_of(spec, value, spec.value(before)),
                "series": [spec.value(point) for point in series],
                "drill": spec.drill,
                "better": spec.better,
            }
        )
    labels = dimension_labels(tenant=tenant)
    return {
        "period": period,
        "previous": previous,
        "filters": filters,
        "bucket_unit": bucket_unit,
        "buckets": buckets,
        "figures": current,
        "previous_figures": before,
        "cards": cards,
        "trend": trend_series(buckets, series),
        "breakdowns": {
            dim: breakdown_rows(
                tenant=tenant, period=period, filters=filters, dim=dim, labels=labels[dim]
            )
            for dim in BREAKDOWN_DIMS
            if getattr(filters, dim) is None
        },
        "extra_breakdowns": extra_breakdowns(tenant=tenant, period=period, filters=filters),
        "journey_stages": journey_stage_breakdowns(tenant=tenant, period=period),
        "keywords": current["keywords"],
        "signals": signal_examples(tenant=tenant, period=period, filters=filters, figures=current),
        "questions": extra_question_reports(
            tenant=tenant, period=period, questions=settings_row.extra_questions or []
        ),
        "feedback": feedback_summary(tenant=tenant, period=period),
        "definitions": definitions_for(
            time_zone=tenant.time_zone, active_days=settings_row.active_days
        ),
        "definitions_note": common_note(time_zone=tenant.time_zone),
        "labels": labels,
    }


def trend_series(buckets: list[Bucket], series: list[dict]) -> dict:
    """Per-bucket values for the charts (minutes as business hours, rates as percentages)."""

    def hours(value):
        return None if value is None else round(value / 60, 2)

    def pct(value):
        return None if value is None else round(value, 2)

    return {
        "labels": [b.short_label() for b in buckets],
        "titles": [b.label() for b in buckets],
        "starts": [b.start.isoformat() for b in buckets],
        "ends": [b.end.isoformat() for b in buckets],
        "partial": [b.is_partial for b in buckets],
        "csat": [pct(p["csat"]["value"]) for p in series],
        "csat_count": [p["csat"]["count"] for p in series],
        "nps": [pct(p["nps"]["value"]) for p in series],
        "nps_count": [p["nps"]["count"] for p in series],
        "retention": [pct(p["retention"]["value"]) for p in series],
        "tickets": [p["tickets"] for p in series],
        "backlog": [p["backlog"]["value"] for p in series],
        "frt_median": [hours(p["frt"]["median"]) for p in series],
        "frt_p90": [hours(p["frt"]["p90"]) for p in series],
        "resolution_median": [hours(p["resolution"]["median"]) for p in series],
        "resolution_p90": [hours(p["resolution"]["p90"]) for p in series],
        "repeat_rate": [pct(p["repeat_rate"]["value"]) for p in series],
        "escalation_rate": [pct(p["escalation_rate"]["value"]) for p in series],
        "reopen_rate": [pct(p["reopen_rate"]["value"]) for p in series],
        "sla": [pct(p["sla"]["value"]) for p in series],
        "negative": [p["sentiment"]["negative"] for p in series],
        "neutral": [p["sentiment"]["neutral"] for p in series],
        "positive": [p["sentiment"]["positive"] for p in series],
    }


def breakdown_rows(
    *, tenant: Tenant, period: Period, filters: Filters, dim: str, labels: dict
) -> list[dict]:
    tallies = tallies_by_value(
        tenant=tenant, first=period.start, last=period.end, filters=filters, dim=dim
    )
    rows = []
    for value, tally in tallies.items():
        figures = tally.figures(keywords=0)
        rows.append(
            {
                "value": value,
                "label": labels.get(value, _fallback_label(dim, value)),
                "tickets": figures["tickets"],
                "csat": figures["csat"],
                "frt": figures["frt"],
                "resolution": figures["resolution"],
                "escalation_rate": figures["escalation_rate"],
                "reopen_rate": figures["reopen_rate"],
                "sla": figures["sla"],
                "negative_share": figures["sentiment"]["negative_share"],
                "negative": figures["sentiment"]["negative"],
            }
        )
    rows.sort(key=lambda row: (-row["tickets"], -row["csat"]["count"], str(row["label"])))
    return rows


def _fallback_label(dim: str, value) -> str:
    if dim == "group" and value == 0:
        return "No group"
    if dim == "agent" and value == 0:
        return "Unassigned"
    if dim == "channel":
        return value or "Unknown"
    return f"#{value} (deleted)"


# --- hooks for breakdowns provided by other apps (journey stages) ---------------------------

_EXTRA_BREAKDOWNS: dict[str, Callable[..., list[dict] | None]] = {}


def register_breakdown(name: str, provider: Callable[..., list[dict] | None]) -> None:
    """Add a breakdown table (e.g. journey stages): ``provider(tenant=, period=, filters=)``
    returns rows ``{"label", "value", "tickets", "csat", ...}`` or None when not set up."""
    _EXTRA_BREAKDOWNS[name] = provider


def extra_breakdowns(*, tenant: Tenant, period: Period, filters: Filters) -> dict[str, list]:
    found = {}
    for name, provider in _EXTRA_BREAKDOWNS.items():
        rows = provider(tenant=tenant, period=period, filters=filters)
        if rows is not None:
            found[name] = rows
    return found


# --- signals and keywords with examples -----------------------------------------------------


def _ticket_filters(queryset, filters: Filters, prefix: str = "ticket__"):
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
                {f"{prefix}assignee__isnull": True}
                if filters.agent == 0
                else {f"{prefix}assignee_id": filters.agent}
            )
        )
    if filters.tag is not None:
        queryset = queryset.filter(**{f"{prefix}tags": filters.tag})
    return queryset


def signal_examples(
    *, tenant: Tenant, period: Period, filters: Filters, figures: dict
) -> list[dict]:
    """The headline signals with their counts and the latest example messages (with the
    agents' corrections applied, as in the counts)."""
    found = []
    with tenant_context(tenant):
        base = _ticket_filters(
            MessageAnalysis.objects.for_tenant(tenant).filter(
                message_scope(period.start_at, period.end_at)
            ),
            filters,
        )
        for name in HEADLINE_SIGNALS:
            count = figures["signals"].get(name, 0)
            examples = []
            if count:
                corrected = AnalysisCorrection.objects.for_tenant(tenant).filter(
                    field=name, corrected="present"
                )
                candidates = list(
                    base.filter(
                        Q(signals__has_key=name) | Q(message_id__in=corrected.values("message_id"))
                    )
                    .select_related("message", "ticket")
                    .order_by("-message_created_at", "-id")[:50]
                )
                corrections = corrections_of(tenant, [a.message_id for a in candidates])
                for analysis in candidates:
                    if name in analysis_as_corrected(analysis, corrections)[2]:
                        value = (analysis.signals or {}).get(name)
                        examples.append(
                            {
                                "text": analysis.message.body_text,
                                "phrases": value.get("phrases", [])
                                if isinstance(value, dict)
                                else [],
                                "ticket_number": analysis.ticket.number,
                                "at": analysis.message_created_at,
                            }
                        )
                    if len(examples) == EXAMPLES_PER_SIGNAL:
                        break
            found.append({"name": name, "count": count, "examples": examples})
    return found
