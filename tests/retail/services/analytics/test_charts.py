"""Charts are real PNG images of the promised size, for every report that has one."""

from __future__ import annotations

import struct

import pytest

from retail.services.analytics import (
    charts,
    get_category_seasonality,
    get_sales_trend,
    get_store_performance,
    get_top_products,
)
from retail.tenancy import run_as_tenant
from tests.identities import PUGET_SOUND
from tests.retail.services.analytics.expected import TODAY

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(
    ("draw", "build"),
    [
        (charts.sales_trend_chart, lambda: get_sales_trend("2025", "week", today=TODAY)),
        (charts.sales_trend_chart, lambda: get_sales_trend("last_30_days", "day", today=TODAY)),
        (charts.store_performance_chart, lambda: get_store_performance("2025", today=TODAY)),
        (charts.top_products_chart, lambda: get_top_products("2025", "units", today=TODAY)),
        (charts.top_products_chart, lambda: get_top_products("2025", "margin", today=TODAY)),
        (charts.seasonality_chart, lambda: get_category_seasonality(today=TODAY)),
    ],
)
def test_each_chart_is_a_png_of_the_fixed_size(database, draw, build):
    report = run_as_tenant(PUGET_SOUND.id, lambda: build())
    image = draw(report)
    assert png_size(image) == (charts.WIDTH, charts.HEIGHT)
    assert image.endswith(b"IEND\xaeB`\x82")


def test_an_empty_report_still_draws(database):
    report = run_as_tenant(PUGET_SOUND.id, lambda: get_sales_trend("2019", "month", today=TODAY))
    assert png_size(charts.sales_trend_chart(report)) == (charts.WIDTH, charts.HEIGHT)
