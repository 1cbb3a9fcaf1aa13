"""Voice of the customer per stage: what customers said while they were at each stage.

Every ticket, analysed message and survey answer of the period is placed at the stage its
customer had reached *at the moment they wrote* (joined by customer and time through the runs and
steps). Per stage: tickets and chats raised there, the sentiment mix and support signals of the
messages and of the analysed survey comments, their top keywords, survey answers, and the CSAT of
the tickets raised there.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from helpdesk.tenancy.models import Tenant
from journeys.derive import Position
from journeys.feedback import FeedbackItem, feedback_items
from journeys.models import Journey, JourneyStage
from journeys.selectors.funnels import Period, journey_stages
from journeys.selectors.positions import positions_at, stage_info
from journeys.selectors.voice_postgresql import voice_item_counts
from tickets.models import Channel, MessageAnalysis, Ticket

SIGNAL_PRESENT_AT = 0.5  # as tickets.services.analysis: a signal counts from this score
MAX_MESSAGES = 50_000
MAX_TICKETS = 50_000
EXAMPLES = 5
TOP_KEYWORDS = 8
SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class TicketRef:
    id: int
    number: int
    subject: str
    channel: str
    created_at: datetime
    mood_label: str
    state: str  # the customer's state at the stage when they wrote: in_progress, stuck, ...
    waited_seconds: int


@dataclass
class StageVoice:
    position: int
    name: str
    tickets: int = 0
    chats: int = 0
    states: Counter = field(default_factory=Counter)  # tickets by the customer's state then
    messages: int = 0
    survey_scored: int = 0  # survey comments with an analysis (counted in sentiment, signals...)
    sentiment: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SENTIMENTS, 0))
    signals: list[tuple[str, int]] = field(default_factory=list)
    keywords: list[tuple[str, int]] = field(default_factory=list)
    surveys: int = 0
    csat_count: int = 0
    csat_average: float | None = None
    csat_satisfied: int = 0  # 4 or 5
    nps_count: int = 0
    nps_score: float | None = None
    comments: list[FeedbackItem] = field(default_factory=list)
    examples: list[TicketRef] = field(default_factory=list)

    @property
    def state_list(self) -> list[tuple[str, int]]:
        """Tickets by the customer's state when they wrote, in words (for templates)."""
        words = {"in_progress": "in progress", "stuck": "stuck", "dropped": "dropped"}
        words["completed"] = "completed"
        return [(words.get(k, k), n) for k, n in self.states.most_common()]

    @property
    def scored(self) -> int:
        return sum(self.sentiment.values())

    @property
    def negative_share(self) -> float | None:
        return self.sentiment["negative"] / self.scored if self.scored else None

    def sentiment_shares(self) -> dict[str, float]:
        total = self.scored
        return {k: (v / total if total else 0.0) for k, v in self.sentiment.items()}

    @property
    def csat_share(self) -> float | None:
        return self.csat_satisfied / self.csat_count if self.csat_count else None

    @property
    def is_empty(self) -> bool:
        return not (self.tickets or self.messages or self.surveys or self.csat_count)


@dataclass
class Voice:
    journey: Journey
    period: Period
    stages: list[StageVoice]
    outside: int = 0  # items from customers who were not in the journey at the time
    tickets_capped: bool = False  # only the newest MAX_TICKETS tickets of the period were read
    messages_capped: bool = False  # only the newest MAX_MESSAGES analysed messages were read
    computed_ms: float = 0.0

    @property
    def truncated(self) -> bool:
        return self.tickets_capped or self.messages_capped

    @property
    def capped_what(self) -> str:
        """What the caps cut, in words: "tickets", "analysed messages" or both ("" if nothing)."""
        parts = []
        if self.tickets_capped:
            parts.append(f"{MAX_TICKETS:,} tickets")
        if self.messages_capped:
            parts.append(f"{MAX_MESSAGES:,} analysed messages")
        return " and the latest ".join(parts)

    def stage(self, position: int) -> StageVoice | None:
        return next((s for s in self.stages if s.position == position), None)


