"""Periods, buckets and filters of the metrics, in the tenant's time zone.

Everything the dashboard counts is attributed to a tenant-local calendar day: a period is a range
of local days (both ends included), and its instants run from local midnight of the first day to
local midnight after the last day. Trend buckets are local days, ISO weeks (Monday to Sunday) or
calendar months, cut to the period.

Plain Python (no ORM): parsing user input raises ``PeriodError`` with a message for the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_PERIOD_DAYS = 3 * 366

PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
    "this_quarter": "This quarter",
    "365d": "Last 12 months",
    "custom": "Custom",
}
DEFAULT_PRESET = "90d"
BUCKETS = {"day": "Day", "week": "Week", "month": "Month"}


class PeriodError(ValueError):
    """Bad period or filter input; the message is shown to the person."""


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "UTC")


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of local ``day`` (as UTC)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return _add_months(month_start(day), 1) - timedelta(days=1)


def cover(first: date, last: date, *, units: bool = True) -> list[tuple[str, date, date]]:
    """The rollup pieces that make up the days ``first..last``: the whole calendar months in it,
    then the whole weeks (Monday to Sunday) in what is left, then single days. Each piece is
    ``(unit, from, to)`` where ``from..to`` are the rows' ``day`` values (a month's 1st, a
    week's Monday, or the days themselves)."""
    if not units:
        return [("day", first, last)]
    one = timedelta(days=1)
    month = month_start(first) if first.day == 1 else _add_months(month_start(first), 1)
    months = []
    while month_end(month) <= last:
        months.append(month)
        month = _add_months(month, 1)
    pieces: list[tuple[str, date, date]] = []
    gaps = [(first, last)]
    if months:
        pieces.append(("month", months[0], months[-1]))
        gaps = [(first, months[0] - one), (month_end(months[-1]) + one, last)]
    for start, end in gaps:
        if start > end:
            continue
        monday = start + timedelta(days=(7 - start.weekday()) % 7)
        weeks = []
        while monday + timedelta(days=6) <= end:
            weeks.append(monday)
            monday += timedelta(days=7)
        if not weeks:
            pieces.append(("day", start, end))
            continue
        if start < weeks[0]:
            pieces.append(("day", start, weeks[0] - one))
        pieces.append(("week", weeks[0], weeks[-1]))
        if weeks[-1] + timedelta(days=6) < end:
            pieces.append(("day", weeks[-1] + timedelta(days=7), end))
    return pieces


