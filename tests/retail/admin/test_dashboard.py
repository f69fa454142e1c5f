"""The dashboard page: server-drawn SVG charts and tables, nothing loaded from elsewhere."""

from __future__ import annotations

import re

from django.urls import reverse

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
