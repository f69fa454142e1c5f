"""The tenant context behind PgBouncer in transaction mode, at the data layer.

Through PgBouncer every transaction may run on another server connection, and what
one client leaves on a server connection (session settings, roles, prepared
statements, locks, listeners) meets the next client. The tenant identity must not:
it is transaction-local, and its proof is bound to the backend and the transaction.

Each attack runs inside a real tenant context of one manager through the pool of
*one* server connection (so the next transaction provably runs on the same backend)
and, where the application would roll it back, is pushed past the rollback with a
raw ``COMMIT``: the worst case of something getting through the SQL guard. Then the
next client on that backend, another manager or the bare gateway role, must see only
what its own identity allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from psycopg import errors as pg_errors

from retail.tenancy.transaction import (
    IDENTITY_SETTING,
    PROOF_SETTING,
    TenantContext,
    TenantContextDrift,
    tenant_transaction,
)
from tests.identities import BELLEVUE, HEAD_OFFICE, SEATTLE, store_ids
from tests.pgbouncer import ONE_SERVER_DATABASE, PgBouncer

pytestmark = pytest.mark.pgbouncer

ALIAS = "tenant_via_pgbouncer"
TENANT_ROLE = settings.ZAVA_DB_ROLES["tenant"]
GATEWAY_ROLE = settings.ZAVA_DB_ROLES["gateway"]
STORES_SEEN = "SELECT array_agg(DISTINCT store_id ORDER BY store_id) FROM retail.orders"


@pytest.fixture
def pooled(database, pgbouncer: PgBouncer) -> Iterator[PgBouncer]:
    """The ``tenant`` alias's settings, but through PgBouncer's one-server pool.

    Afterwards ``DISCARD ALL`` on that server connection removes what the attacks left.
    """
    connections.settings[ALIAS] = {
        **connections["tenant"].settings_dict,
        "HOST": "127.0.0.1",
        "PORT": str(pgbouncer.port),
        "NAME": ONE_SERVER_DATABASE,
        "PASSWORD": pgbouncer.passwords[GATEWAY_ROLE],
        "OPTIONS": {},  # a plain connection: PgBouncer is the pool here
    }
    try:
        yield pgbouncer
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
        with bare_gateway(pgbouncer) as gateway:
            gateway.execute("DISCARD ALL")


@contextmanager
def bare_gateway(pgbouncer: PgBouncer) -> Iterator[psycopg.Connection]:
    """Another client: the gateway role through the same one-server pool, no context."""
    conninfo = pgbouncer.conninfo(GATEWAY_ROLE, database=ONE_SERVER_DATABASE)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        yield connection


def escape_the_rollback(context: TenantContext) -> None:
    """Commit the tenant transaction, so its session-level leftovers stay on the server."""
    context.connection.connection.execute("COMMIT")


def tenant_view(manager) -> tuple[int, str, list[int]]:
    """(backend pid, identity, stores seen) of a fresh tenant context of ``manager``."""
    with (
        tenant_transaction(manager.id, using=ALIAS) as context,
        context.connection.cursor() as cursor,
    ):
        cursor.execute(f"SELECT current_setting('{IDENTITY_SETTING}'), ({STORES_SEEN})")
        identity, stores = cursor.fetchone()
        return context.backend_pid, identity, stores or []


def bare_tenant_view(pgbouncer: PgBouncer) -> tuple[int, str, str, list[int], int]:
    """What the tenant role sees in a transaction nobody opened a tenant context for."""
    with bare_gateway(pgbouncer) as gateway, gateway.transaction():
        gateway.execute(f"SET LOCAL ROLE {TENANT_ROLE}")
        return gateway.execute(
            f"SELECT pg_backend_pid(), current_user, current_setting('{IDENTITY_SETTING}', true),"
            " retail.visible_store_ids(), (SELECT count(*) FROM retail.orders)"
        ).fetchone()


def test_a_tenant_context_through_pgbouncer_signs_for_the_real_backend(pooled):
    """psycopg's backend pid is PgBouncer's invention; the proof must use the server's."""
    pid, identity, stores = tenant_view(SEATTLE)
    client_side_pid = connections[ALIAS].connection.info.backend_pid
    assert client_side_pid != pid  # PgBouncer's cancel key, not the backend
    assert identity == str(SEATTLE.id)
    assert stores == list(store_ids(SEATTLE))


def test_consecutive_managers_on_one_server_connection_each_see_their_own_stores(pooled):
    views = [tenant_view(manager) for manager in (HEAD_OFFICE, SEATTLE, BELLEVUE, SEATTLE)]
    assert len({pid for pid, _, _ in views}) == 1  # one backend served all four
    for manager, (_, identity, stores) in zip(
        (HEAD_OFFICE, SEATTLE, BELLEVUE, SEATTLE), views, strict=True
    ):
        assert identity == str(manager.id)
        assert stores == list(store_ids(manager))


def test_a_session_level_identity_and_proof_left_behind_grant_nothing(pooled):
    # The drift check sees the commit (the role is gone) and fails closed; what was
    # left on the server connection must prove nothing anyway.
    with (
        pytest.raises(TenantContextDrift),
        tenant_transaction(HEAD_OFFICE.id, using=ALIAS) as context,
    ):
        context.connection.connection.execute(
            "SELECT set_config(%s, current_setting(%s), false), "
            "set_config(%s, current_setting(%s), false)",
            [IDENTITY_SETTING, IDENTITY_SETTING, PROOF_SETTING, PROOF_SETTING],
        )
        escape_the_rollback(context)
    poisoned = context.backend_pid

    pid, user, identity, visible, orders = bare_tenant_view(pooled)
    assert pid == poisoned
    assert identity == str(HEAD_OFFICE.id)  # the copy did survive on the server ...
    assert (user, visible, orders) == (TENANT_ROLE, [], 0)  # ... and proves nothing there

    assert tenant_view(SEATTLE) == (poisoned, str(SEATTLE.id), list(store_ids(SEATTLE)))