def _present(signals) -> list[str]:
    """Signal names present in an analysis: ``{"urgency": {"score": 0.8, ...}}`` (or a list)."""
    if isinstance(signals, list):
        return [name for name in signals if isinstance(name, str)]
    if not isinstance(signals, dict):
        return []
    present = []
    for name, value in signals.items():
        score = value.get("score", 0) if isinstance(value, dict) else value
        if isinstance(score, int | float) and score >= SIGNAL_PRESENT_AT:
            present.append(name)
    return present


def journey_voice(
    *,
    tenant: Tenant,
    journey: Journey,
    period: Period,
    stages: list[JourneyStage] | None = None,
) -> Voice:
    started = time.perf_counter()
    stages = stages if stages is not None else journey_stages(tenant=tenant, journey=journey)
    info = stage_info(journey, stages)
    voices = [StageVoice(position=s.position, name=s.name) for s in stages]
    voice = Voice(journey=journey, period=period, stages=voices)
    if not stages:
        return voice
    signal_counts: dict[int, Counter] = defaultdict(Counter)
    keyword_counts: dict[int, Counter] = defaultdict(Counter)
    if connection.vendor == "postgresql":
        _tickets_and_messages_in_sql(tenant, journey, info, voice, signal_counts, keyword_counts)
    else:
        _tickets_and_messages(tenant, journey, info, voice, signal_counts, keyword_counts)
    _answers(tenant, journey, info, voice, signal_counts, keyword_counts)
    for stage in voices:
        stage.signals = _ranked(signal_counts[stage.position])
        stage.keywords = _ranked(keyword_counts[stage.position])[:TOP_KEYWORDS]
    voice.computed_ms = (time.perf_counter() - started) * 1000
    return voice


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    """Most frequent first; equal counts in alphabetical order (the same on both paths)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _locate(voice: Voice, positions: Iterable[Position | None]) -> Iterator[Position | None]:
    """The positions inside the journey's stages (None also for a stage past the last: the
    positions of an older definition, being recomputed)."""
    for position in positions:
        yield None if position is None or position.stage >= len(voice.stages) else position


def _count_analysis(
    stage: StageVoice,
    label: str,
    signals,
    keywords,
    signal_counts: dict[int, Counter],
    keyword_counts: dict[int, Counter],
) -> None:
    if label in stage.sentiment:
        stage.sentiment[label] += 1
    for name in _present(signals):
        signal_counts[stage.position][name] += 1
    for keyword in keywords or []:
        if isinstance(keyword, str) and keyword.strip():
            keyword_counts[stage.position][keyword.strip().lower()] += 1


def _tickets_and_messages(tenant, journey, info, voice, signal_counts, keyword_counts) -> None:
    """The period's tickets and analysed messages, read and placed here (SQLite)."""
    period, voices = voice.period, voice.stages
    tickets = list(
        Ticket.objects.for_tenant(tenant)
        .filter(created_at__gte=period.start, created_at__lt=period.end, merged_into=None)
        .order_by("-created_at", "-id")
        .values_list(
            "id", "number", "subject", "channel", "customer_id", "created_at", "mood_label"
        )[:MAX_TICKETS]
    )
    analyses = list(
        MessageAnalysis.objects.for_tenant(tenant)
        .filter(
            message_created_at__gte=period.start,
            message_created_at__lt=period.end,
            customer__isnull=False,
        )
        .order_by("-message_created_at")
        .values_list("customer_id", "message_created_at", "sentiment_label", "signals", "keywords")[
            :MAX_MESSAGES
        ]
    )
    voice.tickets_capped = len(tickets) == MAX_TICKETS
    voice.messages_capped = len(analyses) == MAX_MESSAGES
    points = [(t[4], t[5]) for t in tickets] + [(a[0], a[1]) for a in analyses]
    placed = _locate(voice, positions_at(tenant=tenant, journey=journey, info=info, points=points))
    for pk, number, subject, channel, _customer_id, created_at, mood in tickets:
        position = next(placed)
        if position is None:
            voice.outside += 1
            continue
        stage = voices[position.stage]
        stage.tickets += 1
        stage.states[position.state] += 1
        if channel == Channel.CHAT:
            stage.chats += 1
        if len(stage.examples) < EXAMPLES:  # newest first
            stage.examples.append(
                TicketRef(
                    pk,
                    number,
                    subject,
                    channel,
                    created_at,
                    mood,
                    position.state,
                    position.for_seconds,
                )
            )
    for _customer_id, _at, label, signals, keywords in analyses:
        position = next(placed)
        if position is None:
            voice.outside += 1
            continue
        stage = voices[position.stage]
        stage.messages += 1
        _count_analysis(stage, label, signals, keywords, signal_counts, keyword_counts)


