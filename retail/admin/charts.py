"""Charts as inline SVG, laid out here and drawn by templates in ``admin/retail/charts/``.

No JavaScript and no CDN: the dashboard must work offline and behind strict
networks. This module only computes geometry (numbers and labels); the templates
write the SVG with Django's autoescaping, so a store or category name can never
inject markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

Number = int | float | Decimal

# Colour-blind-friendly (Okabe-Ito, then darker tones), in a fixed order per store.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#7F7F7F",
)
OUTCOME_COLOURS = {
    "ok": "#009E73",
    "refused": "#E69F00",
    "timeout": "#56B4E9",
    "error": "#D55E00",
    "unauthorized": "#CC79A7",
}


@dataclass(frozen=True)
class Box:
    """The plot area inside the SVG, leaving margins for the axes' labels."""

    width: int = 720
    height: int = 280
    left: int = 64
    right: int = 32  # room for half of the last x label
    top: int = 16
    bottom: int = 40

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def x_end(self) -> float:
        return self.width - self.right

    @property
    def y_end(self) -> float:
        return self.height - self.bottom


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # shown as the point's tooltip


def _polyline(points: Sequence[Point]) -> str:
    return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: list[Point]
    partial_from: int | None = None  # index of the first point of an incomplete period

    @property
    def polyline(self) -> str:
        return _polyline(self.points)

    @property
    def solid_polyline(self) -> str:
        """The line through complete periods only."""
        return _polyline(self.points[: self.partial_from])

    @property
    def partial_polyline(self) -> str:
        """The segment into the incomplete periods (drawn dashed), or ''."""
        if self.partial_from is None:
            return ""
        return _polyline(self.points[max(self.partial_from - 1, 0) :])


@dataclass(frozen=True)
class PartialBand:
    """The shaded, labelled stretch of a line chart whose periods are not over."""

    x: float
    width: float
    label: str

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class LineChart:
    title: str
    box: Box
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    partial: PartialBand | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    value_label: str
    x: float
    y: float
    length: float
    height: float
    colour: str

    @property
    def middle(self) -> float:
        """Where the bar's labels sit vertically."""
        return self.y + self.height / 2

    @property
    def end(self) -> float:
        return self.x + self.length


@dataclass(frozen=True)
class BarChart:
    title: str
    box: Box
    bars: list[Bar]


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Column:
    x: float
    width: float
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class StackedChart:
    title: str
    box: Box
    columns: list[Column]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (label, colour)
    rate_line: Series | None  # e.g. the error rate, on the right-hand 0-100 % scale
    rate_ticks: list[Tick]


TICKS = 4  # intervals on a value axis


