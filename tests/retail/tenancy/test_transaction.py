"""The tenant transaction, attacked from inside: SQL running as the tenant cannot widen it.

These tests run no SQL checking above the data layer: whatever a query does inside
the transaction, PostgreSQL itself must refuse or show nothing more. An attack that
moves the session's role or identity is also caught on the way out: the drift check
fails the transaction closed (``drifting_seattle_cursor``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from psycopg.pq import TransactionStatus

from retail.errors import DatabaseFailure
from retail.services.audit_retention import month_start, partition_name
from retail.services.seeding import STORES
from retail.tenancy import run_as_tenant, tenant_cursor
from retail.tenancy.transaction import TenantContextDrift, TenantContextError, tenant_transaction
from tests.conftest import backend_gone
from tests.identities import HEAD_OFFICE, SEATTLE

TENANT_ROLE = settings.ZAVA_DB_ROLES["tenant"]
OWNER_ROLE = settings.ZAVA_DB_ROLES["owner"]
GATEWAY_ROLE = settings.ZAVA_DB_ROLES["gateway"]
INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"
THIS_MONTHS_AUDIT = partition_name(month_start(timezone.now()))


def _sqlstate(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.__cause__.sqlstate


def _scalar(cursor, sql: str, params=None):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _stores_with_orders(cursor) -> set[int]:
    cursor.execute("SELECT DISTINCT store_id FROM retail.orders")
    return {row[0] for row in cursor.fetchall()}


@contextmanager
def _attempt(alias: str = "tenant") -> Iterator[None]:
    """A savepoint, so that one refused statement does not abort the whole test. In
    SQL: the tenant transaction is the context's own, which Django does not manage."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SAVEPOINT attempt")
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK TO SAVEPOINT attempt")
            raise
        cursor.execute("RELEASE SAVEPOINT attempt")


@pytest.fixture
def seattle_cursor(database):
    with tenant_transaction(SEATTLE.id) as tenant, tenant.connection.cursor() as cursor:
        yield cursor


@pytest.fixture
def drifting_seattle_cursor(database):
    """Seattle's transaction for an attack that moves the role or identity: after the
    test's own assertions, leaving the transaction must fail closed."""
    with pytest.raises(TenantContextDrift):  # noqa: SIM117 - raised on leaving
        with tenant_transaction(SEATTLE.id) as tenant, tenant.connection.cursor() as cursor:
            yield cursor


@pytest.fixture
def tenant_role_read_write(database):
    """The bare tenant role in a read-write transaction, to show privileges alone refuse."""
    with transaction.atomic(using="tenant"), connections["tenant"].cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{TENANT_ROLE}"')
        yield cursor
        transaction.set_rollback(True, using="tenant")


def test_context_runs_as_the_restricted_role_in_a_read_only_transaction(seattle_cursor):
    cursor = seattle_cursor
    cursor.execute(
        "SELECT current_user, current_setting('transaction_read_only'), "
        "current_setting('statement_timeout'), current_setting('lock_timeout'), "
        "current_setting('idle_in_transaction_session_timeout')"
    )
    user, read_only, statement_timeout, lock_timeout, idle_timeout = cursor.fetchone()
    assert user == TENANT_ROLE
    assert read_only == "on"
    assert statement_timeout == f"{settings.ZAVA_QUERY_TIMEOUT_MS // 1000}s"
    assert lock_timeout != "0"
    assert idle_timeout != "0"


def test_store_manager_sees_only_their_store(seattle_cursor):
    assert _stores_with_orders(seattle_cursor) == {1}


def test_forged_identity_with_set_config_shows_no_rows(drifting_seattle_cursor):
    cursor = drifting_seattle_cursor
    cursor.execute("SELECT set_config('app.current_rls_user_id', %s, true)", [str(HEAD_OFFICE.id)])
    assert _scalar(cursor, "SELECT count(*) FROM retail.orders") == 0


def test_forged_identity_with_the_callers_own_proof_shows_no_rows(drifting_seattle_cursor):
    cursor = drifting_seattle_cursor
    proof = _scalar(cursor, "SELECT current_setting('app.rls_context_proof')")
    cursor.execute(
        "SELECT set_config('app.current_rls_user_id', %s, false), "
        "set_config('app.rls_context_proof', %s, false)",
        [str(HEAD_OFFICE.id), proof],
    )
    assert _scalar(cursor, "SELECT count(*) FROM retail.orders") == 0


def test_proof_from_an_earlier_transaction_is_worthless(database):
    with tenant_transaction(HEAD_OFFICE.id) as tenant, tenant.connection.cursor() as cursor:
        stolen = _scalar(cursor, "SELECT current_setting('app.rls_context_proof')")
        assert len(_stores_with_orders(cursor)) == len(STORES)
    with (
        pytest.raises(TenantContextDrift),
        tenant_transaction(SEATTLE.id) as tenant,
        tenant.connection.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT set_config('app.current_rls_user_id', %s, true), "
            "set_config('app.rls_context_proof', %s, true)",
            [str(HEAD_OFFICE.id), stolen],
        )
        assert _scalar(cursor, "SELECT count(*) FROM retail.orders") == 0


