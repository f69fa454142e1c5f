"""bootstrap_database sets up roles and a database, and can run again."""

from __future__ import annotations

from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection


def _admin_url() -> str:
    socket_dir = connection.settings_dict["HOST"]
    return f"postgresql://postgres@/postgres?host={socket_dir}"


@pytest.mark.skipif(not settings.ZAVA_EMBEDDED_DB, reason="needs the embedded server's superuser")
def test_bootstrap_creates_a_database_owned_by_the_owner_role_and_is_idempotent(database):
    try:
        for _ in range(2):
            out = StringIO()
            call_command(
                "bootstrap_database",
                "--admin-url",
                _admin_url(),
                "--database",
                "zava_bootstrap_check",
                stdout=out,
            )
            assert "are ready" in out.getvalue()
        with psycopg.connect(_admin_url()) as admin:
            owner = admin.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                ["zava_bootstrap_check"],
            ).fetchone()[0]
        assert owner == settings.ZAVA_DB_ROLES["owner"]
    finally:
        with psycopg.connect(_admin_url(), autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS zava_bootstrap_check")


def test_bootstrap_reports_a_bad_admin_url_clearly(database):
    with pytest.raises(CommandError, match="Bootstrap failed"):
        call_command(
            "bootstrap_database", "--admin-url", "postgresql://nobody@/x?host=/nonexistent"
        )
