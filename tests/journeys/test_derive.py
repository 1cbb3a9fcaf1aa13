"""The derivation rules on hand-made sequences (plain Python, no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from journeys.derive import Rules, apply_new_events, derive_runs, position_at

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
RULES = Rules(
    journey_id=1,
    stage_by_event={"Cart viewed": 0, "Checkout started": 1, "Payment started": 2, "Paid": 3},
    stage_count=4,
    dropped_after=timedelta(days=14),
)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def summary(runs):
    return [
        (
            r.number,
            r.entered_at,
            r.stage,
            [(s.stage, s.observed, s.seconds_from_previous) for s in r.steps],
        )
        for r in runs
    ]


def test_a_straight_run_records_each_stage_with_the_time_since_the_previous():
    runs = derive_runs(
        RULES,
        [
            (h(0), "Cart viewed"),
            (h(1), "Checkout started"),
            (h(3), "Payment started"),
            (h(4), "Paid"),
        ],
    )
    assert len(runs) == 1
    run = runs[0]
    assert run.completed_at == h(4)
    assert [(s.stage, s.observed, s.seconds_from_previous) for s in run.steps] == [
        (0, True, None),
        (1, True, 3600),
        (2, True, 7200),
        (3, True, 3600),
    ]


def test_skipped_stages_count_as_reached_without_a_duration():
    (run,) = derive_runs(RULES, [(h(0), "Cart viewed"), (h(2), "Payment started")])
    assert run.stage == 2
    assert [(s.stage, s.observed, s.reached_at, s.seconds_from_previous) for s in run.steps] == [
        (0, True, h(0), None),
        (1, False, h(2), None),
        (2, True, h(2), None),
    ]


def test_repeated_events_change_nothing():
    once = derive_runs(RULES, [(h(0), "Cart viewed"), (h(1), "Checkout started")])
    repeated = derive_runs(
        RULES,
        [
            (h(0), "Cart viewed"),
            (h(0.5), "Cart viewed"),
            (h(1), "Checkout started"),
            (h(1.5), "Checkout started"),
            (h(2), "Cart viewed"),
        ],
    )
    assert summary(repeated) == summary(once)
    assert repeated[0].last_event_at == h(2)


def test_out_of_order_events_are_placed_at_their_own_time():
    ordered = [(h(0), "Cart viewed"), (h(1), "Checkout started"), (h(5), "Payment started")]
    shuffled = [ordered[2], ordered[0], ordered[1]]
    assert summary(derive_runs(RULES, shuffled)) == summary(derive_runs(RULES, ordered))


def test_later_stages_before_entering_are_ignored():
    runs = derive_runs(RULES, [(h(0), "Checkout started"), (h(1), "Paid")])
    assert runs == []
    (run,) = derive_runs(RULES, [(h(0), "Paid"), (h(1), "Cart viewed"), (h(2), "Checkout started")])
    assert run.stage == 1 and run.entered_at == h(1)


def test_the_first_stage_starts_a_new_run_after_completion_or_after_dropping_out():
    runs = derive_runs(
        RULES,
        [
            (h(0), "Cart viewed"),
            (h(1), "Paid"),  # complete (skipping two stages)
            (h(2), "Cart viewed"),  # a new purchase
            (h(3), "Checkout started"),
            (h(3 + 24 * 20), "Cart viewed"),  # 20 days idle: dropped, a new run
        ],
    )
    assert [(r.number, r.entered_at, r.stage, r.completed_at) for r in runs] == [
        (1, h(0), 3, h(1)),
        (2, h(2), 1, None),
        (3, h(483), 0, None),
    ]


def test_a_later_stage_after_a_long_pause_continues_the_run():
    (run,) = derive_runs(RULES, [(h(0), "Cart viewed"), (h(24 * 30), "Checkout started")])
    assert run.stage == 1
    assert run.steps[1].seconds_from_previous == 30 * 86400


def test_incremental_application_matches_a_full_recompute():
    rng = random.Random(7)
    names = [*RULES.stage_by_event, "Page viewed"]
    for _ in range(300):
        events = sorted(
            ((h(rng.uniform(0, 24 * 40)), rng.choice(names)) for _ in range(rng.randint(1, 12))),
        )
        cut = rng.randint(1, len(events))
        first, later = events[:cut], events[cut:]
        runs = derive_runs(RULES, first)
        if not runs:
            continue
        latest = runs[-1]
        latest.steps = []  # as loaded from the database: steps are not needed to go on
        applied = apply_new_events(RULES, latest, later)
        full = derive_runs(RULES, events)
        if later and later[0][0] <= latest.last_event_at:
            continue  # ties: the caller recomputes
        assert applied is not None
        combined = runs[:-1] + applied
        assert [(r.number, r.entered_at, r.stage, r.completed_at) for r in combined] == [
            (r.number, r.entered_at, r.stage, r.completed_at) for r in full
        ]


def test_an_older_event_asks_for_a_recompute():
    (run,) = derive_runs(RULES, [(h(0), "Cart viewed"), (h(2), "Checkout started")])
    assert apply_new_events(RULES, run, [(h(1), "Payment started")]) is None
    assert apply_new_events(RULES, run, [(h(2), "Payment started")]) is None  # a tie too


def test_position_at_a_moment_knows_stuck_dropped_and_completed():
    runs = derive_runs(
        RULES, [(h(0), "Cart viewed"), (h(1), "Checkout started"), (h(100), "Payment started")]
    )
    shaped = [(r.entered_at, [(s.stage, s.reached_at) for s in r.steps]) for r in runs]
    kwargs = {
        "runs": shaped,
        "last_stage": 3,
        "stuck_after": [timedelta(hours=72)] * 4,
        "dropped_after": timedelta(days=14),
    }
    assert position_at(at=h(-1), **kwargs) is None
    at_checkout = position_at(at=h(2), **kwargs)
    assert (at_checkout.stage, at_checkout.state, at_checkout.for_seconds) == (
        1,
        "in_progress",
        3600,
    )
    assert position_at(at=h(80), **kwargs).state == "stuck"
    assert position_at(at=h(101), **kwargs).stage == 2
    assert position_at(at=h(100 + 24 * 15), **kwargs).state == "dropped"
