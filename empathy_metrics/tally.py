"""``Tally``: counts that add up, from facts (direct) or from rollup rows, and the exact figures.

Every figure is a ratio of counts or a percentile of whole-minute durations, so a tally of a
period is the same whether it was added up from the facts at once or from daily rollup rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

from empathy_metrics.facts import (
    CSAT_SATISFIED_MIN,
    NPS_DETRACTOR_MAX,
    NPS_PROMOTER_MIN,
    CsatFact,
    MessageFact,
    NpsFact,
    TicketFact,
    step_index,
    step_value,
)

COUNTERS = (
    "tickets",
    "repeats",
    "escalated",
    "solved_ever",
    "reopened",
    "sla_attained",
    "sla_missed",
    "frt_count",
    "res_count",
    "csat_count",
    "csat_satisfied",
    "csat_score_sum",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "msg_count",
    "msg_negative",
    "msg_neutral",
    "msg_positive",
    "msg_scored",
    "msg_score_micros",
)
HISTOGRAMS = ("frt_steps", "res_steps")
BAGS = ("signals", "keywords")
TOP_KEYWORDS = 10


def percentile(hist: Mapping[int, int], pct: int) -> int | None:
    """Nearest-rank percentile of durations: the smallest value with at least ``pct``% of the
    values at or below it. ``hist`` maps step numbers (``facts.step_index``) to counts."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = (pct * total + 99) // 100  # ceil(pct / 100 * total) in integers
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return step_value(index)
    return None  # pragma: no cover (unreachable: seen reaches total)


def encode_steps(hist: Mapping[int, int]) -> bytes:
    """A histogram as rollups store it: (step, count) pairs, little-endian uint32."""
    if not hist:
        return b""
    return np.array(sorted(hist.items()), dtype="<u4").tobytes()


def decode_steps(data) -> np.ndarray:
    """``encode_steps`` back to an (n, 2) array of (step, count)."""
    if not data:
        return np.zeros((0, 2), dtype="<u4")
    return np.frombuffer(bytes(data), dtype="<u4").reshape(-1, 2)


def merge_steps(chunks: list) -> dict[int, int]:
    """The sum of several encoded histograms, as ``{step: count}``."""
    arrays = [decode_steps(chunk) for chunk in chunks if chunk]
    if not arrays:
        return {}
    pairs = np.concatenate(arrays)
    counts = np.bincount(pairs[:, 0].astype(np.int64), weights=pairs[:, 1]).astype(np.int64)
    steps = np.nonzero(counts)[0]
    return dict(zip(steps.tolist(), counts[steps].tolist(), strict=True))


def percentiles_of_steps(chunks: list, pcts: tuple[int, ...] = (50, 90)) -> tuple:
    """Nearest-rank percentiles of the sum of several encoded histograms (numpy, fast)."""
    arrays = [decode_steps(chunk) for chunk in chunks if chunk]
    if not arrays:
        return tuple(None for _ in pcts)
    pairs = np.concatenate(arrays)
    counts = np.bincount(pairs[:, 0].astype(np.int64), weights=pairs[:, 1]).astype(np.int64)
    running = np.cumsum(counts)
    total = int(running[-1])
    if total == 0:
        return tuple(None for _ in pcts)
    found = []
    for pct in pcts:
        rank = (pct * total + 99) // 100
        found.append(step_value(int(np.searchsorted(running, rank, side="left"))))
    return tuple(found)


def share(part: int, whole: int) -> float | None:
    """``part / whole`` as a percentage, or None ("no data") when ``whole`` is 0."""
    return None if whole == 0 else part * 100 / whole


