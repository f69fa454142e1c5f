"""The period parser: every accepted form, its comparison period, and clear refusals."""

from __future__ import annotations

from datetime import date

import pytest

from retail.errors import InvalidInput
from retail.services.analytics.periods import parse_day, parse_period, resolve_today

TODAY = date(2026, 6, 17)  # a Wednesday in the middle of a month and a quarter
D = date.fromisoformat


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("today", "2026-06-17", "2026-06-17", "today"),
        ("yesterday", "2026-06-16", "2026-06-16", "yesterday"),
        ("last_30_days", "2026-05-19", "2026-06-17", "the last 30 days"),
        ("Last 7 Days", "2026-06-11", "2026-06-17", "the last 7 days"),
        ("past-1-day", "2026-06-17", "2026-06-17", "the last day"),
        ("last_2_weeks", "2026-06-04", "2026-06-17", "the last 2 weeks"),
        ("last_week", "2026-06-08", "2026-06-14", "the week of 2026-06-08"),
        ("last_month", "2026-05-01", "2026-05-31", "May 2026"),
        ("last_quarter", "2026-01-01", "2026-03-31", "2026-Q1"),
        ("last_year", "2025-01-01", "2025-12-31", "2025"),
        ("this_week", "2026-06-15", "2026-06-17", "the week to date"),
        ("this_month", "2026-06-01", "2026-06-17", "the month to date"),
        ("month_to_date", "2026-06-01", "2026-06-17", "the month to date"),
        ("this_quarter", "2026-04-01", "2026-06-17", "the quarter to date"),
        ("YTD", "2026-01-01", "2026-06-17", "the year to date"),
        ("2024", "2024-01-01", "2024-12-31", "2024"),
        ("2024-Q1", "2024-01-01", "2024-03-31", "2024-Q1"),
        ("2024q4", "2024-10-01", "2024-12-31", "2024-Q4"),
        ("2024-02", "2024-02-01", "2024-02-29", "February 2024"),
        ("2024-02-29", "2024-02-29", "2024-02-29", "2024-02-29"),
        ("2024-01-01..2024-03-31", "2024-01-01", "2024-03-31", "2024-01-01..2024-03-31"),
    ],
)
def test_each_form_resolves_against_today(text, start, end, label):
    period = parse_period(text, today=TODAY)
    assert (period.start, period.end, period.label) == (D(start), D(end), label)


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("last_30_days", "2026-04-19", "2026-05-18", "the previous 30 days"),
        ("today", "2026-06-16", "2026-06-16", "the day before"),
        ("2024-01-01..2024-03-31", "2023-10-02", "2023-12-31", "the previous 91 days"),
        ("last_week", "2026-06-01", "2026-06-07", "the week of 2026-06-01"),
        ("2024-03", "2024-02-01", "2024-02-29", "February 2024"),
        ("2024-Q1", "2023-10-01", "2023-12-31", "2023-Q4"),
        ("2024", "2023-01-01", "2023-12-31", "2023"),
        ("this_month", "2026-05-01", "2026-05-17", "May 2026 up to 2026-05-17"),
        ("this_year", "2025-01-01", "2025-06-17", "2025 up to 2025-06-17"),
    ],
)
def test_each_period_knows_what_it_is_compared_with(text, start, end, label):
    previous = parse_period(text, today=TODAY).previous()
    assert (previous.start, previous.end, previous.label) == (D(start), D(end), label)


def test_a_to_date_period_on_its_last_day_compares_with_the_whole_unit_before():
    previous = parse_period("this_month", today=date(2026, 3, 31)).previous()
    assert (previous.start, previous.end, previous.label) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
        "February 2026",
    )


def test_a_to_date_period_never_overlaps_its_comparison():
    previous = parse_period("this_month", today=date(2026, 3, 30)).previous()
    assert previous.end == date(2026, 2, 28)


def test_without_a_day_relative_periods_count_from_today_in_utc():
    assert parse_period("today").start == parse_period("today", today=None).end


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Give a period"),
        ("last_fortnight", "Unknown period"),
        ("next_month", "Unknown period"),
        ("last_0_days", "from 1 to 3660 days"),
        ("last_9999_days", "from 1 to 3660 days"),
        ("2024-13", "not a real date"),
        ("2023-02-29", "not a real date"),
        ("2024-03-01..2024-01-01", "ends before it starts"),
        ("2024-01-01..soon", "must be a date like"),
        ("2000-01-01..2020-12-31", "longer than 3660 days"),
        ("x" * 41, "longer than 40 characters"),
        ("2024; DROP TABLE", "Unknown period"),
    ],
)
def test_bad_periods_are_refused_with_the_accepted_forms(text, words):
    with pytest.raises(InvalidInput) as error:
        parse_period(text, today=TODAY)
    assert error.value.reason in ("period", "period start", "period end")
    assert words in error.value.message


def test_unknown_periods_list_the_accepted_forms():
    with pytest.raises(InvalidInput) as error:
        parse_period("soon", today=TODAY)
    for example in ("last_30_days", "last_quarter", "2024", "2024-01-01..2024-03-31"):
        assert example in error.value.message


@pytest.mark.parametrize("text", ["2026-06-31", "06/17/2026", "yesterday", ""])
def test_parse_day_accepts_only_real_iso_dates(text):
    with pytest.raises(InvalidInput) as error:
        parse_day(text)
    assert error.value.reason == "as_of"
    assert parse_day("2026-06-17") == TODAY


@pytest.mark.parametrize(
    "text",
    ["0001", "1999", "2101", "9999", "0001-Q1", "0001-01", "0001-01-01", "9999-12-31",
     "1999-12-31..2000-01-31", "2100-12-01..2101-01-01"],
)  # fmt: skip
def test_periods_outside_the_supported_dates_are_refused_naming_the_range(text):
    with pytest.raises(InvalidInput) as error:
        parse_period(text, today=TODAY)
    assert error.value.reason in ("period", "period start", "period end")
    assert "2000-01-01 to 2100-12-31" in error.value.message


@pytest.mark.parametrize("text", ["0001-01-01", "0001-01-05", "1999-12-31", "2101-01-01",
                                  "9999-12-31"])  # fmt: skip
def test_as_of_days_outside_the_supported_dates_are_refused(text):
    with pytest.raises(InvalidInput) as error:
        parse_day(text)
    assert error.value.reason == "as_of"
    assert "2000-01-01 to 2100-12-31" in error.value.message


def test_the_edges_of_the_supported_dates_work_and_a_relative_period_stays_inside():
    assert parse_period("2000", today=TODAY).start == date(2000, 1, 1)
    assert parse_period("2100-Q4", today=TODAY).end == date(2100, 12, 31)
    assert parse_period("this_year", today=date(2100, 12, 31)).days == 365
    with pytest.raises(InvalidInput, match="2000-01-01 to 2100-12-31"):
        parse_period("last_30_days", today=date(2000, 1, 10))
    with pytest.raises(InvalidInput, match="2000-01-01 to 2100-12-31"):
        resolve_today(date(1, 1, 1))
