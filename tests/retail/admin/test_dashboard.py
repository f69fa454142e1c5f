"""The dashboard page: server-drawn SVG charts and tables, nothing loaded from elsewhere."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from retail.models import Store

URL = reverse("admin:dashboard")


def test_the_dashboard_draws_its_charts_inline_with_every_store(staff_client, database):
    response = staff_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<figure class="zava-chart">') == 4  # revenue, orders, categories, calls
    assert page.count('role="img"') == 4
    for store in Store.objects.all():
        assert store.store_name in page
    assert "Revenue per store and month" in page
    assert "Top categories by revenue" in page
    assert "Tool calls per day, last 14 days" in page


def test_the_dashboard_loads_nothing_from_another_host(staff_client, database):
    page = staff_client.get(URL).content.decode()
    external = re.findall(r'(?:src|href)="(https?:)?//', page)
    assert external == []
    assert '<script src="http' not in page
    assert "cdn" not in page.lower()


def test_the_window_can_be_chosen_and_bad_values_fall_back(staff_client, database):
    six = staff_client.get(URL, {"months": "6"}).context
    assert len(six["sales"].months) == 6
    assert len(staff_client.get(URL, {"months": "7"}).context["sales"].months) == 12
    assert len(staff_client.get(URL, {"months": "x"}).context["sales"].months) == 12


def test_the_dashboard_needs_a_staff_login(client, database):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_every_page_links_to_the_dashboard(staff_client, database):
    page = staff_client.get(reverse("admin:retail_store_changelist")).content.decode()
    assert f'href="{URL}"' in page


@pytest.fixture
def order_today(database):
    """One order dated today, so that the window ends with the month in progress."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO retail.orders (customer_id, store_id, order_date) "
            "SELECT customer_id, primary_store_id, current_date FROM retail.customers "
            "ORDER BY customer_id LIMIT 1 RETURNING order_id"
        )
        order_id = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM retail.orders WHERE order_id = %s", [order_id])


def test_the_month_in_progress_is_drawn_dashed_and_labelled(staff_client, order_today):
    response = staff_client.get(URL, {"months": "6"})
    today = timezone.localdate()
    sales = response.context["sales"]
    assert sales.months[-1] == today.replace(day=1)
    assert sales.first_partial == 5
    page = response.content.decode()
    label = f"partial: to {today.day} {today:%b}"
    assert page.count(f">{label}</text>") == 2  # the revenue and the orders chart
    assert page.count('class="partial-line"') == 2 * Store.objects.count()
    assert f"{today:%B %Y} is partial" in page


def test_complete_months_have_no_partial_marks(staff_client, database):
    page = staff_client.get(URL).content.decode()
    assert "partial-line" not in page
    assert "is partial" not in page
