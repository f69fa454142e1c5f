"""Chart geometry and its SVG templates, on numbers small enough to check by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from retail.admin.charts import (
    Box,
    axis_top,
    bar_chart,
    compact_number,
    line_chart,
    stacked_chart,
)


@pytest.mark.parametrize(
    ("largest", "integer", "top"),
    [
        (0, False, 4.0),
        (3, True, 4.0),
        (37, True, 40.0),
        (1.0, False, 1.0),
        (95_000, False, 100_000),
    ],
)
def test_axis_tops_are_round_multiples_of_four_steps(largest, integer, top):
    assert axis_top(largest, integer=integer) == top


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (1_500, "1.5k"), (2_000_000, "2M"), (Decimal("1234567.89"), "1.2M")],
)
def test_compact_numbers(value, text):
    assert compact_number(value) == text


def test_a_line_chart_maps_values_into_the_plot_box():
    box = Box(width=200, height=100, left=0, right=0, top=0, bottom=0)
    chart = line_chart(title="t", x_labels=["a", "b", "c"], series=[("s", [0, 2, 4])], box=box)
    points = [(p.x, p.y) for p in chart.series[0].points]
    assert points == [(0.0, 100.0), (100.0, 50.0), (200.0, 0.0)]
    assert chart.series[0].polyline == "0.0,100.0 100.0,50.0 200.0,0.0"
    assert [t.label for t in chart.y_ticks] == ["0", "1", "2", "3", "4"]


def test_bars_are_as_long_as_their_share_of_the_largest():
    chart = bar_chart(title="t", items=[("a", 100), ("b", 25)])
    assert chart.bars[0].length == chart.box.plot_width
    assert chart.bars[1].length == chart.box.plot_width / 4


def test_stacks_pile_outcomes_and_skip_empty_ones():
    chart = stacked_chart(
        title="t",
        x_labels=["d1", "d2"],
        stacks=[{"ok": 3, "error": 1}, {}],
        order=[("ok", "ok"), ("error", "error")],
        rates=[0.25, None],
    )
    first, second = chart.columns
    assert [s.label for s in first.segments] == ["ok: 3", "error: 1"]
    assert first.segments[1].y + first.segments[1].height == pytest.approx(first.segments[0].y)
    assert second.segments == []
    assert len(chart.rate_line.points) == 1  # no rate on a day without calls


def test_the_templates_escape_names():
    chart = line_chart(title="<b>t</b>", x_labels=["<m>"], series=[("<script>x</script>", [1])])
    svg = render_to_string("admin/retail/charts/line_chart.html", {"chart": chart})
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    bars = bar_chart(title="t", items=[('"><svg onload=x>', 1)])
    svg = render_to_string("admin/retail/charts/bar_chart.html", {"chart": bars})
    assert "<svg onload" not in svg


def test_a_partial_period_is_dashed_shaded_and_labelled():
    box = Box(width=300, height=100, left=0, right=0, top=0, bottom=0)
    chart = line_chart(
        title="t",
        x_labels=["Apr", "May", "Jun"],
        series=[("s", [4, 4, 1])],
        box=box,
        partial_from=2,
        partial_label="partial: to 3 Jun",
    )
    series = chart.series[0]
    assert series.solid_polyline == "0.0,0.0 150.0,0.0"
    assert series.partial_polyline == "150.0,0.0 300.0,75.0"  # from May into June
    assert chart.partial.x == 225.0  # halfway between May and June, to the right edge
    assert chart.partial.width == 75.0
    assert series.points[2].label.endswith("(partial: to 3 Jun)")
    assert not series.points[1].label.endswith(")")

    svg = render_to_string("admin/retail/charts/line_chart.html", {"chart": chart})
    assert 'stroke-dasharray="5 4" points="150.0,0.0 300.0,75.0"' in svg
    assert 'points="0.0,0.0 150.0,0.0"' in svg
    assert ">partial: to 3 Jun</text>" in svg


def test_a_chart_without_a_partial_period_has_no_dashes():
    chart = line_chart(title="t", x_labels=["a", "b"], series=[("s", [1, 2])])
    assert chart.partial is None
    svg = render_to_string("admin/retail/charts/line_chart.html", {"chart": chart})
    assert "stroke-dasharray" not in svg
    assert "partial" not in svg
