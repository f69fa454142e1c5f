"""/health/live and /health/ready: cheap, unauthenticated, 503 naming what is wrong.

Failures are simulated without disturbing anyone: changes to the shared test
database happen inside a transaction that is rolled back, a broken tenant role is
a settings override in this process, and a gateway role that cannot log in is a
private server started with a role name that does not exist.
"""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings
from django.test import Client, override_settings

from retail import readiness as probes
from tests.conftest import private_server, uncommitted
from zava import health

CHECKS = {"database", "tenant_database", "migrations", "row_level_security", "embeddings"}


@pytest.fixture(autouse=True)
def fresh_readiness(monkeypatch) -> None:
    """Every probe computed afresh: no answer from the last second, migrations unchecked."""
    monkeypatch.setattr(health, "CACHE_SECONDS", 0.0)
    monkeypatch.setattr(probes, "_migrations_applied", False)


def _ready() -> tuple[int, dict]:
    response = Client().get("/health/ready")
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def _assert_reveals_nothing(body: dict) -> None:
    text = str(body)
    for secret in (
        *settings.ZAVA_DB_ROLES.values(),
        str(settings.DATABASES["default"]["HOST"]),
        settings.DATABASES["default"]["NAME"],
        "Traceback",
        "zava_no_such_role",
    ):
        assert secret not in text, secret


def test_live_answers_without_touching_the_database():
    # No database fixture: pytest-django refuses any query, which would be a 500 here.
    response = Client().get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_ok_when_every_check_passes(database):
    status, body = _ready()
    assert status == 200, body
    assert body == {"status": "ok", "checks": {name: {"ok": True} for name in CHECKS}}


def test_ready_is_ok_on_the_real_server(zava_server):
    response = httpx.get(f"{zava_server.url}/health/ready", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert httpx.get(f"{zava_server.url}/health/live").json() == {"status": "ok"}


def test_ready_fails_when_embeddings_are_missing(database):
    with uncommitted("DELETE FROM retail.product_description_embeddings"):
        status, body = _ready()
    assert status == 503
    assert body["failing"] == ["embeddings"]
    assert "embed_products" in body["checks"]["embeddings"]["error"]
    _assert_reveals_nothing(body)


def test_ready_fails_when_embeddings_come_from_another_model(database):
    with uncommitted("UPDATE retail.product_description_embeddings SET model_name = 'other'"):
        status, body = _ready()
    assert status == 503
    assert body["failing"] == ["embeddings"]
    assert "--rebuild" in body["checks"]["embeddings"]["error"]


@override_settings(ZAVA_EMBEDDING_PROVIDER="openai", OPENAI_API_KEY="")
def test_ready_fails_when_the_embedding_model_cannot_load(database):
    status, body = _ready()
    assert status == 503
    assert body["failing"] == ["embeddings"]
    assert body["checks"]["embeddings"]["error"] == "the embedding model cannot be loaded"


def test_ready_fails_when_row_level_security_is_not_forced(database):
    with uncommitted("ALTER TABLE retail.orders NO FORCE ROW LEVEL SECURITY"):
        status, body = _ready()
    assert status == 503
    assert body["failing"] == ["row_level_security"]
    assert body["checks"]["row_level_security"]["error"].endswith("orders")


def test_ready_fails_when_migrations_are_not_applied(database):
    with uncommitted("DELETE FROM django_migrations WHERE app = 'retail'"):
        status, body = _ready()
    assert status == 503
    assert body["failing"] == ["migrations"]


def test_ready_fails_when_the_tenant_role_is_unusable(database):
    roles = {**settings.ZAVA_DB_ROLES, "tenant": "zava_no_such_role"}
    with override_settings(ZAVA_DB_ROLES=roles):
        status, body = _ready()
    assert status == 503
    assert body["failing"] == ["tenant_database"]
    assert body["checks"]["tenant_database"] == {
        "ok": False,
        "error": "cannot open a tenant context",
    }
    _assert_reveals_nothing(body)


@pytest.mark.slow
def test_ready_fails_on_a_server_whose_gateway_role_cannot_log_in(seeded, tmp_path):
    with private_server(
        tmp_path / "gunicorn.log",
        ZAVA_DB_GATEWAY_ROLE="zava_no_such_role",
        ZAVA_DB_POOL_TIMEOUT="0.5",
    ) as server:
        response = httpx.get(f"{server.url}/health/ready", timeout=30)
        live = httpx.get(f"{server.url}/health/live", timeout=30)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["tenant_database"]
    assert body["checks"]["database"] == {"ok": True}
    _assert_reveals_nothing(body)
    assert live.status_code == 200  # alive, just not ready: no restart loop


def test_ready_is_computed_at_most_once_a_second(
    database, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(health, "CACHE_SECONDS", 1.0)
    monkeypatch.setattr(health, "_cached", None)
    _ready()
    with django_assert_max_num_queries(0):
        status, _ = _ready()
    assert status == 200


def test_health_endpoints_answer_only_reads():
    assert Client().post("/health/live").status_code == 405
