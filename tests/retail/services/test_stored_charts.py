"""Kept charts are read back only in the scope that drew them: identity, stores, data."""

from __future__ import annotations

import pytest
from django.db import connection

from retail.errors import InvalidInput
from retail.models import ManagerStore
from retail.services.stored_charts import NOT_FOUND, keep_chart, kept_chart
from retail.tenancy import run_as_tenant
from tests.identities import EASTERN_ONLINE, PUGET_SOUND, SEATTLE

PNG = b"\x89PNG\r\n\x1a\nnot really a chart"


def _keep(manager_id) -> str:
    kept = run_as_tenant(manager_id, lambda: keep_chart(PNG))
    assert kept is not None
    return kept.chart_id


def _read(manager_id, chart_id: str) -> bytes:
    return run_as_tenant(manager_id, lambda: kept_chart(chart_id))


def _refused(manager_id, chart_id: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _read(manager_id, chart_id)
    assert refused.value.message == NOT_FOUND


def test_the_drawer_reads_its_chart_and_nobody_else_does(database):
    chart_id = _keep(SEATTLE.id)
    assert _read(SEATTLE.id, chart_id) == PNG
    _refused(PUGET_SOUND.id, chart_id)  # manages Seattle too: still not theirs


def test_a_manager_who_loses_a_store_loses_the_charts_drawn_with_it(database):
    chart_id = _keep(EASTERN_ONLINE.id)
    mapping = ManagerStore.objects.get(manager_id=EASTERN_ONLINE.id, store__store_id=8)
    mapping.delete()
    try:
        _refused(EASTERN_ONLINE.id, chart_id)
    finally:
        ManagerStore.objects.create(manager_id=EASTERN_ONLINE.id, store_id=8)
    assert _read(EASTERN_ONLINE.id, chart_id) == PNG


def test_a_reseed_retires_the_charts_of_the_old_data(database):
    chart_id = _keep(SEATTLE.id)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE zava_private.data_version SET version = version + 1")
    _refused(SEATTLE.id, chart_id)


@pytest.mark.parametrize("chart_id", ["", "x" * 32, "0" * 33, "../" + "0" * 29, "0" * 31 + "\n"])
def test_malformed_ids_are_not_found(database, chart_id):
    _refused(SEATTLE.id, chart_id)


def test_links_can_be_turned_off(database, settings):
    settings.ZAVA_CHART_LINK_SECONDS = 0
    assert run_as_tenant(SEATTLE.id, lambda: keep_chart(PNG)) is None