def test_reset_role_leaves_a_role_that_can_read_nothing(drifting_seattle_cursor):
    cursor = drifting_seattle_cursor
    cursor.execute("RESET ROLE")
    assert _scalar(cursor, "SELECT current_user") == GATEWAY_ROLE
    for table in ("retail.orders", "retail.stores", "auth_user", "tenancy_managers"):
        with pytest.raises(DatabaseError) as excinfo, _attempt():
            cursor.execute(f"SELECT count(*) FROM {table}")
        assert _sqlstate(excinfo) == INSUFFICIENT_PRIVILEGE, table


def test_reset_role_then_set_role_back_does_not_restore_a_forged_identity(drifting_seattle_cursor):
    cursor = drifting_seattle_cursor
    cursor.execute("RESET ROLE")
    cursor.execute(f'SET ROLE "{TENANT_ROLE}"')
    cursor.execute("SELECT set_config('app.current_rls_user_id', %s, true)", [str(HEAD_OFFICE.id)])
    assert _scalar(cursor, "SELECT count(*) FROM retail.orders") == 0


@pytest.mark.parametrize("role", [OWNER_ROLE, "postgres"])
def test_switching_to_a_privileged_role_is_refused(seattle_cursor, role):
    with pytest.raises(DatabaseError) as excinfo, _attempt():
        seattle_cursor.execute(f'SET ROLE "{role}"')
    assert _sqlstate(excinfo) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "statement",
    [
        "SET TRANSACTION READ WRITE",
        "SELECT set_config('transaction_read_only', 'off', true)",
        "SET SESSION AUTHORIZATION postgres",
    ],
)
def test_the_transaction_cannot_be_made_writable_or_reauthorised(seattle_cursor, statement):
    with pytest.raises(DatabaseError), _attempt():
        seattle_cursor.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO retail.stores (store_name, rls_user_id) VALUES ('x', gen_random_uuid())",
        "UPDATE retail.orders SET store_id = 1",
        "DELETE FROM retail.order_items",
    ],
)
def test_writes_fail_in_the_tenant_transaction(seattle_cursor, statement):
    with pytest.raises(DatabaseError) as excinfo, _attempt():
        seattle_cursor.execute(statement)
    assert _sqlstate(excinfo) == READ_ONLY_TRANSACTION


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO retail.stores (store_name, rls_user_id) VALUES ('x', gen_random_uuid())",
        "UPDATE retail.orders SET store_id = 1",
        "DELETE FROM retail.order_items",
        "TRUNCATE retail.customers",
    ],
)
def test_the_tenant_role_has_no_write_privilege_even_in_a_writable_transaction(
    tenant_role_read_write, statement
):
    with pytest.raises(DatabaseError) as excinfo, _attempt():
        tenant_role_read_write.execute(statement)
    assert _sqlstate(excinfo) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "table",
    [
        "auth_user",
        "django_session",
        "django_admin_log",
        "tenancy_managers",
        "tenancy_manager_stores",
        "zava_private.rls_signing_key",
        "zava_cache",  # cached answers of every manager
        "zava_request_counters",  # who called how often
        "audit_requests",  # every manager's calls and arguments
        "audit_requests_default",  # and its partitions, read directly
        THIS_MONTHS_AUDIT,
    ],
)
def test_the_tenant_role_cannot_read_django_tenancy_or_secret_tables(tenant_role_read_write, table):
    with pytest.raises(DatabaseError) as excinfo, _attempt():
        tenant_role_read_write.execute(f"SELECT * FROM {table} LIMIT 1")
    assert _sqlstate(excinfo) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE retail.stolen (x int)",
        "CREATE TABLE public.stolen (x int)",
        "CREATE TEMP TABLE stolen (x int)",
        "CREATE SCHEMA stolen",
        "CREATE FUNCTION retail.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE VIEW retail.v AS SELECT 1",
    ],
)
def test_the_tenant_role_cannot_create_objects(tenant_role_read_write, statement):
    with pytest.raises(DatabaseError) as excinfo, _attempt():
        tenant_role_read_write.execute(statement)
    assert _sqlstate(excinfo) == INSUFFICIENT_PRIVILEGE


def test_the_tenant_role_cannot_signal_other_backends(seattle_cursor):
    with pytest.raises(DatabaseError) as excinfo, _attempt():
        seattle_cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert _sqlstate(excinfo) == INSUFFICIENT_PRIVILEGE