def test_a_session_role_left_behind_carries_no_identity(pooled):
    with pytest.raises(TenantContextDrift), tenant_transaction(SEATTLE.id, using=ALIAS) as context:
        raw = context.connection.connection
        raw.execute("RESET ROLE")  # back to the gateway inside the transaction ...
        raw.execute(f"SET SESSION ROLE {TENANT_ROLE}")  # ... and the tenant role for good
        escape_the_rollback(context)

    with bare_gateway(pooled) as gateway:
        pid, user = gateway.execute("SELECT pg_backend_pid(), current_user").fetchone()
        assert (pid, user) == (context.backend_pid, TENANT_ROLE)
        assert gateway.execute(STORES_SEEN).fetchone() == (None,)  # no identity, no rows
    assert tenant_view(BELLEVUE)[1:] == (str(BELLEVUE.id), list(store_ids(BELLEVUE)))


@pytest.mark.parametrize(
    "statement",
    [
        "SET SESSION AUTHORIZATION zava_owner",
        "SET ROLE zava_owner",
        "SELECT set_config('role', 'zava_owner', false)",
        "RESET ROLE; SET ROLE zava_owner",
    ],
)
def test_no_role_switch_from_a_tenant_transaction_reaches_the_owner(pooled, statement):
    with (
        pytest.raises(pg_errors.InsufficientPrivilege),
        tenant_transaction(SEATTLE.id, using=ALIAS) as context,
    ):
        context.connection.connection.execute(statement)
    assert tenant_view(SEATTLE)[1:] == (str(SEATTLE.id), list(store_ids(SEATTLE)))


def test_a_prepared_statement_left_behind_runs_with_the_next_callers_identity(pooled):
    with tenant_transaction(HEAD_OFFICE.id, using=ALIAS) as context:
        context.connection.connection.execute(
            f"PREPARE zava_leak AS SELECT current_setting('{IDENTITY_SETTING}'), ({STORES_SEEN})"
        )  # PREPARE is not transactional: the rollback leaves it on the server connection
    with tenant_transaction(SEATTLE.id, using=ALIAS) as later:
        assert later.backend_pid == context.backend_pid
        row = later.connection.connection.execute("EXECUTE zava_leak").fetchone()
    assert row == (str(SEATTLE.id), list(store_ids(SEATTLE)))


def test_the_application_prepares_no_statement_on_pooled_connections(pooled):
    """Django's psycopg backend binds on the client and never prepares (prepare_threshold
    None), so PgBouncer 1.18, without prepared-statement support, needs none."""
    question = "SELECT count(*) FROM retail.orders WHERE store_id = 1"
    for _ in range(10):  # psycopg's own default would prepare from the fifth run on
        with tenant_transaction(SEATTLE.id, using=ALIAS) as context:
            context.connection.connection.execute(question)  # as tenant_cursor() runs SQL
            with context.connection.cursor() as cursor:  # as Django's ORM would
                cursor.execute(question)
    with bare_gateway(pooled) as gateway:
        pid, prepared = gateway.execute(
            "SELECT pg_backend_pid(), count(*) FROM pg_prepared_statements"
        ).fetchone()
    assert (pid, prepared) == (context.backend_pid, 0)


def test_a_session_advisory_lock_left_behind_is_no_identity(pooled):
    with tenant_transaction(HEAD_OFFICE.id, using=ALIAS) as context:
        context.connection.connection.execute("SELECT pg_advisory_lock(4242)")
    # A session-level lock outlives the rollback (PostgreSQL's rule), so the next
    # manager on this backend holds it too; it still sees only its own stores.
    with tenant_transaction(SEATTLE.id, using=ALIAS) as later, later.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_backend_pid(), pg_try_advisory_lock(4242), ({STORES_SEEN}),"
            f" current_setting('{IDENTITY_SETTING}')"
        )
        pid, held_here, stores, identity = cursor.fetchone()
    assert (pid, held_here) == (context.backend_pid, True)
    assert (identity, stores) == (str(SEATTLE.id), list(store_ids(SEATTLE)))


def test_no_temporary_table_can_carry_rows_to_the_next_client(pooled):
    with (
        pytest.raises(pg_errors.ReadOnlySqlTransaction),
        tenant_transaction(HEAD_OFFICE.id, using=ALIAS) as context,
    ):
        context.connection.connection.execute(
            "CREATE TEMP TABLE stash AS SELECT * FROM retail.orders"
        )
    with bare_gateway(pooled) as gateway, pytest.raises(pg_errors.InsufficientPrivilege):
        gateway.execute("CREATE TEMP TABLE stash (order_id bigint)")


def test_a_listen_in_a_tenant_transaction_is_rolled_back_with_it(pooled):
    with tenant_transaction(HEAD_OFFICE.id, using=ALIAS) as context:
        context.connection.connection.execute("LISTEN zava_leak")
    with bare_gateway(pooled) as gateway:
        pid, channels = gateway.execute(
            "SELECT pg_backend_pid(), array(SELECT pg_listening_channels())"
        ).fetchone()
    assert (pid, channels) == (context.backend_pid, [])