def nice_step(value: float, *, integer: bool = False) -> float:
    """The smallest of 1, 2, 2.5 (unless ``integer``), 5 times a power of ten >= ``value``."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    for step in steps:
        candidate = step * 10.0**exponent
        if candidate >= value:
            return max(candidate, 1.0) if integer else candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def axis_top(largest: float, *, integer: bool = False) -> float:
    """The top of a value axis: ``TICKS`` round steps that reach ``largest``."""
    return TICKS * nice_step(largest / TICKS, integer=integer)


def compact_number(value: Number, prefix: str = "") -> str:
    """12,345 as '12.3k', 1,500,000 as '1.5M': axis labels must stay short."""
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{prefix}{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{prefix}{number:,.0f}"


def _y_ticks(box: Box, top_value: float, fmt: Callable[[float], str]) -> list[Tick]:
    return [
        Tick(box.y_end - box.plot_height * i / TICKS, fmt(top_value * i / TICKS))
        for i in range(TICKS + 1)
    ]


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    value_format: Callable[[Number], str] = compact_number,
    box: Box | None = None,
    partial_from: int | None = None,
    partial_label: str = "partial",
) -> LineChart:
    """One polyline per series over the same x labels (e.g. months).

    From index ``partial_from`` on, the periods are incomplete (the month in progress):
    their segment is dashed, their points' tooltips say so and a shaded band labelled
    ``partial_label`` covers them, so a drop there does not read as a collapse.
    """
    box = box or Box()
    values = [float(v) for _, vs in series for v in vs]
    top = axis_top(max(values, default=0.0))
    steps = max(len(x_labels) - 1, 1)

    def x_at(i: int) -> float:
        return box.left + box.plot_width * i / steps

    def y_at(value: Number) -> float:
        return box.y_end - box.plot_height * float(value) / top

    # Label every month on short windows, fewer on long ones so they never overlap.
    every = max(1, math.ceil(len(x_labels) / 12))

    def tooltip(name: str, i: int, value: Number) -> str:
        text = f"{name}, {x_labels[i]}: {value_format(value)}"
        return (
            f"{text} ({partial_label})" if partial_from is not None and i >= partial_from else text
        )

    band = None
    if partial_from is not None and partial_from < len(x_labels):
        start = box.left if partial_from == 0 else (x_at(partial_from - 1) + x_at(partial_from)) / 2
        band = PartialBand(x=start, width=box.x_end - start, label=partial_label)
    return LineChart(
        title=title,
        box=box,
        x_ticks=[Tick(x_at(i), label) for i, label in enumerate(x_labels) if i % every == 0],
        y_ticks=_y_ticks(box, top, value_format),
        series=[
            Series(
                name=name,
                colour=PALETTE[index % len(PALETTE)],
                points=[Point(x_at(i), y_at(v), tooltip(name, i, v)) for i, v in enumerate(vs)],
                partial_from=partial_from if band else None,
            )
            for index, (name, vs) in enumerate(series)
        ],
        partial=band,
    )


def bar_chart(
    *,
    title: str,
    items: Sequence[tuple[str, Number]],
    value_format: Callable[[Number], str] = compact_number,
    width: int = 720,
) -> BarChart:
    """Horizontal bars, longest first as given, with the label left of each bar."""
    bar_height, gap = 22.0, 8.0
    box = Box(
        width=width,
        height=int(16 + len(items) * (bar_height + gap)),
        left=200,
        right=80,
        top=8,
        bottom=8,
    )
    top = max((float(v) for _, v in items), default=0.0) or 1.0
    return BarChart(
        title=title,
        box=box,
        bars=[
            Bar(
                label=label,
                value_label=value_format(value),
                x=box.left,
                y=box.top + i * (bar_height + gap),
                length=box.plot_width * float(value) / top,
                height=bar_height,
                colour=PALETTE[0],
            )
            for i, (label, value) in enumerate(items)
        ],
    )


def stacked_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    stacks: Sequence[dict[str, int]],
    order: Sequence[tuple[str, str]],
    rates: Sequence[float | None] = (),
    box: Box | None = None,
) -> StackedChart:
    """Stacked columns (e.g. calls per day by outcome), with an optional rate line.

    ``order`` lists (key, label) pairs from the bottom of each stack up; ``rates``
    are fractions from 0 to 1 drawn against a right-hand percentage scale.
    """
    box = box or Box(right=48)
    top = axis_top(max((sum(s.values()) for s in stacks), default=0), integer=True)
    slot = box.plot_width / max(len(stacks), 1)
    width = slot * 0.7
    columns = []
    for i, stack in enumerate(stacks):
        x = box.left + slot * i + (slot - width) / 2
        y = box.y_end
        segments = []
        for key, label in order:
            count = stack.get(key, 0)
            if not count:
                continue
            height = box.plot_height * count / top
            y -= height
            segments.append(
                Segment(y, height, OUTCOME_COLOURS.get(key, PALETTE[-1]), f"{label}: {count}")
            )
        columns.append(Column(x=x, width=width, segments=segments))

    rate_line = None
    if rates:
        rate_line = Series(
            name="error rate",
            colour="#000000",
            points=[
                Point(
                    box.left + slot * i + slot / 2,
                    box.y_end - box.plot_height * rate,
                    f"{x_labels[i]}: {rate:.0%} not succeeded",
                )
                for i, rate in enumerate(rates)
                if rate is not None
            ],
        )
    every = max(1, math.ceil(len(x_labels) / 14))
    return StackedChart(
        title=title,
        box=box,
        columns=columns,
        x_ticks=[
            Tick(box.left + slot * i + slot / 2, label)
            for i, label in enumerate(x_labels)
            if i % every == 0
        ],
        y_ticks=_y_ticks(box, top, lambda v: f"{v:,.0f}"),
        legend=[(label, OUTCOME_COLOURS.get(key, PALETTE[-1])) for key, label in order],
        rate_line=rate_line,
        rate_ticks=[
            Tick(box.y_end - box.plot_height * i / TICKS, f"{100 * i // TICKS}%")
            for i in range(TICKS + 1)
        ]
        if rates
        else [],
    )
