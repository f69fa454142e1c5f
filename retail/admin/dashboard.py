"""The dashboard page: sales per store over time, top categories, tool-call health.

The numbers come from ``retail.services.dashboard``; this module only turns them
into chart geometry and tables. Open to every staff member (it changes nothing).
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from retail.admin import charts
from retail.models import Outcome
from retail.services import dashboard as data

MONTH_CHOICES = (6, 12, 24, 36)
DEFAULT_MONTHS = 12
TOOL_CALL_DAYS = 14


def _money(value: object) -> str:
    return charts.compact_number(value, prefix="$")


def _months(request: HttpRequest) -> int:
    try:
        months = int(request.GET.get("months", DEFAULT_MONTHS))
    except ValueError:
        return DEFAULT_MONTHS
    return months if months in MONTH_CHOICES else DEFAULT_MONTHS


def dashboard(request: HttpRequest, site: AdminSite) -> HttpResponse:
    months = _months(request)
    sales = data.sales_by_store(months=months)
    labels = [m.strftime("%b %Y") for m in sales.months]
    partial = {
        "partial_from": sales.first_partial,
        "partial_label": f"partial: to {sales.until:%-d %b}" if sales.until else "partial",
    }
    categories = data.top_categories(start=sales.start, end=sales.end) if sales.months else []
    calls = data.tool_call_volume(days=TOOL_CALL_DAYS)
    total_calls = sum(day.total for day in calls)
    failed_calls = sum(day.failed for day in calls)

    context = {
        **site.each_context(request),
        "title": "Dashboard",
        "months": months,
        "month_choices": MONTH_CHOICES,
        "sales": sales,
        "revenue_chart": charts.line_chart(
            title="Revenue per store and month",
            x_labels=labels,
            series=[(s.store_name, s.revenue) for s in sales.stores],
            value_format=_money,
            **partial,
        ),
        "orders_chart": charts.line_chart(
            title="Orders per store and month",
            x_labels=labels,
            series=[(s.store_name, s.orders) for s in sales.stores],
            **partial,
        ),
        "categories": categories,
        "categories_chart": charts.bar_chart(
            title="Top categories by revenue",
            items=[(c.category_name, c.revenue) for c in categories],
            value_format=_money,
        ),
        "call_rows": [
            {"day": day, "counts": [day.by_outcome.get(value, 0) for value, _ in Outcome.choices]}
            for day in calls
        ],
        "total_calls": total_calls,
        "failed_calls": failed_calls,
        "error_rate": failed_calls / total_calls if total_calls else None,
        "tool_call_days": TOOL_CALL_DAYS,
        "outcomes": Outcome.choices,
        "calls_chart": charts.stacked_chart(
            title=f"Tool calls per day, last {TOOL_CALL_DAYS} days",
            x_labels=[d.day.strftime("%d %b") for d in calls],
            stacks=[d.by_outcome for d in calls],
            order=[(value, label) for value, label in Outcome.choices],
            rates=[d.error_rate for d in calls],
        ),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
