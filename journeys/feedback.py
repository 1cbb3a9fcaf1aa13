"""The survey part of the voice of the customer, provided by a higher app through a hook.

``journeys`` sits left of ``empathy_metrics`` in the dependency order, so it cannot import the
survey models. Instead, a higher app registers a *feedback source*: a callable
``source(*, tenant, start, end)`` returning ``FeedbackItem``s of answers given in ``[start, end)``.
The voice-of-the-customer panel places each answer at the stage the customer was in when they gave
it, and puts CSAT under the stage where the rated ticket was raised.

empathy_metrics registers its survey answers (CSAT, NPS, free-form feedback) from its
``AppConfig.ready()``: see ``empathy_metrics/journey_feedback.py``.

An answer's comment may carry the message analyser's reading of it (``sentiment_label``,
``sentiment_score``, ``signals``, ``keywords``, as a ``MessageAnalysis``): the panel then counts it
in the stage's sentiment mix, signals and keywords like a message.

Sources run inside the caller's tenant scope and must filter by ``tenant`` themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.tenancy.models import Tenant


@dataclass(frozen=True)
class FeedbackItem:
    customer_id: int
    at: datetime
    kind: str  # "csat" (1-5), "nps" (0-10) or "feedback" (text only)
    score: int | None
    comment: str = ""
    ticket_id: int | None = None
    # The analysis of ``comment`` (empty when it has none yet): "negative", "neutral" or "positive";
    # signals as stored by the analyser (``{"urgency": {"score": 0.8}}`` or a list of names).
    sentiment_label: str = ""
    sentiment_score: float | None = None
    signals: dict | list | tuple = field(default=(), hash=False)
    keywords: tuple[str, ...] = ()


FeedbackSource = Callable[..., Iterable[FeedbackItem]]

_SOURCES: list[FeedbackSource] = []


def register_feedback_source(source: FeedbackSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def unregister_feedback_source(source: FeedbackSource) -> None:
    if source in _SOURCES:
        _SOURCES.remove(source)


def feedback_items(*, tenant: Tenant, start: datetime, end: datetime) -> list[FeedbackItem]:
    items: list[FeedbackItem] = []
    for source in list(_SOURCES):
        items.extend(source(tenant=tenant, start=start, end=end))
    return items