class Tally:
    __slots__ = (*COUNTERS, *HISTOGRAMS, *BAGS, "percentiles")

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        # Set when the percentiles were computed elsewhere (in SQL over rollup rows):
        # {"frt": (median, p90), "res": (median, p90)}; the histograms are then left empty.
        self.percentiles: dict | None = None
        self.frt_steps: Counter[int] = Counter()  # {step number: tickets}
        self.res_steps: Counter[int] = Counter()
        self.signals: Counter[str] = Counter()
        self.keywords: Counter[str] = Counter()

    # --- adding facts ----------------------------------------------------------------------

    def add_ticket(self, fact: TicketFact) -> None:
        self.tickets += 1
        self.repeats += fact.repeat
        self.escalated += fact.escalated
        self.solved_ever += fact.solved_ever
        self.reopened += fact.reopened
        if fact.sla == "attained":
            self.sla_attained += 1
        elif fact.sla == "missed":
            self.sla_missed += 1
        if fact.frt is not None:
            self.frt_count += 1
            self.frt_steps[step_index(fact.frt)] += 1
        if fact.res is not None:
            self.res_count += 1
            self.res_steps[step_index(fact.res)] += 1

    def add_csat(self, fact: CsatFact) -> None:
        self.csat_count += 1
        self.csat_score_sum += fact.score
        self.csat_satisfied += fact.score >= CSAT_SATISFIED_MIN

    def add_nps(self, fact: NpsFact) -> None:
        if fact.score >= NPS_PROMOTER_MIN:
            self.nps_promoters += 1
        elif fact.score <= NPS_DETRACTOR_MAX:
            self.nps_detractors += 1
        else:
            self.nps_passives += 1

    def add_message(self, fact: MessageFact) -> None:
        self.msg_count += 1
        if fact.label:
            setattr(self, f"msg_{fact.label}", getattr(self, f"msg_{fact.label}") + 1)
        if fact.score is not None:
            self.msg_scored += 1
            self.msg_score_micros += round(fact.score * 1_000_000)
        self.signals.update(fact.signals)
        self.keywords.update(fact.keywords)

    def add(self, fact) -> None:
        if isinstance(fact, TicketFact):
            self.add_ticket(fact)
        elif isinstance(fact, CsatFact):
            self.add_csat(fact)
        elif isinstance(fact, NpsFact):
            self.add_nps(fact)
        else:
            self.add_message(fact)

    # --- merging rows ----------------------------------------------------------------------

    def merge_row(self, row: Mapping) -> None:
        """Add a rollup row (a ``values()`` dict, or a Tally's ``as_row()``)."""
        for name in COUNTERS:
            value = row.get(name)
            if value:
                setattr(self, name, getattr(self, name) + value)
        for name in HISTOGRAMS:
            data = row.get(name)
            if data:
                target = getattr(self, name)
                for index, count in decode_steps(data).tolist():
                    target[index] += count
        for name in BAGS:
            bag = row.get(name)
            if bag:
                getattr(self, name).update(bag)

    def merge(self, other: Tally) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in (*HISTOGRAMS, *BAGS):
            getattr(self, name).update(getattr(other, name))

    def as_row(self) -> dict:
        row = {name: getattr(self, name) for name in COUNTERS}
        for name in HISTOGRAMS:
            row[name] = encode_steps(getattr(self, name))
        for name in BAGS:
            row[name] = dict(sorted(getattr(self, name).items()))
        return row

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in COUNTERS)

    # --- the figures -----------------------------------------------------------------------

    def _percentiles_of(self, name: str) -> tuple[int | None, int | None]:
        if self.percentiles is not None:
            return self.percentiles.get(name, (None, None))
        hist = self.frt_steps if name == "frt" else self.res_steps
        return percentile(hist, 50), percentile(hist, 90)

    def figures(self, *, keywords: int = TOP_KEYWORDS) -> dict:
        nps_count = self.nps_promoters + self.nps_passives + self.nps_detractors
        frt_median, frt_p90 = self._percentiles_of("frt")
        res_median, res_p90 = self._percentiles_of("res")
        labelled = self.msg_negative + self.msg_neutral + self.msg_positive
        sla_settled = self.sla_attained + self.sla_missed
        return {
            "tickets": self.tickets,
            "csat": {
                "value": share(self.csat_satisfied, self.csat_count),
                "satisfied": self.csat_satisfied,
                "count": self.csat_count,
                "average": self.csat_score_sum / self.csat_count if self.csat_count else None,
            },
            "nps": {
                "value": None
                if nps_count == 0
                else (self.nps_promoters - self.nps_detractors) * 100 / nps_count,
                "promoters": self.nps_promoters,
                "passives": self.nps_passives,
                "detractors": self.nps_detractors,
                "count": nps_count,
            },
            "frt": {"median": frt_median, "p90": frt_p90, "count": self.frt_count},
            "resolution": {"median": res_median, "p90": res_p90, "count": self.res_count},
            "repeat_rate": {
                "value": share(self.repeats, self.tickets),
                "repeats": self.repeats,
                "tickets": self.tickets,
            },
            "escalation_rate": {
                "value": share(self.escalated, self.tickets),
                "escalated": self.escalated,
                "tickets": self.tickets,
            },
            "reopen_rate": {
                "value": share(self.reopened, self.solved_ever),
                "reopened": self.reopened,
                "solved": self.solved_ever,
            },
            "sla": {
                "value": share(self.sla_attained, sla_settled),
                "attained": self.sla_attained,
                "missed": self.sla_missed,
            },
            "sentiment": {
                "negative": self.msg_negative,
                "neutral": self.msg_neutral,
                "positive": self.msg_positive,
                "labelled": labelled,
                "messages": self.msg_count,
                "negative_share": share(self.msg_negative, labelled),
                "positive_share": share(self.msg_positive, labelled),
                "average": self.msg_score_micros / self.msg_scored / 1_000_000
                if self.msg_scored
                else None,
            },
            "signals": dict(sorted(self.signals.items())),
            "keywords": top_items(self.keywords, keywords),
        }


def top_items(bag: Counter, limit: int) -> list[tuple[str, int]]:
    """The ``limit`` most frequent items, ties broken alphabetically (deterministic)."""
    return sorted(bag.items(), key=lambda item: (-item[1], item[0]))[:limit]


def tally_of(facts: Iterable) -> Tally:
    tally = Tally()
    for fact in facts:
        tally.add(fact)
    return tally
