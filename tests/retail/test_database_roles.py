"""The roles are what the design promises: nobody who runs queries bypasses RLS."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

ROLES = settings.ZAVA_DB_ROLES


def _role(name: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolinherit, rolcanlogin FROM pg_roles "
            "WHERE rolname = %s",
            [name],
        )
        superuser, bypassrls, inherit, login = cursor.fetchone()
    return {"super": superuser, "bypassrls": bypassrls, "inherit": inherit, "login": login}


@pytest.mark.parametrize("role", ["owner", "gateway", "tenant"])
def test_no_application_role_is_superuser_or_bypasses_rls(database, role):
    attributes = _role(ROLES[role])
    assert not attributes["super"]
    assert not attributes["bypassrls"]


def test_the_gateway_inherits_nothing_and_the_tenant_cannot_log_in(database):
    assert not _role(ROLES["gateway"])["inherit"]
    assert not _role(ROLES["tenant"])["login"]


def test_the_tenant_role_owns_no_table(database):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = %s",
            [ROLES["tenant"]],
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("table", ["customers", "orders", "order_items", "inventory"])
def test_rls_is_enabled_and_forced(database, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
            [f"retail.{table}"],
        )
        assert cursor.fetchone() == (True, True)


def test_the_tenant_role_may_only_select(database):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s",
            [ROLES["tenant"]],
        )
        assert {row[0] for row in cursor.fetchall()} == {"SELECT"}
