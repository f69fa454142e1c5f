"""Rounding and plain-language phrasing of figures, shared by every analytics service.

Sums stay exact ``Decimal`` until a report is built; only then are they rounded, once,
the same way everywhere (half up: cents for money, one decimal for percentages).
Insights are built from these same rounded figures, so the words never disagree with
the numbers beside them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from retail.errors import InvalidInput

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def money(value: Decimal | int | None) -> float:
    return float(Decimal(value or 0).quantize(CENT, ROUND_HALF_UP))


def tenth(value: Decimal) -> float:
    return float(value.quantize(TENTH, ROUND_HALF_UP))


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)


def percent(part: Decimal | int, whole: Decimal | int) -> float | None:
    """``part`` as a percentage of ``whole``, or None when ``whole`` is zero."""
    share = ratio(part, whole)
    return None if share is None else tenth(share * 100)


def change_percent(current: Decimal | int, previous: Decimal | int) -> float | None:
    """Percent change from ``previous``; None when there was nothing before to compare."""
    if not previous:
        return None
    return percent(Decimal(current) - Decimal(previous), abs(Decimal(previous)))


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def dollars(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def change_phrase(change: float | None, previous: float, label: str) -> str:
    """'up 12.3% vs the previous 30 days', 'unchanged vs 2023', or a note that the
    comparison period had nothing to compare with."""
    if change is None:
        return f"with nothing to compare in {label}" if not previous else f"vs {label}"
    if change > 0:
        return f"up {change:.1f}% vs {label}"
    if change < 0:
        return f"down {abs(change):.1f}% vs {label}"
    return f"unchanged vs {label}"


def check_whole_number(name: str, value: int, low: int, high: int) -> None:
    """Refuse anything but an int from ``low`` to ``high`` (services are called from more
    than the tools, whose argument models check this first)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.", reason=name)
