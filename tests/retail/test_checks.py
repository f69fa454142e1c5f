"""Django system checks of the database (zava.E001...), run as `check --database`."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.test import override_settings

from retail import readiness
from tests.conftest import uncommitted


@pytest.fixture(autouse=True)
def fresh_migration_state(monkeypatch) -> None:
    monkeypatch.setattr(readiness, "_migrations_applied", False)


def _zava_ids(databases: list[str] | None = ("default",)) -> set[str]:
    messages = run_checks(tags=[Tags.database], databases=list(databases or []) or None)
    return {message.id for message in messages if message.id.startswith("zava.")}


def test_a_healthy_database_passes(database):
    assert _zava_ids() == set()
    call_command("check", "--database", "default", "--fail-level", "WARNING")


def test_without_databases_nothing_is_queried():
    # No database fixture: a query here would raise.
    assert _zava_ids(None) == set()


def test_row_level_security_not_forced_is_an_error(database):
    with uncommitted("ALTER TABLE retail.customers NO FORCE ROW LEVEL SECURITY"):
        assert _zava_ids() == {"zava.E003"}


def test_a_tenant_role_that_cannot_be_used_is_an_error(database):
    roles = {**settings.ZAVA_DB_ROLES, "tenant": "zava_no_such_role"}
    with override_settings(ZAVA_DB_ROLES=roles):
        assert _zava_ids() == {"zava.E002"}


def test_missing_embeddings_are_a_warning(database):
    with uncommitted("DELETE FROM retail.product_description_embeddings"):
        assert _zava_ids() == {"zava.W001"}


def test_pending_migrations_silence_the_checks_so_migrate_can_run(database):
    with uncommitted(
        "DELETE FROM django_migrations WHERE app = 'retail'",
        "ALTER TABLE retail.customers NO FORCE ROW LEVEL SECURITY",
    ):
        assert _zava_ids() == set()