def test_nothing_survives_the_context_on_the_pooled_connection(database):
    with tenant_transaction(HEAD_OFFICE.id) as tenant, tenant.connection.cursor() as cursor:
        # Even a session-level copy of the identity and proof is rolled back with the
        # transaction. (A copy of the same values is no drift: the transaction ends.)
        cursor.execute(
            "SELECT set_config('app.current_rls_user_id', "
            "current_setting('app.current_rls_user_id'), false), "
            "set_config('app.rls_context_proof', current_setting('app.rls_context_proof'), false)"
        )
        pid = tenant.backend_pid
    connection = connections["tenant"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), current_user, "
            "current_setting('app.current_rls_user_id', true), "
            "current_setting('app.rls_context_proof', true), "
            "current_setting('transaction_read_only'), current_setting('statement_timeout')"
        )
        backend, user, identity, proof, read_only, timeout = cursor.fetchone()
    assert backend == pid  # the same connection, reused
    assert user == GATEWAY_ROLE
    assert not identity
    assert not proof
    assert read_only == "off"
    assert timeout == "0"
    with tenant_transaction(None) as tenant, tenant.connection.cursor() as cursor:
        assert tenant.backend_pid == pid
        assert _scalar(cursor, "SELECT count(*) FROM retail.orders") == 0


def test_an_error_inside_the_context_still_leaves_the_connection_clean(database):
    with pytest.raises(DatabaseError):  # noqa: SIM117 - the error must escape the context
        with tenant_transaction(HEAD_OFFICE.id) as tenant, tenant.connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    with tenant_transaction(SEATTLE.id) as tenant, tenant.connection.cursor() as cursor:
        assert _stores_with_orders(cursor) == {1}


def test_work_that_raises_leaves_no_transaction_open_on_the_connection(database):
    """The context begins its transaction itself (BEGIN with its first query), so it
    must end it whatever the work does."""
    with pytest.raises(LookupError):  # noqa: SIM117 - the error must escape the context
        with tenant_transaction(SEATTLE.id) as tenant, tenant.connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            raise LookupError("not a database error")
    raw = connections["tenant"].connection
    assert raw.info.transaction_status == TransactionStatus.IDLE
    with connections["tenant"].cursor() as cursor:
        assert _scalar(cursor, "SELECT current_setting('app.current_rls_user_id', true)") == ""


def test_nested_contexts_are_refused(database):
    with tenant_transaction(SEATTLE.id), pytest.raises(TenantContextError):  # noqa: SIM117
        with tenant_transaction(HEAD_OFFICE.id):
            pass


# --- The drift check: the session must leave as the context made it ----------------


def _backend_and_role() -> tuple[int, str]:
    with tenant_cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_user")
        return cursor.fetchone()


@pytest.mark.parametrize(
    "statement",
    [
        "RESET ROLE",
        f'SET ROLE "{GATEWAY_ROLE}"',
        "SELECT set_config('search_path', 'public', true)",
        "SET LOCAL search_path TO public, retail",
        f"SELECT set_config('app.current_rls_user_id', '{HEAD_OFFICE.id}', true)",
        "SELECT set_config('app.rls_context_proof', '', true)",
    ],
)
def test_work_that_moves_the_session_fails_closed_on_a_discarded_connection(database, statement):
    def drift() -> tuple[int, str]:
        with tenant_cursor() as cursor:
            cursor.execute(statement)
        return _backend_and_role()

    calls: list[tuple[int, str]] = []
    with pytest.raises(TenantContextDrift):
        run_as_tenant(SEATTLE.id, lambda: calls.append(drift()))
    assert len(calls) == 1  # drift is not retried: the work ran once
    ((drifted_pid, _),) = calls
    assert backend_gone(drifted_pid)  # closed, not given back to the pool
    fresh_pid, role = run_as_tenant(SEATTLE.id, _backend_and_role)
    assert fresh_pid != drifted_pid
    assert role == TENANT_ROLE
    assert run_as_tenant(SEATTLE.id, _stores_with_orders_now) == {1}


def _stores_with_orders_now() -> set[int]:
    with tenant_cursor() as cursor:
        return _stores_with_orders(cursor)


def test_work_that_swallows_a_database_error_fails_closed(database):
    """An aborted transaction cannot be checked, so its work's answer is not trusted."""

    def swallowed() -> str:
        with suppress(DatabaseFailure), tenant_cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
        return "an answer from an aborted transaction"

    with pytest.raises(TenantContextDrift):
        run_as_tenant(SEATTLE.id, swallowed)
    assert run_as_tenant(SEATTLE.id, _stores_with_orders_now) == {1}


def test_work_that_leaves_the_session_as_it_was_answers(database):
    """Settings outside the checked ones (a planner knob) and savepoints are no drift."""

    def tuned() -> set[int]:
        with tenant_cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', '200', true)")
            cursor.execute("SAVEPOINT probe")
            cursor.execute("RELEASE SAVEPOINT probe")
            return _stores_with_orders(cursor)

    assert run_as_tenant(SEATTLE.id, tuned) == {1}


def test_a_tenant_transaction_does_not_open_inside_another_transaction(database):
    with transaction.atomic(using="tenant"), pytest.raises(TenantContextError):  # noqa: SIM117
        with tenant_transaction(SEATTLE.id):
            pass
