"""A customer's position in a journey, derived from their events. Plain Python, no Django.

Rules (one journey, one customer, events in time order; ties broken by stage order):

- The first stage's event starts a *run* (a pass through the journey). It starts a new run only
  when there is none yet, when the last run is complete, or when the last run made no progress for
  longer than the journey's ``dropped_after``; otherwise it is a repeat and changes nothing.
- An event of a later stage moves the current run forward to that stage. Stages in between that
  the customer skipped count as reached (``observed=False``) at the same moment: reaching Payment
  means the customer got past Checkout even if that event was never sent.
- Events of a stage at or behind the current one are repeats and change nothing; so are events of
  later stages when no run is open (the customer never entered).
- Reaching the last stage completes the run.
- ``seconds_from_previous`` of a step is the time since the previous stage, only when both stages
  were observed (skipped stages have no duration).

The same ``apply`` function is used for the full recompute (``derive_runs``) and for the
incremental update at ingestion, so both give the same answer; the incremental path is only taken
when every new event is later than the last one applied (otherwise it recomputes from all events).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Rules:
    """What the derivation needs to know about a journey."""

    journey_id: int
    stage_by_event: dict[str, int]  # event name -> stage position
    stage_count: int
    dropped_after: timedelta

    @property
    def last_stage(self) -> int:
        return self.stage_count - 1


@dataclass
class Step:
    stage: int
    reached_at: datetime
    observed: bool
    seconds_from_previous: int | None


@dataclass
class Run:
    number: int
    entered_at: datetime
    stage: int
    stage_reached_at: datetime
    completed_at: datetime | None
    last_event_at: datetime
    steps: list[Step] = field(default_factory=list)
    id: int | None = None  # the database row, when loaded from one
    changed: bool = False

    def is_open_at(self, at: datetime, rules: Rules) -> bool:
        """Still in progress at ``at``: not complete, and not idle for longer than the drop limit."""
        return self.completed_at is None and at - self.stage_reached_at <= rules.dropped_after


def apply(rules: Rules, runs: list[Run], at: datetime, stage: int) -> None:
    """Apply one stage event (time ``at``, stage position ``stage``) to ``runs`` (oldest first)."""
    current = runs[-1] if runs else None
    if stage == 0 and (current is None or not current.is_open_at(at, rules)):
        runs.append(
            Run(
                number=(current.number + 1) if current else 1,
                entered_at=at,
                stage=0,
                stage_reached_at=at,
                completed_at=at if rules.last_stage == 0 else None,
                last_event_at=at,
                steps=[Step(0, at, True, None)],
                changed=True,
            )
        )
        return
    if current is None:
        return  # a later stage before ever entering: not in the journey
    if at > current.last_event_at:
        current.last_event_at = at
        current.changed = True
    if current.completed_at is not None or stage <= current.stage:
        return  # already complete, or a repeat of a stage at or behind the current one
    for skipped in range(current.stage + 1, stage):
        current.steps.append(Step(skipped, at, False, None))
    seconds = None
    if stage == current.stage + 1:
        seconds = max(0, int((at - current.stage_reached_at).total_seconds()))
    current.steps.append(Step(stage, at, True, seconds))
    current.stage = stage
    current.stage_reached_at = at
    if stage == rules.last_stage:
        current.completed_at = at


def sort_key(rules: Rules, at: datetime, name: str) -> tuple[datetime, int]:
    return (at, rules.stage_by_event.get(name, -1))


def derive_runs(rules: Rules, events: Iterable[tuple[datetime, str]]) -> list[Run]:
    """All runs of one customer in one journey, from their events (any order)."""
    relevant = [(at, name) for at, name in events if name in rules.stage_by_event]
    relevant.sort(key=lambda event: sort_key(rules, *event))
    runs: list[Run] = []
    for at, name in relevant:
        apply(rules, runs, at, rules.stage_by_event[name])
    return runs


def apply_new_events(
    rules: Rules, latest: Run, events: Sequence[tuple[datetime, str]]
) -> list[Run] | None:
    """Apply events newer than ``latest.last_event_at`` on top of the latest run.

    Returns the latest run followed by any runs the events started, or None (with nothing
    changed) when an event is not newer than the last one applied: the caller then recomputes.
    """
    relevant = sorted(
        ((at, name) for at, name in events if name in rules.stage_by_event),
        key=lambda event: sort_key(rules, *event),
    )
    if relevant and relevant[0][0] <= latest.last_event_at:
        return None
    runs = [latest]
    for at, name in relevant:
        apply(rules, runs, at, rules.stage_by_event[name])
    return runs


# --- Position at a point in time ------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a customer stood in a journey at one moment."""

    stage: int
    since: datetime  # when they reached ``stage``
    entered_at: datetime
    completed: bool
    state: str  # "completed", "in_progress", "stuck" or "dropped"
    for_seconds: int  # how long they had been at ``stage`` at that moment


def position_at(
    *,
    runs: Sequence[tuple[datetime, Sequence[tuple[int, datetime]]]],
    at: datetime,
    last_stage: int,
    stuck_after: Sequence[timedelta],
    dropped_after: timedelta,
) -> Position | None:
    """The position at ``at`` given a customer's runs as ``(entered_at, [(stage, reached_at)])``
    sorted by entry; None when they had not entered the journey by then."""
    entries = [entered for entered, _steps in runs]
    index = bisect.bisect_right(entries, at) - 1
    if index < 0:
        return None
    entered_at, steps = runs[index]
    reached = [(stage, when) for stage, when in steps if when <= at]
    if not reached:
        return None
    stage, since = max(reached, key=lambda item: item[0])
    return position_of(
        stage=stage,
        since=since,
        entered_at=entered_at,
        at=at,
        last_stage=last_stage,
        stuck_after=stuck_after,
        dropped_after=dropped_after,
    )


def position_of(
    *,
    stage: int,
    since: datetime,
    entered_at: datetime,
    at: datetime,
    last_stage: int,
    stuck_after: Sequence[timedelta],
    dropped_after: timedelta,
) -> Position:
    """The position at ``at`` of a customer whose run (entered at ``entered_at``) had reached
    ``stage`` at ``since`` and nothing further by then."""
    waited = at - since
    completed = stage == last_stage
    if completed:
        state = "completed"
    elif waited > dropped_after:
        state = "dropped"
    elif stage < len(stuck_after) and waited > stuck_after[stage]:
        state = "stuck"
    else:  # (also a stage past the definition's last: positions being recomputed after an edit)
        state = "in_progress"
    return Position(
        stage=stage,
        since=since,
        entered_at=entered_at,
        completed=completed,
        state=state,
        for_seconds=max(0, int(waited.total_seconds())),
    )
