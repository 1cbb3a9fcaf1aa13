"""Business-time arithmetic: weekends, holidays, lunch breaks, DST, time zones, 24/7 fallback."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.business_hours import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_FIVE = [["09:00", "17:00"]]
WEEKDAYS_9_17 = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), NINE_TO_FIVE)
ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar.from_tenant_fields("Europe/Berlin", WEEKDAYS_9_17, [])


def test_minutes_inside_one_opening_interval(office):
    assert office.add_business_minutes(berlin(2026, 3, 2, 10, 0), 60) == berlin(2026, 3, 2, 11, 0)
    assert office.business_minutes_between(berlin(2026, 3, 2, 10), berlin(2026, 3, 2, 11)) == 60


def test_a_target_that_fits_exactly_ends_at_closing_time_not_the_next_morning(office):
    assert office.add_business_minutes(berlin(2026, 3, 6, 16, 0), 60) == berlin(2026, 3, 6, 17, 0)


def test_time_outside_opening_hours_does_not_count(office):
    # Before opening, after closing and at night: the clock starts at the next opening.
    assert office.add_business_minutes(berlin(2026, 3, 2, 7, 0), 30) == berlin(2026, 3, 2, 9, 30)
    assert office.add_business_minutes(berlin(2026, 3, 2, 18, 0), 30) == berlin(2026, 3, 3, 9, 30)
    assert office.business_minutes_between(berlin(2026, 3, 2, 17, 0), berlin(2026, 3, 3, 9)) == 0


def test_weekends_are_skipped(office):
    friday = berlin(2026, 3, 6, 16, 0)
    assert office.add_business_minutes(friday, 120) == berlin(2026, 3, 9, 10, 0)
    assert office.business_minutes_between(friday, berlin(2026, 3, 9, 10, 0)) == 120
    saturday = berlin(2026, 3, 7, 11, 0)
    assert office.add_business_minutes(saturday, 1) == berlin(2026, 3, 9, 9, 1)


def test_holidays_are_closed_all_day():
    calendar = BusinessCalendar.from_tenant_fields(
        "Europe/Berlin", WEEKDAYS_9_17, ["2026-12-24", "2026-12-25"]
    )
    wednesday = berlin(2026, 12, 23, 16, 0)
    # Thu 24 and Fri 25 are holidays, then the weekend.
    assert calendar.add_business_minutes(wednesday, 120) == berlin(2026, 12, 28, 10, 0)
    assert calendar.business_minutes_between(wednesday, berlin(2026, 12, 28, 10, 0)) == 120
    assert not calendar.is_open(berlin(2026, 12, 24, 10, 0))
    assert calendar.is_open(berlin(2026, 12, 23, 10, 0))


def test_holidays_accept_date_objects():
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_17, [date(2026, 3, 3)])
    assert calendar.add_business_minutes(berlin(2026, 3, 2, 16, 30), 60) == berlin(
        2026, 3, 4, 9, 30
    )


def test_lunch_break_is_not_business_time():
    hours = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    calendar = BusinessCalendar.from_tenant_fields("Europe/Berlin", hours, [])
    assert calendar.add_business_minutes(berlin(2026, 3, 2, 11, 30), 60) == berlin(
        2026, 3, 2, 13, 30
    )
    assert (
        calendar.business_minutes_between(berlin(2026, 3, 2, 11, 30), berlin(2026, 3, 2, 13, 30))
        == 60
    )
    assert (
        calendar.business_minutes_between(berlin(2026, 3, 2, 0, 0), berlin(2026, 3, 3, 0, 0)) == 420
    )
    # A target that ends exactly at the start of lunch ends there.
    assert calendar.add_business_minutes(berlin(2026, 3, 2, 11, 0), 60) == berlin(2026, 3, 2, 12, 0)
    assert not calendar.is_open(berlin(2026, 3, 2, 12, 30))


def test_overlapping_and_unsorted_intervals_are_merged():
    calendar = BusinessCalendar(
        "UTC", {"mon": [("13:00", "17:00"), ("09:00", "12:00"), ("11:00", "14:00")]}
    )
    assert calendar.weekly[0] == ((9 * 60, 17 * 60),)
    assert calendar.weekly_minutes == 480


def test_spring_forward_in_berlin_keeps_wall_clock_hours(office):
    # DST starts on Sunday 2026-03-29: Friday is CET (+01:00), Monday CEST (+02:00).
    friday = berlin(2026, 3, 27, 16, 0)
    due = office.add_business_minutes(friday, 120)
    assert due == berlin(2026, 3, 30, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert office.business_minutes_between(friday, due) == 120


def test_fall_back_in_berlin_keeps_wall_clock_hours(office):
    # DST ends on Sunday 2026-10-25: Friday is CEST (+02:00), Monday CET (+01:00).
    friday = berlin(2026, 10, 23, 16, 0)
    due = office.add_business_minutes(friday, 120)
    assert due == berlin(2026, 10, 26, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert office.business_minutes_between(friday, due) == 120


def test_a_24_hour_desk_counts_the_real_length_of_dst_days():
    calendar = BusinessCalendar("Europe/Berlin", ALL_DAY)
    spring = calendar.business_minutes_between(berlin(2026, 3, 28, 12), berlin(2026, 3, 30, 12))
    autumn = calendar.business_minutes_between(berlin(2026, 10, 24, 12), berlin(2026, 10, 26, 12))
    assert (spring, autumn) == (47 * 60, 49 * 60)
    # Saturday noon plus 24 business hours on the short day is Sunday 13:00 local.
    assert calendar.add_business_minutes(berlin(2026, 3, 28, 12), 24 * 60) == berlin(
        2026, 3, 29, 13, 0
    )


def test_an_opening_inside_the_skipped_hour_starts_at_the_change():
    calendar = BusinessCalendar("Europe/Berlin", {"sun": [["02:30", "05:00"]]})
    midnight = berlin(2026, 3, 29, 0, 0)
    # 02:30 does not exist on 2026-03-29: the desk opens at 03:00 CEST, two hours until 05:00.
    assert calendar.business_minutes_between(midnight, berlin(2026, 3, 29, 6, 0)) == 120
    assert calendar.add_business_minutes(midnight, 10) == berlin(2026, 3, 29, 3, 10)
    # An ordinary Sunday has the full 150 minutes.
    assert calendar.business_minutes_between(berlin(2026, 3, 22), berlin(2026, 3, 23)) == 150


def test_an_opening_in_the_repeated_hour_means_its_first_occurrence():
    calendar = BusinessCalendar("Europe/Berlin", {"sun": [["02:30", "04:00"]]})
    # 02:30 CEST (00:30 UTC) to 04:00 CET (03:00 UTC): two and a half real hours.
    assert calendar.business_minutes_between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 150
    opening = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    due = calendar.add_business_minutes(berlin(2026, 10, 25), 1)
    # (An ambiguous local time never compares equal across zones: compare in UTC.)
    assert due.astimezone(UTC) == opening + timedelta(minutes=1)


def test_the_same_instant_is_business_time_in_tokyo_but_not_in_new_york():
    instant = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # Mon 09:00 in Tokyo, Sun 20:00 in New York
    tokyo = BusinessCalendar.from_tenant_fields("Asia/Tokyo", WEEKDAYS_9_17, [])
    new_york = BusinessCalendar.from_tenant_fields("America/New_York", WEEKDAYS_9_17, [])
    assert tokyo.add_business_minutes(instant, 60) == datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    assert new_york.add_business_minutes(instant, 60) == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    assert new_york.add_business_minutes(instant, 60) == datetime(
        2026, 6, 1, 10, 0, tzinfo=NEW_YORK
    )
    later = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Mon 21:00 in Tokyo, Mon 08:00 in New York
    assert tokyo.business_minutes_between(instant, later) == 480
    assert new_york.business_minutes_between(instant, later) == 0
    assert tokyo.is_open(datetime(2026, 6, 1, 9, 30, tzinfo=TOKYO))


def test_the_result_keeps_the_time_zone_of_the_start(office):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    due = office.add_business_minutes(start, 30)
    assert due.tzinfo is UTC
    assert due == berlin(2026, 3, 2, 10, 30)


def test_large_minute_counts_are_exact_and_fast(office):
    monday = berlin(2026, 1, 5, 9, 0)
    # 250 business days of 8 hours: exactly 50 weeks, ending on a Friday at closing time.
    due = office.add_business_minutes(monday, 250 * 480)
    assert due == berlin(2026, 12, 18, 17, 0)
    assert office.business_minutes_between(monday, due) == 250 * 480
    started = clock.perf_counter()
    far = office.add_business_minutes(monday, 1_000_000)  # about eight years
    assert office.business_minutes_between(monday, far) == 1_000_000
    assert clock.perf_counter() - started < 1.0


def test_many_tickets_reuse_the_cached_days(office):
    started = clock.perf_counter()
    base = berlin(2026, 3, 2, 9, 0)
    for n in range(5000):
        start = base + timedelta(minutes=7 * n)
        office.add_business_minutes(start, 960)
        office.business_minutes_between(start, start + timedelta(days=3))
    assert clock.perf_counter() - started < 2.0


def test_a_calendar_without_opening_hours_counts_every_minute():
    for hours in ({}, None, {"mon": []}):
        calendar = BusinessCalendar.from_tenant_fields("Europe/Berlin", hours, ["2026-03-07"])
        assert calendar.is_always_open
        saturday = berlin(2026, 3, 7, 23, 0)
        assert calendar.add_business_minutes(saturday, 90) == saturday + timedelta(minutes=90)
        assert calendar.business_minutes_between(saturday, saturday + timedelta(days=2)) == 2880
        assert calendar.is_open(saturday)


def test_zero_minutes_is_the_start_itself_and_reversed_ranges_are_empty(office):
    saturday = berlin(2026, 3, 7, 11, 0)
    assert office.add_business_minutes(saturday, 0) == saturday
    assert office.business_minutes_between(berlin(2026, 3, 3, 12), berlin(2026, 3, 2, 12)) == 0.0


def test_tenant_default_hours_and_a_missing_zone():
    from helpdesk.tenancy.models import default_business_hours

    calendar = BusinessCalendar.from_tenant_fields(None, default_business_hours(), None)
    assert str(calendar.tz) == "UTC"
    assert calendar.weekly_minutes == 5 * 480
    assert calendar.weekly[5] == calendar.weekly[6] == ()


@pytest.mark.parametrize(
    ("time_zone", "hours", "holidays"),
    [
        ("Mars/Base", WEEKDAYS_9_17, []),
        ("UTC", {"mon": [["17:00", "09:00"]]}, []),
        ("UTC", {"mon": [["09:00", "25:00"]]}, []),
        ("UTC", {"mon": [["9am", "5pm"]]}, []),
        ("UTC", {"mon": [["09:00"]]}, []),
        ("UTC", {"funday": NINE_TO_FIVE}, []),
        ("UTC", {"mon": "09:00-17:00"}, []),
        ("UTC", WEEKDAYS_9_17, ["next friday"]),
        ("UTC", WEEKDAYS_9_17, [20261225]),
        ("UTC", WEEKDAYS_9_17, 2026),
    ],
)
def test_malformed_settings_raise_value_error(time_zone, hours, holidays):
    with pytest.raises(ValueError):
        BusinessCalendar.from_tenant_fields(time_zone, hours, holidays)


def test_naive_datetimes_and_negative_minutes_are_refused(office):
    with pytest.raises(ValueError):
        office.add_business_minutes(datetime(2026, 3, 2, 10, 0), 10)
    with pytest.raises(ValueError):
        office.business_minutes_between(berlin(2026, 3, 2, 10), datetime(2026, 3, 2, 11))
    with pytest.raises(ValueError):
        office.add_business_minutes(berlin(2026, 3, 2, 10), -5)
