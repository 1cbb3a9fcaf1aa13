"""Insights: the stages where things got worse against the previous period, in plain words.

Two kinds, each with the numbers of both periods and the evidence (tickets raised at the stage,
what customers said there):

- drop-off rose: a larger share of the customers who reached a stage did not reach the next one;
- negative sentiment rose: a larger share of the messages and analysed survey comments written
  at a stage were negative.

Small samples are ignored (see the minimums below), so one angry customer is not a trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from journeys.selectors.funnels import Funnel
from journeys.selectors.voice import TicketRef, Voice

MIN_REACHED = 20  # customers at the stage, in both periods
MIN_DROP_POINTS = 5.0  # percentage points
MIN_MESSAGES = 10  # scored messages and survey comments at the stage, in both periods
MIN_SENTIMENT_POINTS = 10.0


@dataclass
class Insight:
    kind: str  # "drop_off" or "sentiment"
    stage: int
    stage_name: str
    headline: str
    detail: str
    current: float
    previous: float
    keywords: list[tuple[str, int]] = field(default_factory=list)
    examples: list[TicketRef] = field(default_factory=list)

    @property
    def delta_points(self) -> float:
        return (self.current - self.previous) * 100


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def _points(now: float, before: float) -> str:
    """The change in whole points, as the two rounded percentages shown beside it differ."""
    return f"{round(now * 100) - round(before * 100):+d} points"


def _said(voice: Voice | None, stage: int) -> tuple[list, list, str]:
    if voice is None or voice.stage(stage) is None:
        return [], [], ""
    data = voice.stage(stage)
    keywords = data.keywords[:3]
    text = ""
    if keywords:
        words = ", ".join(f"“{word}” ({count})" for word, count in keywords)
        text = f" What they say there: {words}."
    return keywords, data.examples[:3], text


def _what_was_scored(stage) -> str:
    if not stage.survey_scored:
        return "messages"
    if stage.survey_scored == stage.scored:
        return "survey comments"
    return "messages and survey comments"


def journey_insights(
    *,
    funnel: Funnel,
    previous_funnel: Funnel,
    voice: Voice | None = None,
    previous_voice: Voice | None = None,
) -> list[Insight]:
    insights: list[Insight] = []
    previous_name = previous_funnel.period.label
    for stage in funnel.stages[:-1]:
        before = previous_funnel.stage(stage.position)
        if before is None or stage.drop_off_rate is None or before.drop_off_rate is None:
            continue
        if stage.reached < MIN_REACHED or before.reached < MIN_REACHED:
            continue
        rise = (stage.drop_off_rate - before.drop_off_rate) * 100
        if rise < MIN_DROP_POINTS:
            continue
        keywords, examples, said = _said(voice, stage.position)
        insights.append(
            Insight(
                kind="drop_off",
                stage=stage.position,
                stage_name=stage.name,
                headline=(
                    f"Drop-off at {stage.name} rose from {_pct(before.drop_off_rate)} "
                    f"to {_pct(stage.drop_off_rate)}"
                ),
                detail=(
                    f"{stage.drop_off:,} of the {stage.reached:,} customers who reached "
                    f"{stage.name} did not go on to {stage.next_name} "
                    f"({_pct(stage.drop_off_rate)}), against {before.drop_off:,} of "
                    f"{before.reached:,} ({_pct(before.drop_off_rate)}) in {previous_name}: "
                    f"{_points(stage.drop_off_rate, before.drop_off_rate)}.{said}"
                ),
                current=stage.drop_off_rate,
                previous=before.drop_off_rate,
                keywords=keywords,
                examples=examples,
            )
        )
    if voice is not None and previous_voice is not None:
        for stage in voice.stages:
            before = previous_voice.stage(stage.position)
            if before is None or stage.scored < MIN_MESSAGES or before.scored < MIN_MESSAGES:
                continue
            now_share, then_share = stage.negative_share, before.negative_share
            rise = (now_share - then_share) * 100
            if rise < MIN_SENTIMENT_POINTS:
                continue
            keywords, examples, said = _said(voice, stage.position)
            what = _what_was_scored(stage)
            insights.append(
                Insight(
                    kind="sentiment",
                    stage=stage.position,
                    stage_name=stage.name,
                    headline=(
                        f"Negative sentiment at {stage.name} rose from {_pct(then_share)} "
                        f"to {_pct(now_share)}"
                    ),
                    detail=(
                        f"{stage.sentiment['negative']:,} of the {stage.scored:,} {what} from "
                        f"customers at {stage.name} were negative ({_pct(now_share)}), against "
                        f"{before.sentiment['negative']:,} of {before.scored:,} "
                        f"({_pct(then_share)}) in {previous_name}: "
                        f"{_points(now_share, then_share)}.{said}"
                    ),
                    current=now_share,
                    previous=then_share,
                    keywords=keywords,
                    examples=examples,
                )
            )
    insights.sort(key=lambda i: -i.delta_points)
    return insights
