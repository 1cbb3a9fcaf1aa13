"""Business-time arithmetic for SLA targets: opening hours, holidays and DST in a tenant's zone.

Plain Python with no Django imports, so it can be tested and benchmarked alone. The SLA services
build one ``BusinessCalendar`` per tenant and run, then ask it two questions for many tickets:

- ``add_business_minutes(start, minutes)``: when is a target of N business minutes due?
- ``business_minutes_between(start, end)``: how much business time has passed?

Opening hours are wall-clock intervals per weekday in the calendar's zone, so "09:00-17:00" means
09:00-17:00 local time on both sides of a daylight-saving change. The arithmetic jumps from
interval to interval and from day to day (never minute by minute), and the absolute open intervals
of each local day are computed once per calendar and cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

# After this many consecutive calendar days without any opening time, give up instead of looping
# (only reachable with absurd data, e.g. every opening interval inside a DST gap).
_MAX_CLOSED_DAYS = 3660
_CACHE_LIMIT = 20_000

ClockValue = str | time | int
Interval = tuple[int, int]


def parse_clock(value: ClockValue) -> int:
    """Minutes after local midnight for ``"HH:MM"`` (``"24:00"`` allowed), a ``time`` or an int."""
    if isinstance(value, bool):
        raise ValueError(f"not a time of day: {value!r}")
    if isinstance(value, int):
        minutes = value
    elif isinstance(value, time):
        minutes = value.hour * 60 + value.minute
    elif isinstance(value, str):
        hours, sep, mins = value.strip().partition(":")
        if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
            raise ValueError(f"not a time of day (HH:MM): {value!r}")
        if int(mins) > 59:
            raise ValueError(f"not a time of day (HH:MM): {value!r}")
        minutes = int(hours) * 60 + int(mins)
    else:
        raise ValueError(f"not a time of day: {value!r}")
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise ValueError(f"time of day out of range 00:00-24:00: {value!r}")
    return minutes


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday_index(key: int | str) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        name = key.strip().lower()
        for names in (WEEKDAYS, _DAY_NAMES):
            if name in names:
                return names.index(name)
    raise ValueError(f"unknown weekday {key!r}: use mon..sun (or 0..6, Monday = 0)")


def _parse_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError(f"not a date: {value!r}")


def _normalise(intervals: Iterable[Iterable[ClockValue]]) -> tuple[Interval, ...]:
    """Sorted, merged ``(start, end)`` minute pairs; ``start < end`` within one day."""
    parsed: list[Interval] = []
    for pair in intervals:
        values = list(pair)
        if len(values) != 2:
            raise ValueError(f"an opening interval is [start, end], got {values!r}")
        start, end = parse_clock(values[0]), parse_clock(values[1])
        if start >= end:
            raise ValueError(
                f"opening interval {values!r} must start before it ends on the same day "
                "(split an overnight shift into two days)"
            )
        parsed.append((start, end))
    merged: list[Interval] = []
    for start, end in sorted(parsed):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


class BusinessCalendar:
    """Weekly opening hours and holidays in one time zone.

    - ``tz``: a zone name (``"Europe/Berlin"``) or a ``tzinfo`` (``ZoneInfo`` or a fixed offset).
    - ``weekly``: opening intervals per weekday, keyed ``"mon".."sun"`` (or 0..6, Monday = 0), each
      a list of ``(start, end)`` pairs as ``"HH:MM"`` strings, ``time`` objects or minutes after
      midnight; ``"24:00"`` is allowed as an end. Several intervals a day (a lunch break) are fine;
      overlapping ones are merged. A missing day is closed. An interval must start before it ends
      on the same day: an overnight shift is two intervals on two days.
    - ``holidays``: local dates (``date`` or ISO strings) on which the desk is closed all day.

    **A calendar with no opening hours at all is treated as open 24/7** (holidays are then
    ignored too): a tenant that has not set up hours still gets due dates instead of an endless
    search for the next opening.

    Wall-clock hours follow daylight saving: on a DST day, ``00:00-24:00`` is 23 or 25 hours
    long. An interval boundary that falls in the hour skipped in spring is moved to the instant of
    the change; one that falls in the repeated hour in autumn means its first occurrence.
    """

    def __init__(
        self,
        tz: str | tzinfo,
        weekly: Mapping[int | str, Iterable[Iterable[ClockValue]]] | None = None,
        holidays: Iterable[date | str] = (),
    ) -> None:
        if isinstance(tz, str):
            try:
                tz = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {tz!r}") from error
        if not isinstance(tz, tzinfo):
            raise ValueError(f"not a time zone: {tz!r}")
        self.tz: tzinfo = tz
        days: list[tuple[Interval, ...]] = [()] * 7
        try:
            for key, intervals in (weekly or {}).items():
                index = _weekday_index(key)
                days[index] = _normalise([*days[index], *(intervals or ())])
        except (TypeError, AttributeError) as error:
            raise ValueError(f"malformed opening hours {weekly!r}") from error
        self.weekly: tuple[tuple[Interval, ...], ...] = tuple(days)
        try:
            self.holidays: frozenset[date] = frozenset(_parse_date(value) for value in holidays)
        except TypeError as error:
            raise ValueError(f"holidays must be a list of ISO dates, got {holidays!r}") from error
        self._cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    @classmethod
    def from_tenant_fields(
        cls,
        time_zone: str | None,
        business_hours: Mapping[str, Iterable[Iterable[str]]] | None,
        holidays: Iterable[str] | None,
    ) -> BusinessCalendar:
        """Build from ``Tenant.time_zone``, ``Tenant.business_hours`` and ``Tenant.holidays``.

        ``business_hours`` looks like ``{"mon": [["09:00", "12:30"], ["13:30", "17:00"]], ...}``
        (keys ``mon``..``sun``, a missing day is closed); ``holidays`` is a list of ISO dates.
        Malformed values raise ``ValueError``.
        """
        return cls(time_zone or "UTC", business_hours or {}, holidays or ())

    def __repr__(self) -> str:
        hours = {
            WEEKDAYS[index]: [
                f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in day
            ]
            for index, day in enumerate(self.weekly)
            if day
        }
        return f"BusinessCalendar({self.tz!s}, {hours or '24/7'}, holidays={len(self.holidays)})"

    @property
    def is_always_open(self) -> bool:
        """True when no opening hours are set: the calendar then counts every minute (24/7)."""
        return not any(self.weekly)

    @property
    def weekly_minutes(self) -> int:
        """Opening minutes in an ordinary week (no holidays, no DST change)."""
        if self.is_always_open:
            return 7 * MINUTES_PER_DAY
        return sum(end - start for day in self.weekly for start, end in day)

    # --- public arithmetic -------------------------------------------------------------------

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` business minutes after ``start`` (aware; same tzinfo as start).

        Zero minutes returns ``start`` unchanged. Otherwise the result is inside an opening
        interval or exactly at its end (Friday 16:00 plus 60 minutes of a 9-17 desk is Friday
        17:00, not Monday 09:00).
        """
        _require_aware(start, "start")
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if minutes == 0:
            return start
        if self.is_always_open:
            return start + timedelta(minutes=minutes)
        cursor = start.astimezone(UTC)
        remaining = timedelta(minutes=minutes)
        day = cursor.astimezone(self.tz).date()
        closed_days = 0
        while True:
            intervals = self._open_intervals(day)
            for opens, closes in intervals:
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
            closed_days = 0 if intervals else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise RuntimeError(f"{self!r} has no opening time in {_MAX_CLOSED_DAYS} days")
            day += timedelta(days=1)

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in ``[start, end)`` (aware datetimes); 0.0 when ``end <= start``."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0.0
        if self.is_always_open:
            return (end - start).total_seconds() / 60
        lower, upper = start.astimezone(UTC), end.astimezone(UTC)
        day = lower.astimezone(self.tz).date()
        last = upper.astimezone(self.tz).date()
        total = timedelta()
        while day <= last:
            for opens, closes in self._open_intervals(day):
                begin, finish = max(opens, lower), min(closes, upper)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (aware) is inside opening hours."""
        _require_aware(at, "at")
        if self.is_always_open:
            return True
        instant = at.astimezone(UTC)
        return any(
            opens <= instant < closes
            for opens, closes in self._open_intervals(instant.astimezone(self.tz).date())
        )

    # --- internals ---------------------------------------------------------------------------

    def _open_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC open intervals of local ``day`` (empty on holidays and closed days)."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if day in self.holidays:
            result: tuple[tuple[datetime, datetime], ...] = ()
        else:
            result = tuple(
                (opens, closes)
                for opens, closes in (
                    (self._to_utc(day, start), self._to_utc(day, end))
                    for start, end in self.weekly[day.weekday()]
                )
                if closes > opens  # empty when the whole interval fell into a DST gap
            )
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[day] = result
        return result

    def _to_utc(self, day: date, minute: int) -> datetime:
        """The instant of wall-clock ``minute`` after local midnight of ``day``.

        Ambiguous wall times (autumn) take their first occurrence; wall times skipped in spring
        are moved to the instant of the change.
        """
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)
        instant = wall.replace(tzinfo=self.tz).astimezone(UTC)
        if instant.astimezone(self.tz).replace(tzinfo=None) == wall:
            return instant
        # ``wall`` does not exist: the transition lies between the two readings of it.
        other = wall.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        low, high = sorted((int(instant.timestamp()), int(other.timestamp())))
        after = datetime.fromtimestamp(high, UTC).astimezone(self.tz).utcoffset()
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, UTC).astimezone(self.tz).utcoffset() == after:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, UTC)
