"""Periods, trend buckets and filters in the tenant's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from empathy_metrics.periods import (
    Filters,
    Period,
    PeriodError,
    filters_from_params,
    period_from_params,
    period_from_preset,
)
from empathy_metrics.tally import percentile

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 3, 18)  # a Wednesday


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("7d", date(2026, 3, 12), TODAY),
        ("30d", date(2026, 2, 17), TODAY),
        ("90d", date(2025, 12, 19), TODAY),
        ("this_month", date(2026, 3, 1), TODAY),
        ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
        ("this_quarter", date(2026, 1, 1), TODAY),
        ("365d", date(2025, 3, 19), TODAY),
    ],
)
def test_presets(preset, start, end):
    period = period_from_preset(preset, today=TODAY, tz=BERLIN)
    assert (period.start, period.end) == (start, end)


def test_the_period_is_local_days_and_the_previous_one_has_the_same_length():
    period = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)
    assert period.start_at == datetime(2026, 3, 22, 23, 0, tzinfo=ZoneInfo("UTC"))
    assert period.end_at == datetime(2026, 3, 29, 22, 0, tzinfo=ZoneInfo("UTC"))  # summer time
    previous = period.previous()
    assert (previous.start, previous.end, previous.days) == (
        date(2026, 3, 16),
        date(2026, 3, 22),
        7,
    )


def test_week_buckets_are_monday_to_sunday_cut_to_the_period():
    period = Period(date(2026, 3, 4), date(2026, 3, 24), BERLIN)  # Wednesday to Tuesday
    buckets = period.buckets("week")
    assert [(b.start, b.end) for b in buckets] == [
        (date(2026, 3, 4), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 22)),
        (date(2026, 3, 23), date(2026, 3, 24)),
    ]
    assert [b.is_partial for b in buckets] == [True, False, False, True]
    assert buckets[1].label() == "Week of 9 Mar"


def test_month_and_day_buckets():
    period = Period(date(2026, 1, 15), date(2026, 3, 2), BERLIN)
    months = period.buckets("month")
    assert [(b.start, b.end, b.is_partial) for b in months] == [
        (date(2026, 1, 15), date(2026, 1, 31), True),
        (date(2026, 2, 1), date(2026, 2, 28), False),
        (date(2026, 3, 1), date(2026, 3, 2), True),
    ]
    assert months[1].label() == "Feb 2026"
    assert len(period.buckets("day")) == period.days == 47
    with pytest.raises(PeriodError):
        period.buckets("hour")


def test_automatic_buckets_by_length():
    assert Period(TODAY - timedelta(days=29), TODAY, BERLIN).auto_bucket() == "day"
    assert Period(TODAY - timedelta(days=89), TODAY, BERLIN).auto_bucket() == "week"
    assert Period(TODAY - timedelta(days=364), TODAY, BERLIN).auto_bucket() == "month"


def test_parsing_periods_and_filters():
    now = datetime(2026, 3, 18, 23, 30, tzinfo=ZoneInfo("UTC"))  # already the 19th in Berlin
    assert period_from_params({}, tz=BERLIN, now=now).end == date(2026, 3, 19)
    custom = period_from_params({"from": "2026-03-01", "to": "2026-03-05"}, tz=BERLIN, now=now)
    assert (custom.preset, custom.days) == ("custom", 5)
    filters = filters_from_params(
        {"channel": "chat", "group": "0", "agent": "12", "tag": ""}, channels=["chat", "email"]
    )
    assert filters == Filters(channel="chat", group=0, agent=12)
    assert filters.dims == 1 | 2 | 4
    assert filters.as_params() == {"channel": "chat", "group": "0", "agent": "12"}
    with pytest.raises(PeriodError):
        filters_from_params({"tag": "1e9"}, channels=[])
    with pytest.raises(PeriodError):
        filters_from_params({"group": "9" * 19}, channels=[])


def test_nearest_rank_percentiles():
    # keys are step numbers; below an hour a step is a minute
    assert percentile({}, 50) is None
    assert percentile({7: 1}, 90) == 7
    assert percentile({1: 1, 2: 1, 3: 1, 4: 1}, 50) == 2
    assert percentile({1: 1, 2: 1, 3: 1, 4: 1}, 90) == 4
    assert percentile({10: 9, 50: 1}, 90) == 10
    assert percentile({10: 9, 50: 2}, 90) == 50


def test_durations_count_in_steps_and_percentiles_merge_from_encoded_rollups():
    import random

    from empathy_metrics.facts import duration_step, step_index, step_value
    from empathy_metrics.tally import encode_steps, percentiles_of_steps

    assert [duration_step(m) for m in (59, 64, 127, 479, 500, 2879, 2900, 6010)] == [
        59,
        60,
        125,
        475,
        495,
        2865,
        2880,
        6000,
    ]
    rng = random.Random(5)
    for _ in range(20):
        chunks, merged = [], {}
        for _part in range(rng.randint(1, 6)):
            hist = {}
            for _ticket in range(rng.randint(0, 40)):
                index = step_index(int(rng.lognormvariate(5, 1.5)))
                hist[index] = hist.get(index, 0) + 1
                merged[index] = merged.get(index, 0) + 1
            chunks.append(encode_steps(hist))
        expected = (percentile(merged, 50), percentile(merged, 90))
        assert percentiles_of_steps(chunks) == expected
    assert percentiles_of_steps([b"", b""]) == (None, None)
    assert all(step_value(step_index(m)) == duration_step(m) for m in range(0, 10_000, 7))


def test_a_period_is_covered_by_whole_months_then_whole_weeks_then_days():
    from empathy_metrics.periods import cover

    # Saturday 29 August to Thursday 26 November 2026
    assert cover(date(2026, 8, 29), date(2026, 11, 26)) == [
        ("month", date(2026, 9, 1), date(2026, 10, 1)),
        ("day", date(2026, 8, 29), date(2026, 8, 31)),
        ("day", date(2026, 11, 1), date(2026, 11, 1)),
        ("week", date(2026, 11, 2), date(2026, 11, 16)),
        ("day", date(2026, 11, 23), date(2026, 11, 26)),
    ]
    assert cover(date(2026, 3, 4), date(2026, 3, 6)) == [
        ("day", date(2026, 3, 4), date(2026, 3, 6))
    ]
    assert cover(date(2026, 3, 1), date(2026, 3, 31)) == [
        ("month", date(2026, 3, 1), date(2026, 3, 1))
    ]
    assert cover(date(2026, 3, 1), date(2026, 3, 31), units=False) == [
        ("day", date(2026, 3, 1), date(2026, 3, 31))
    ]
    # every day is covered exactly once
    for first, last in [
        (date(2025, 12, 30), date(2026, 3, 2)),
        (date(2026, 2, 2), date(2026, 2, 8)),
    ]:
        days = set()
        for unit, start, end in cover(first, last):
            step = {"day": 1, "week": 7}.get(unit)
            cursor = start
            while cursor <= end:
                span_end = (
                    cursor + timedelta(days=6)
                    if unit == "week"
                    else (
                        date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
                        - timedelta(days=1)
                    )
                    if unit == "month"
                    else cursor
                )
                new = {cursor + timedelta(days=i) for i in range((span_end - cursor).days + 1)}
                assert not days & new
                days |= new
                cursor = cursor + timedelta(days=step) if step else span_end + timedelta(days=1)
        assert days == {first + timedelta(days=i) for i in range((last - first).days + 1)}