def _tickets_and_messages_in_sql(
    tenant, journey, info, voice, signal_counts, keyword_counts
) -> None:
    """The same, placed and counted by PostgreSQL (``voice_postgresql``)."""
    counts = voice_item_counts(
        tenant=tenant,
        journey=journey,
        info=info,
        period=voice.period,
        max_tickets=MAX_TICKETS,
        max_messages=MAX_MESSAGES,
        examples=EXAMPLES,
        signal_present_at=SIGNAL_PRESENT_AT,
        chat_channel=Channel.CHAT,
    )
    voice.tickets_capped = counts.tickets_read == MAX_TICKETS
    voice.messages_capped = counts.messages_read == MAX_MESSAGES
    voice.outside += counts.outside
    for stage, found in zip(voice.stages, counts.stages, strict=True):
        stage.tickets, stage.chats, stage.states = found.tickets, found.chats, found.states
        stage.examples = [TicketRef(*example) for example in found.examples]
        stage.messages = found.messages
        for label, number in found.sentiment.items():
            if label in stage.sentiment:
                stage.sentiment[label] += number
        signal_counts[stage.position].update(found.signals)
        keyword_counts[stage.position].update(found.keywords)


def _answers(tenant, journey, info, voice, signal_counts, keyword_counts) -> None:
    """The survey answers of the period (from the feedback sources), placed at the stage their
    customer was in when they answered; CSAT at the stage where the rated ticket was raised,
    whenever that was."""
    voices = voice.stages
    answers = feedback_items(tenant=tenant, start=voice.period.start, end=voice.period.end)
    rated_ids = {a.ticket_id for a in answers if a.kind == "csat" and a.ticket_id}
    raised = {
        pk: (customer_id, created_at)
        for pk, customer_id, created_at in Ticket.objects.for_tenant(tenant)
        .filter(pk__in=rated_ids)
        .values_list("id", "customer_id", "created_at")
    }
    rated = [
        a for a in answers if a.kind == "csat" and a.ticket_id in raised and a.score is not None
    ]
    points = [(a.customer_id, a.at) for a in answers] + [raised[a.ticket_id] for a in rated]
    placed = _locate(voice, positions_at(tenant=tenant, journey=journey, info=info, points=points))
    nps: dict[int, list[int]] = defaultdict(list)
    for answer in answers:
        position = next(placed)
        if position is None:
            voice.outside += 1
            continue
        stage = voices[position.stage]
        stage.surveys += 1
        if answer.sentiment_label in stage.sentiment and answer.comment.strip():
            stage.survey_scored += 1
            _count_analysis(
                stage,
                answer.sentiment_label,
                answer.signals,
                answer.keywords,
                signal_counts,
                keyword_counts,
            )
        if answer.kind == "nps" and answer.score is not None:
            nps[position.stage].append(answer.score)
        if answer.comment.strip() and len(stage.comments) < EXAMPLES:
            stage.comments.append(answer)
    csat: dict[int, list[int]] = defaultdict(list)
    for answer in rated:
        position = next(placed)
        if position is not None:
            csat[position.stage].append(answer.score)
    for stage in voices:
        scores = csat[stage.position]
        if scores:
            stage.csat_count = len(scores)
            stage.csat_average = sum(scores) / len(scores)
            stage.csat_satisfied = sum(1 for s in scores if s >= 4)
        scores = nps[stage.position]
        if scores:
            stage.nps_count = len(scores)
            promoters = sum(1 for s in scores if s >= 9)
            detractors = sum(1 for s in scores if s <= 6)
            stage.nps_score = 100 * (promoters - detractors) / len(scores)