@dataclass(frozen=True)
class Period:
    """Local days ``start`` .. ``end`` (both included) in time zone ``tz``."""

    start: date
    end: date
    tz: ZoneInfo
    preset: str = "custom"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError("The period ends before it starts.")
        if self.days > MAX_PERIOD_DAYS:
            raise PeriodError(f"Choose a period of at most {MAX_PERIOD_DAYS} days.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return day_start(self.start, self.tz)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive upper bound)."""
        return day_start(self.end + timedelta(days=1), self.tz)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = timedelta(days=self.days)
        return Period(self.start - length, self.start - timedelta(days=1), self.tz, "previous")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def label(self) -> str:
        if self.start == self.end:
            return self.start.strftime("%-d %b %Y")
        same_year = self.start.year == self.end.year
        first = self.start.strftime("%-d %b" if same_year else "%-d %b %Y")
        return f"{first} \N{EN DASH} {self.end.strftime('%-d %b %Y')}"

    def auto_bucket(self) -> str:
        if self.days <= 31:
            return "day"
        if self.days <= 200:
            return "week"
        return "month"

    def buckets(self, unit: str) -> list[Bucket]:
        """Consecutive buckets covering the period, cut to its ends."""
        if unit not in BUCKETS:
            raise PeriodError(f"Unknown bucket {unit!r}: use day, week or month.")
        result: list[Bucket] = []
        cursor = self.start
        while cursor <= self.end:
            if unit == "day":
                natural_start, following = cursor, cursor + timedelta(days=1)
            elif unit == "week":
                natural_start = week_start(cursor)
                following = natural_start + timedelta(days=7)
            else:
                natural_start = month_start(cursor)
                following = _add_months(natural_start, 1)
            last = min(following - timedelta(days=1), self.end)
            result.append(Bucket(unit=unit, start=cursor, end=last, natural_start=natural_start))
            cursor = following
        return result


@dataclass(frozen=True)
class Bucket:
    unit: str
    start: date
    end: date
    natural_start: date

    @property
    def key(self) -> str:
        return self.start.isoformat()

    @property
    def is_partial(self) -> bool:
        if self.unit == "day":
            return False
        if self.unit == "week":
            return self.start != self.natural_start or (self.end - self.start).days != 6
        return self.start != self.natural_start or (self.end + timedelta(days=1)).day != 1

    def label(self) -> str:
        if self.unit == "day":
            return self.start.strftime("%-d %b")
        if self.unit == "week":
            return f"Week of {self.natural_start.strftime('%-d %b')}"
        return self.natural_start.strftime("%b %Y")

    def short_label(self) -> str:
        if self.unit == "month":
            return self.natural_start.strftime("%b %Y")
        return self.start.strftime("%-d %b")


def period_from_preset(preset: str, *, today: date, tz: ZoneInfo) -> Period:
    if preset == "7d":
        return Period(today - timedelta(days=6), today, tz, preset)
    if preset == "30d":
        return Period(today - timedelta(days=29), today, tz, preset)
    if preset == "90d":
        return Period(today - timedelta(days=89), today, tz, preset)
    if preset == "365d":
        return Period(today - timedelta(days=364), today, tz, preset)
    if preset == "this_month":
        return Period(month_start(today), today, tz, preset)
    if preset == "last_month":
        end = month_start(today) - timedelta(days=1)
        return Period(month_start(end), end, tz, preset)
    if preset == "this_quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        return Period(date(today.year, first_month, 1), today, tz, preset)
    raise PeriodError(f"Unknown period {preset!r}.")


def _parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise PeriodError(f"The {name} date must look like 2026-03-31.") from error


def period_from_params(params: Mapping[str, str], *, tz: ZoneInfo, now: datetime) -> Period:
    """``period=<preset>`` or ``period=custom&from=YYYY-MM-DD&to=YYYY-MM-DD`` (default 90 days)."""
    today = local_day(now, tz)
    preset = (params.get("period") or "").strip()
    if not preset:
        preset = "custom" if params.get("from") or params.get("to") else DEFAULT_PRESET
    if preset == "custom":
        if not params.get("from") or not params.get("to"):
            raise PeriodError("A custom period needs a start and an end date.")
        start = _parse_date(params["from"], "start")
        end = _parse_date(params["to"], "end")
        return Period(start, end, tz, "custom")
    if preset not in PRESETS:
        raise PeriodError(f"Unknown period {preset!r}.")
    return period_from_preset(preset, today=today, tz=tz)


@dataclass(frozen=True)
class Filters:
    """Dashboard filters; ``None`` means "all". ``agent``/``group`` 0 means "none" (unassigned)."""

    channel: str | None = None
    group: int | None = None
    agent: int | None = None
    tag: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def dims(self) -> int:
        """Bitmask of the filtered dimensions (1 channel, 2 group, 4 agent, 8 tag)."""
        return (
            (1 if self.channel is not None else 0)
            | (2 if self.group is not None else 0)
            | (4 if self.agent is not None else 0)
            | (8 if self.tag is not None else 0)
        )

    @property
    def is_empty(self) -> bool:
        return self.dims == 0

    def with_value(self, dim: str, value) -> Filters:
        return replace(self, **{dim: value})

    def as_params(self) -> dict[str, str]:
        params = {}
        for name in ("channel", "group", "agent", "tag"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        return params


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise PeriodError(f"The {name} filter must be a number.")
    return int(raw)


def filters_from_params(params: Mapping[str, str], *, channels: list[str]) -> Filters:
    channel = (params.get("channel") or "").strip() or None
    if channel is not None and channel not in channels:
        raise PeriodError(f"Unknown channel {channel!r}.")
    return Filters(
        channel=channel,
        group=_int_param(params, "group"),
        agent=_int_param(params, "agent"),
        tag=_int_param(params, "tag"),
    )
