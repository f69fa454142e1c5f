"""Periods named the way managers say them, resolved against a given day.

One parser for every analytics service and tool, so that "last_quarter" means the
same thing everywhere. Relative periods count back from ``today``: the real UTC date
unless the caller passes one (tests, and tools' ``as_of``, do), so answers are
reproducible. Every period also knows the period it is compared with.

Accepted forms (case-insensitive; spaces and hyphens work as underscores in names):

* rolling: ``today``, ``yesterday``, ``last_N_days``, ``last_N_weeks`` (ending today);
* calendar, complete: ``last_week`` (Monday-Sunday), ``last_month``, ``last_quarter``,
  ``last_year``;
* calendar, to date: ``this_week``, ``this_month``, ``this_quarter``, ``this_year``
  (also ``month_to_date``, ``quarter_to_date``, ``year_to_date``, ``ytd``);
* explicit: ``2024``, ``2024-Q1``, ``2024-03``, ``2024-03-15`` and
  ``2024-01-01..2024-03-31`` (both ends included).

Every day involved lies between ``FIRST_DAY`` and ``LAST_DAY`` (2000-01-01 to
2100-12-31); anything outside is a validation error naming that range, never date
arithmetic overflowing deep inside a report.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from retail.errors import InvalidInput

MAX_SPAN_DAYS = 3_660  # ten years: more is never a sensible analytics window
# Every day a period, as_of or range end may name. Far wider than any data (and than
# a period's comparison, ten years at most, can reach), far from date's own limits.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
SUPPORTED = f"the supported dates run from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
MAX_TEXT = 40
EXAMPLES = (
    "last_30_days, last_week, last_month, last_quarter, last_year, this_month, this_year, "
    "a year (2024), a quarter (2024-Q1), a month (2024-03), a day (2024-03-15) or a range "
    "(2024-01-01..2024-03-31)"
)

_ROLLING = re.compile(r"^(?:last|past)_(\d{1,4})_(day|week)s?$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})[-_ ]?q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Unit(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class Span:
    """A period as reports show it."""

    label: str
    start: date
    end: date


@dataclass(frozen=True)
class Period:
    """An inclusive range of days, with the words insights use for it."""

    start: date
    end: date
    label: str
    unit: Unit | None = None  # set for calendar periods, which compare with the unit before
    to_date: bool = False  # a calendar unit cut at today

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def span(self) -> Span:
        return Span(self.label, self.start, self.end)

    def previous(self) -> Period:
        """The period this one is compared with: the calendar unit before (up to the
        same day for to-date periods), otherwise as many days just before."""
        if self.unit is None:
            end = self.start - timedelta(days=1)
            start = end - timedelta(days=self.days - 1)
            label = "the day before" if self.days == 1 else f"the previous {self.days} days"
            return Period(start, end, label)
        start = shift(self.start, self.unit, -1)
        if self.to_date and self.end < _unit_end(self.start, self.unit):
            end = min(shift(self.end, self.unit, -1), self.start - timedelta(days=1))
            return Period(start, end, f"{unit_label(start, self.unit)} up to {end.isoformat()}")
        return _whole(start, self.unit)


def resolve_today(today: date | None) -> date:
    """The day relative periods count back from: the given one, or today in UTC."""
    return supported_day(today, field="as_of") if today is not None else datetime.now(UTC).date()


def supported_day(day: date, *, field: str) -> date:
    """``day``, or a validation error naming the field and the supported range."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"The {field} {day.isoformat()} is out of range: {SUPPORTED}.", reason=field
        )
    return day


def parse_day(text: str, *, field: str = "as_of") -> date:
    """An ISO date (YYYY-MM-DD), or a validation error naming the field."""
    value = (text or "").strip()
    if not _DAY.match(value):
        raise InvalidInput(f"The {field} must be a date like 2024-03-31.", reason=field)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"The {field} {value!r} is not a real date.", reason=field) from None
    return supported_day(day, field=field)


