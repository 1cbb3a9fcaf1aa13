"""The facts every figure is computed from, read straight from the source tables.

One fact per ticket created, per CSAT or NPS answer and per analysed customer message, each with
the tenant-local day it counts on and the dimensions it can be filtered and broken down by. The
direct selectors aggregate these facts for a period; the rollups aggregate them per day and are
merged later. Both go through ``empathy_metrics.tally.Tally``, so they agree by construction, and
the tests check it on random data.

Definitions (also shown on the dashboard behind the info icon, see ``definitions.py``):

- a ticket counts on the local day it was created (a cohort); merged-away duplicates do not count;
- first response time: business minutes from creation to the first public staff reply;
- resolution time: business minutes from creation to the (latest) solve or close;
- durations are whole business minutes (rounded), counted on a scale of steps: every minute
  below 1 hour, 5 minutes below 8 hours, 15 minutes below 48 hours, whole hours beyond (a
  duration counts as the step it falls in, e.g. 2 h 7 min as 2 h 5 min), so that the
  percentiles of any period can be merged from daily, weekly and monthly rollups quickly;
- escalated: the ticket was moved to tier 2 at least once (a ``ticket.escalated`` event);
- reopened: reopened at least once; "solved at least once" is solved now or ever reopened;
- SLA: tickets with an SLA policy; missed when a target was breached, attained when solved or
  closed without any breach (open tickets without a breach are still pending);
- CSAT, NPS and messages count on the local day they were given or written;
- a message counts with its agents' corrections applied (``AnalysisCorrection``: the corrected
  label, with ``CORRECTED_SCORE`` as its score, and the signals marked present or absent), the
  way the ticket's mood does (``tickets.services.analysis``); the prediction itself is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from empathy_metrics.models import SurveyKind, SurveyResponse
from helpdesk.tenancy.models import Tenant
from tickets.business_hours import BusinessCalendar
from tickets.models import (
    AnalysisCorrection,
    MessageAnalysis,
    Status,
    Ticket,
    TicketEvent,
    TicketTag,
)
from tickets.services.analysis import CORRECTED_SCORE

ESCALATED_TO_TIER = "2"
SIGNAL_THRESHOLD = 0.5
SENTIMENT_LABELS = ("negative", "neutral", "positive")
SOLVED_STATUSES = (Status.SOLVED, Status.CLOSED)
CSAT_SATISFIED_MIN = 4
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6


def whole_minutes(minutes: float) -> int:
    """Business minutes rounded to the nearest whole minute (halves up)."""
    return int(minutes + 0.5)


# (below, step): durations under ``below`` minutes count in steps of ``step`` minutes.
DURATION_STEPS = ((60, 1), (8 * 60, 5), (48 * 60, 15), (None, 60))


def duration_step(minutes: int) -> int:
    """The step of the duration scale that ``minutes`` (whole minutes) falls in."""
    for below, step in DURATION_STEPS:
        if below is None or minutes < below:
            return minutes - minutes % step
    raise AssertionError("unreachable")  # pragma: no cover


def duration_of(minutes: float) -> int:
    return duration_step(whole_minutes(minutes))


# The steps numbered from 0 (how rollups store them): 0..59 are the minutes below an hour, then
# 12 steps an hour up to 8 h, 4 an hour up to 48 h, then one an hour.
_STEP_BASES = ((0, 60, 1, 0), (60, 480, 5, 60), (480, 2880, 15, 144), (2880, None, 60, 304))


def step_index(minutes: int) -> int:
    """The number of the step that a duration (whole minutes) falls in."""
    for low, high, size, base in _STEP_BASES:
        if high is None or minutes < high:
            return base + (minutes - low) // size
    raise AssertionError("unreachable")  # pragma: no cover


def step_value(index: int) -> int:
    """The first minute of step number ``index`` (the value a percentile reports)."""
    for low, _high, size, base in reversed(_STEP_BASES):
        if index >= base:
            return low + (index - base) * size
    raise ValueError(index)


@dataclass(slots=True)
class TicketFact:
    id: int
    number: int
    day: date
    channel: str
    group_key: int
    agent_key: int
    tag_keys: tuple[int, ...]
    frt: int | None
    res: int | None
    repeat: bool
    escalated: bool
    solved_ever: bool
    reopened: bool
    sla: str | None  # "attained", "missed" or None (no policy, or still pending)


@dataclass(slots=True)
class CsatFact:
    id: int
    day: date
    score: int
    ticket_id: int | None
    channel: str
    group_key: int
    agent_key: int
    tag_keys: tuple[int, ...]


@dataclass(slots=True)
class NpsFact:
    id: int
    day: date
    score: int


@dataclass(slots=True)
class MessageFact:
    id: int
    day: date
    label: str
    score: float | None
    signals: tuple[str, ...]
    keywords: tuple[str, ...]
    ticket_id: int
    channel: str
    group_key: int
    agent_key: int
    tag_keys: tuple[int, ...]
    corrected: bool = False  # an agent corrected its sentiment or a signal


def present_signals(signals) -> tuple[str, ...]:
    """Signal names whose score reaches the threshold (``{"urgency": {"score": 0.8}}``)."""
    if not isinstance(signals, dict):
        return ()
    found = []
    for name, value in signals.items():
        score = value.get("score") if isinstance(value, dict) else value
        is_number = isinstance(score, int | float) and not isinstance(score, bool)
        if is_number and score >= SIGNAL_THRESHOLD:
            found.append(str(name))
    return tuple(sorted(found))


def clean_keywords(keywords) -> tuple[str, ...]:
    if not isinstance(keywords, list):
        return ()
    seen = dict.fromkeys(k.strip().lower() for k in keywords if isinstance(k, str) and k.strip())
    return tuple(seen)


def _tags_by_ticket(tenant: Tenant, ticket_filter: Q) -> dict[int, tuple[int, ...]]:
    tags: dict[int, list[int]] = defaultdict(list)
    rows = (
        TicketTag.objects.for_tenant(tenant)
        .filter(ticket_filter)
        .values_list("ticket_id", "tag_id")
        .order_by()
    )
    for ticket_id, tag_id in rows.iterator(chunk_size=5000):
        tags[ticket_id].append(tag_id)
    return {ticket_id: tuple(sorted(set(ids))) for ticket_id, ids in tags.items()}


def ticket_scope(start_at: datetime, end_at: datetime, prefix: str = "") -> Q:
    """Tickets created in ``[start_at, end_at)`` that were not merged into another."""
    return Q(
        **{
            f"{prefix}created_at__gte": start_at,
            f"{prefix}created_at__lt": end_at,
            f"{prefix}merged_into__isnull": True,
        }
    )


def ticket_facts(
    *,
    tenant: Tenant,
    start_at: datetime,
    end_at: datetime,
    tz: ZoneInfo,
    calendar: BusinessCalendar,
) -> list[TicketFact]:
    scope = ticket_scope(start_at, end_at)
    tags = _tags_by_ticket(tenant, ticket_scope(start_at, end_at, "ticket__"))
    escalated = set(
        TicketEvent.objects.for_tenant(tenant)
        .filter(ticket_scope(start_at, end_at, "ticket__"))
        .filter(kind="ticket.escalated", to_value=ESCALATED_TO_TIER)
        .values_list("ticket_id", flat=True)
        .order_by()
    )
    rows = (
        Ticket.objects.for_tenant(tenant)
        .filter(scope)
        .values_list(
            "id",
            "number",
            "created_at",
            "channel",
            "group_id",
            "assignee_id",
            "first_response_at",
            "solved_at",
            "status",
            "reopen_count",
            "repeat_of_id",
            "sla_policy_id",
            "sla_breached_at",
        )
        .order_by()
    )
    minutes = calendar.business_minutes_between
    facts = []
    for (
        pk,
        number,
        created_at,
        channel,
        group_id,
        assignee_id,
        first_response_at,
        solved_at,
        status,
        reopen_count,
        repeat_of_id,
        sla_policy_id,
        sla_breached_at,
    ) in rows.iterator(chunk_size=5000):
        if sla_policy_id is None:
            sla = None
        elif sla_breached_at is not None:
            sla = "missed"
        elif status in SOLVED_STATUSES:
            sla = "attained"
        else:
            sla = None
        facts.append(
            TicketFact(
                id=pk,
                number=number,
                day=created_at.astimezone(tz).date(),
                channel=channel,
                group_key=group_id or 0,
                agent_key=assignee_id or 0,
                tag_keys=tags.get(pk, ()),
                frt=whole_minutes(minutes(created_at, first_response_at))
                if first_response_at is not None
                else None,
                res=whole_minutes(minutes(created_at, solved_at))
                if solved_at is not None
                else None,
                repeat=repeat_of_id is not None,
                escalated=pk in escalated,
                solved_ever=solved_at is not None or reopen_count > 0,
                reopened=reopen_count > 0,
                sla=sla,
            )
        )
    return facts


def _response_scope(kind: str, start_at: datetime, end_at: datetime) -> Q:
    return Q(kind=kind, created_at__gte=start_at, created_at__lt=end_at, score__isnull=False)


def csat_facts(
    *, tenant: Tenant, start_at: datetime, end_at: datetime, tz: ZoneInfo
) -> list[CsatFact]:
    scope = _response_scope(SurveyKind.CSAT, start_at, end_at)
    responses = SurveyResponse.objects.for_tenant(tenant).filter(scope)
    tags = _tags_by_ticket(
        tenant, Q(ticket_id__in=responses.filter(ticket__isnull=False).values("ticket_id"))
    )
    rows = responses.values_list(
        "id", "created_at", "score", "ticket_id", "ticket__channel", "ticket__group_id", "agent_id"
    ).order_by()
    return [
        CsatFact(
            id=pk,
            day=created_at.astimezone(tz).date(),
            score=score,
            ticket_id=ticket_id,
            channel=channel or "",
            group_key=group_id or 0,
            agent_key=agent_id or 0,
            tag_keys=tags.get(ticket_id, ()) if ticket_id else (),
        )
        for pk, created_at, score, ticket_id, channel, group_id, agent_id in rows.iterator(
            chunk_size=5000
        )
    ]


def nps_facts(
    *, tenant: Tenant, start_at: datetime, end_at: datetime, tz: ZoneInfo
) -> list[NpsFact]:
    rows = (
        SurveyResponse.objects.for_tenant(tenant)
        .filter(_response_scope(SurveyKind.NPS, start_at, end_at))
        .values_list("id", "created_at", "score")
        .order_by()
    )
    return [
        NpsFact(id=pk, day=created_at.astimezone(tz).date(), score=score)
        for pk, created_at, score in rows.iterator(chunk_size=5000)
    ]


def message_scope(start_at: datetime, end_at: datetime, prefix: str = "") -> Q:
    return Q(
        **{f"{prefix}message_created_at__gte": start_at, f"{prefix}message_created_at__lt": end_at}
    )


Corrections = dict[int, dict[str, str]]


def corrections_of(tenant: Tenant, message_ids) -> Corrections:
    """The agents' corrections of these messages (a list or a ``values("message_id")``
    queryset): ``{message id: {"sentiment" or a signal: corrected value}}``. Corrections are
    few, so this is one small query."""
    found: Corrections = defaultdict(dict)
    rows = (
        AnalysisCorrection.objects.for_tenant(tenant)
        .filter(message_id__in=message_ids)
        .values_list("message_id", "field", "corrected")
        .order_by()
    )
    for message_id, field, corrected in rows:
        found[message_id][field] = corrected
    return dict(found)


def effective_analysis(
    label: str, score: float | None, signals, corrected: dict[str, str] | None
) -> tuple[str, float | None, tuple[str, ...]]:
    """``(label, score, present signals)`` of a supported-language analysis with its
    corrections applied, as ``tickets.services.analysis._effective`` does for the mood: a
    corrected label wins and scores ``CORRECTED_SCORE``; a signal corrected "present" or
    "absent" is added or removed. The prediction itself is never changed."""
    present = set(present_signals(signals))
    if not corrected:
        return label, score, tuple(sorted(present))
    new_label = corrected.get("sentiment")
    if new_label in SENTIMENT_LABELS and new_label != label:
        label, score = new_label, CORRECTED_SCORE[new_label]
    for name, value in corrected.items():
        if name == "sentiment":
            continue
        if value == "present":
            present.add(name)
        elif value == "absent":
            present.discard(name)
    return label, score, tuple(sorted(present))


def analysis_as_corrected(
    analysis: MessageAnalysis, corrections: Corrections
) -> tuple[str, float | None, tuple[str, ...]]:
    """``effective_analysis`` of one stored analysis with the agents' corrections of its message
    (from ``corrections_of``). A message in an unsupported language has no label or score, only
    the signals found in it, and no corrections apply."""
    if not analysis.is_supported_language:
        return "", None, present_signals(analysis.signals)
    return effective_analysis(
        analysis.sentiment_label,
        analysis.sentiment_score,
        analysis.signals,
        corrections.get(analysis.message_id),
    )


def message_facts(
    *, tenant: Tenant, start_at: datetime, end_at: datetime, tz: ZoneInfo
) -> list[MessageFact]:
    analyses = MessageAnalysis.objects.for_tenant(tenant).filter(message_scope(start_at, end_at))
    tags = _tags_by_ticket(tenant, Q(ticket_id__in=analyses.values("ticket_id")))
    corrections = corrections_of(tenant, analyses.values("message_id"))
    rows = analyses.values_list(
        "id",
        "message_id",
        "message_created_at",
        "sentiment_label",
        "sentiment_score",
        "signals",
        "keywords",
        "ticket_id",
        "ticket__channel",
        "ticket__group_id",
        "ticket__assignee_id",
        "is_supported_language",
    ).order_by()
    facts = []
    for (
        pk,
        message_id,
        created_at,
        label,
        score,
        signals,
        keywords,
        ticket_id,
        channel,
        group_id,
        assignee_id,
        supported,
    ) in rows.iterator(chunk_size=5000):
        corrected = corrections.get(message_id) if supported else None
        if supported:
            label, score, present = effective_analysis(label, score, signals, corrected)
        else:
            label, score, present = "", None, present_signals(signals)
        facts.append(
            MessageFact(
                id=pk,
                day=created_at.astimezone(tz).date(),
                label=label if label in SENTIMENT_LABELS else "",
                score=score,
                signals=present,
                keywords=clean_keywords(keywords),
                ticket_id=ticket_id,
                channel=channel or "",
                group_key=group_id or 0,
                agent_key=assignee_id or 0,
                tag_keys=tags.get(ticket_id, ()),
                corrected=bool(corrected),
            )
        )
    return facts


# --- survey comments ---------------------------------------------------------------------
#
# CSAT comments, NPS reasons and help-page feedback go through the message analyser too
# (``services_survey_analysis``); the result is kept with the answer, in
# ``SurveyResponse.extra_answers["_analysis"]``. They feed the digest's themes and the drills,
# not the message figures (which count customer messages on tickets).

SURVEY_ANALYSIS_KEY = "_analysis"


def comment_analysis(extra_answers) -> dict | None:
    """The analysis of an answer's comment: ``{"label", "score", "signals", "keywords"}``
    (label "" and score None when the language is not supported), or None if not analysed."""
    found = (
        (extra_answers or {}).get(SURVEY_ANALYSIS_KEY) if isinstance(extra_answers, dict) else None
    )
    if not isinstance(found, dict):
        return None
    supported = found.get("is_supported_language", True)
    label = found.get("sentiment_label") or ""
    return {
        "label": label if supported and label in SENTIMENT_LABELS else "",
        "score": found.get("sentiment_score") if supported else None,
        "signals": present_signals(found.get("signals")),
        "keywords": clean_keywords(found.get("keywords")),
    }


# --- dimensions ----------------------------------------------------------------------------

DIM_BITS = {"channel": 1, "group": 2, "agent": 4, "tag": 8}
# The grouping sets that rollups store, smallest first: the totals, each dimension alone, each
# pair, then all but the tag, then all four. A query uses the first set that covers every
# dimension it filters or breaks down by.
GSETS = (0, 1, 2, 4, 8, 3, 5, 6, 9, 10, 12, 7, 15)
# Sets of at most two dimensions also get weekly and monthly rows (merged from the daily ones).
UNIT_GSETS = tuple(gset for gset in GSETS if bin(gset).count("1") <= 2)


def gset_for(dims: int) -> int:
    for gset in GSETS:
        if dims & ~gset == 0:
            return gset
    raise ValueError(f"no grouping set covers {dims}")


def fact_matches(fact, filters) -> bool:
    """Whether a ticket, CSAT or message fact passes the dashboard filters."""
    if filters.channel is not None and fact.channel != filters.channel:
        return False
    if filters.group is not None and fact.group_key != filters.group:
        return False
    if filters.agent is not None and fact.agent_key != filters.agent:
        return False
    return filters.tag is None or filters.tag in fact.tag_keys


def row_keys(fact) -> Iterator[tuple[int, str, int, int, int]]:
    """The rollup rows ``(gset, channel, group_key, agent_key, tag_key)`` a fact counts in
    (a fact with several tags counts once in the row of each tag)."""
    for gset in GSETS:
        channel = fact.channel if gset & 1 else "*"
        group_key = fact.group_key if gset & 2 else -1
        agent_key = fact.agent_key if gset & 4 else -1
        if gset & 8:
            for tag in fact.tag_keys:
                yield (gset, channel, group_key, agent_key, tag)
        else:
            yield (gset, channel, group_key, agent_key, -1)


def days_of(facts: Iterable) -> set[date]:
    return {fact.day for fact in facts}
