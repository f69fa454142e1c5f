"""PNG charts of analytics reports, drawn headless with matplotlib's Agg renderer.

Charts are built on a bare ``Figure`` with the Agg canvas, never through pyplot, so
there is no global figure state to share between gunicorn's threads and no display
needed. Every chart has the same fixed pixel size, so clients can lay it out before
it arrives; they draw only numbers the report already holds.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from retail.services.analytics.sales_trend import SalesTrendReport
from retail.services.analytics.scope import short_store_name
from retail.services.analytics.seasonality import SeasonalityReport
from retail.services.analytics.store_performance import StorePerformanceReport
from retail.services.analytics.top_products import TopProductsReport

WIDTH, HEIGHT, DPI = 960, 540, 120
CURRENT, PREVIOUS, ACCENT = "#1f6f8b", "#a7c5d1", "#e07a5f"
MAX_LABEL = 32


def sales_trend_chart(report: SalesTrendReport) -> bytes:
    """Revenue and gross margin per bucket of the trend."""
    figure, axes = _canvas()
    # datetime64: what matplotlib's date axis takes and its type hints name.
    days = np.array([point.start for point in report.points], dtype="datetime64[D]")
    axes.plot(days, [p.revenue for p in report.points], color=CURRENT, label="Revenue")
    axes.plot(days, [p.gross_margin for p in report.points], color=ACCENT, label="Gross margin")
    if len(days) <= 60:
        axes.scatter(days, [p.revenue for p in report.points], color=CURRENT, s=10)
    scope = f" - {report.category}" if report.category else ""
    axes.set_title(f"Sales per {report.granularity}, {report.period.label}{scope}")
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    return _png(figure, axes)


def store_performance_chart(report: StorePerformanceReport) -> bytes:
    """Revenue per store, against the period before."""
    figure, axes = _canvas()
    names = [short_store_name(store.store) for store in report.stores]
    positions = range(len(names))
    width = 0.4
    axes.bar(
        [x - width / 2 for x in positions],
        [store.previous.revenue for store in report.stores],
        width,
        color=PREVIOUS,
        label=report.previous_period.label,
    )
    axes.bar(
        [x + width / 2 for x in positions],
        [store.current.revenue for store in report.stores],
        width,
        color=CURRENT,
        label=report.period.label,
    )
    axes.set_xticks(list(positions), names)
    axes.set_title(f"Revenue per store, {report.period.label}")
    axes.legend(loc="upper right")
    return _png(figure, axes)


def top_products_chart(report: TopProductsReport) -> bytes:
    """The ranked products, best at the top."""
    figure, axes = _canvas()
    products = list(reversed(report.products))
    values: dict[str, list[float]] = {
        "revenue": [p.revenue for p in products],
        "units": [p.units for p in products],
        "margin": [p.gross_margin for p in products],
    }
    axes.barh([_short(p.product_name) for p in products], values[report.by], color=CURRENT)
    scope = f" in {report.category}" if report.category else ""
    axes.set_title(f"Top products{scope} by {report.by}, {report.period.label}")
    return _png(figure, axes, money_axis=None if report.by == "units" else "x")


def seasonality_chart(report: SeasonalityReport) -> bytes:
    """The monthly index (100 = an average month)."""
    figure, axes = _canvas()
    names = [shape.name[:3] for shape in report.shape]
    axes.bar(names, [shape.index for shape in report.shape], color=CURRENT)
    axes.axhline(100, color=ACCENT, linewidth=1, label="average month")
    what = report.category or "All categories"
    years = report.complete_years
    span = f"{years[0]}-{years[-1]}" if years else "no complete year"
    axes.set_title(f"Seasonality of {what} ({span})")
    axes.legend(loc="upper left")
    return _png(figure, axes, money_axis=None)


def _canvas() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(labelsize=8)
    axes.title.set_fontsize(10)
    return figure, axes


def _png(figure: Figure, axes: Axes, *, money_axis: str | None = "y") -> bytes:
    if money_axis is not None:
        axis = axes.yaxis if money_axis == "y" else axes.xaxis
        axis.set_major_formatter(FuncFormatter(_dollars))
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _dollars(value: float, _position: int | None = None) -> str:
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:,.1f}M"
    if abs(value) >= 1_000:
        return f"${value / 1_000:,.0f}k"
    return f"${value:,.0f}"


def _short(label: str, limit: int = MAX_LABEL) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