def parse_period(text: str, *, today: date | None = None) -> Period:
    """Resolve a period name or date range; refuse anything else with the accepted forms."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput(f"Give a period, e.g. {EXAMPLES}.", reason="period")
    if len(raw) > MAX_TEXT:
        raise InvalidInput(f"The period is longer than {MAX_TEXT} characters.", reason="period")
    today = resolve_today(today)
    name = re.sub(r"[\s-]+", "_", raw.lower()) if not raw[:1].isdigit() else raw.lower()
    period = _named(name, today) or _explicit(name)
    if period is None:
        raise InvalidInput(f"Unknown period {raw!r}. Use {EXAMPLES}.", reason="period")
    if period.end < period.start:
        raise InvalidInput(
            f"The period {raw!r} ends before it starts; give the earlier date first.",
            reason="period",
        )
    if period.start < FIRST_DAY or period.end > LAST_DAY:
        raise InvalidInput(f"The period {raw!r} is out of range: {SUPPORTED}.", reason="period")
    if period.days > MAX_SPAN_DAYS:
        raise InvalidInput(
            f"The period {raw!r} is longer than {MAX_SPAN_DAYS} days; narrow it down.",
            reason="period",
        )
    return period


def _named(name: str, today: date) -> Period | None:
    if name == "today":
        return Period(today, today, "today")
    if name == "yesterday":
        day = today - timedelta(days=1)
        return Period(day, day, "yesterday")
    rolling = _ROLLING.match(name)
    if rolling:
        count = int(rolling.group(1))
        days = count * (7 if rolling.group(2) == "week" else 1)
        if count < 1 or days > MAX_SPAN_DAYS:
            raise InvalidInput(
                f"Rolling periods run from 1 to {MAX_SPAN_DAYS} days; {name!r} does not.",
                reason="period",
            )
        word = rolling.group(2) + ("s" if count > 1 else "")
        label = f"the last {count} {word}" if count > 1 else f"the last {word}"
        return Period(today - timedelta(days=days - 1), today, label)
    for unit in Unit:
        if name == f"last_{unit}":
            return _whole(shift(unit_start(today, unit), unit, -1), unit)
        if name in (f"this_{unit}", f"{unit}_to_date") or (unit is Unit.YEAR and name == "ytd"):
            start = unit_start(today, unit)
            return Period(start, today, f"the {unit} to date", unit, to_date=True)
    return None


def _explicit(name: str) -> Period | None:
    try:
        if ".." in name:
            first, _, last = name.partition("..")
            start = parse_day(first, field="period start")
            end = parse_day(last, field="period end")
            return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")
        if _DAY.match(name):
            day = parse_day(name, field="period")
            return Period(day, day, day.isoformat())
        if match := _YEAR.match(name):
            start = date(_supported_year(match, name), 1, 1)
            return _whole(start, Unit.YEAR)
        if match := _QUARTER.match(name):
            start = date(_supported_year(match, name), 3 * int(match.group(2)) - 2, 1)
            return _whole(start, Unit.QUARTER)
        if match := _MONTH.match(name):
            start = date(_supported_year(match, name), int(match.group(2)), 1)
            return _whole(start, Unit.MONTH)
    except ValueError:
        raise InvalidInput(f"The period {name!r} is not a real date.", reason="period") from None
    return None


def _supported_year(match: re.Match[str], name: str) -> int:
    """The year a period names, refused before date arithmetic can overflow on it."""
    year = int(match.group(1))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise InvalidInput(f"The period {name!r} is out of range: {SUPPORTED}.", reason="period")
    return year


def _whole(start: date, unit: Unit) -> Period:
    return Period(start, _unit_end(start, unit), unit_label(start, unit), unit)


def _unit_end(start: date, unit: Unit) -> date:
    return shift(start, unit, 1) - timedelta(days=1)


def unit_start(day: date, unit: Unit) -> date:
    """The first day of the calendar unit containing ``day`` (weeks start on Monday)."""
    if unit is Unit.WEEK:
        return day - timedelta(days=day.weekday())
    if unit is Unit.MONTH:
        return day.replace(day=1)
    if unit is Unit.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def shift(day: date, unit: Unit, count: int) -> date:
    """``day`` moved by ``count`` units, keeping the day of month where it exists."""
    if unit is Unit.WEEK:
        return day + timedelta(weeks=count)
    months = count * {Unit.MONTH: 1, Unit.QUARTER: 3, Unit.YEAR: 12}[unit]
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def unit_label(start: date, unit: Unit) -> str:
    if unit is Unit.YEAR:
        return str(start.year)
    if unit is Unit.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if unit is Unit.MONTH:
        return start.strftime("%B %Y")
    return f"the week of {start.isoformat()}"
