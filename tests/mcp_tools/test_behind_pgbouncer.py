"""The MCP server unchanged behind PgBouncer in transaction mode, over real HTTP.

gunicorn's ``DATABASE_URL`` points at the private PgBouncer (tests/pgbouncer.py), so
both aliases, the owner's and the gateway's, reach PostgreSQL through a pool of
``POOL_SIZE`` (2) server connections per role, shared by 16 request threads.

Reused here, against that server (``zava_server`` is overridden for this module):

* ``test_mcp.test_each_manager_sees_exactly_their_stores_rows``: every seeded manager,
  every tenant table;
* ``test_attacks.test_legal_queries_never_reach_another_stores_rows`` and
  ``test_a_cartesian_runaway_is_cancelled_by_the_timeout``;
* the identity-switching rows of ``test_attacks.GUARD_REFUSALS``, and the attacks on a
  pooled server connection (``POOLED_CONNECTION_ATTACKS``), each followed by other
  managers' calls on the same two server connections;
* 16 concurrent clients of different managers, each interleaving those attacks with
  reads, never seeing a foreign row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle, islice

import pytest
from django.conf import settings

from retail.services.seeding import MANAGERS, ManagerSpec
from tests.conftest import (
    LIVE_MAX_RESULT_BYTES,
    LIVE_MAX_ROWS,
    LIVE_QUERY_TIMEOUT_MS,
    LiveServer,
    gunicorn_server,
    server_environment,
)
from tests.identities import BELLEVUE, HEAD_OFFICE, SEATTLE, kind_id, store_ids
from tests.mcp_client import SharedSession, tool_json
from tests.mcp_tools import test_mcp
from tests.pgbouncer import POOL_SIZE, PgBouncer
from tests.security import test_attacks

pytestmark = pytest.mark.pgbouncer

OWNER_ROLE = settings.ZAVA_DB_ROLES["owner"]
GATEWAY_ROLE = settings.ZAVA_DB_ROLES["gateway"]
CLIENTS = 16
ROUNDS = 8

# Reused as they are: pytest collects them in this module, with this module's server.
seattle = test_attacks.seattle
test_each_manager_sees_exactly_their_stores_rows = (
    test_mcp.test_each_manager_sees_exactly_their_stores_rows
)
test_legal_queries_never_reach_another_stores_rows = (
    test_attacks.test_legal_queries_never_reach_another_stores_rows
)
test_a_cartesian_runaway_is_cancelled_by_the_timeout = (
    test_attacks.test_a_cartesian_runaway_is_cancelled_by_the_timeout
)

IDENTITY_ATTACKS = (
    "set_config", "set_config in from", "set role", "reset role", "set local",
    "set session authorization", "transaction control", "advisory lock",
)  # fmt: skip
# What could outlive a transaction on a pooled server connection, if it got through.
POOLED_CONNECTION_ATTACKS = {
    "session identity": f"SELECT set_config('app.current_rls_user_id', '{HEAD_OFFICE.id}', false)",
    "session proof": "SELECT set_config('app.rls_context_proof', "
    "current_setting('app.rls_context_proof'), false)",
    "session role": "SELECT set_config('role', 'zava_tenant', false)",
    "set session role": "SET SESSION ROLE zava_tenant",
    "advisory lock": "SELECT pg_advisory_lock(4242)",
    "try advisory lock": "SELECT pg_try_advisory_lock(4242)",
    "prepare": "PREPARE zava_leak AS SELECT * FROM retail.orders",
    "execute": "EXECUTE zava_leak",
    "temp table": "CREATE TEMP TABLE stash AS SELECT * FROM retail.orders",
    "listen": "LISTEN zava_leak",
    "notify": "SELECT pg_notify('zava_leak', current_setting('app.current_rls_user_id'))",
    "discard": "DISCARD ALL",
}
STORES_SEEN = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"


@pytest.fixture(scope="module")
def zava_server(pgbouncer: PgBouncer, tmp_path_factory) -> Iterator[LiveServer]:
    """The suite's server settings, with both aliases through PgBouncer.

    16 threads share each alias's 2 server connections; answers are not cached, so
    every call reaches PostgreSQL.
    """
    environment = server_environment(
        DATABASE_URL=pgbouncer.url(OWNER_ROLE),
        ZAVA_DB_GATEWAY_PASSWORD=pgbouncer.passwords[GATEWAY_ROLE],
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS=str(CLIENTS // 2),
        ZAVA_DB_POOL_MAX=str(CLIENTS // 2),  # a connection to PgBouncer per thread
        ZAVA_CACHE_SECONDS="0",
        ZAVA_QUERY_TIMEOUT_MS=str(LIVE_QUERY_TIMEOUT_MS),
        ZAVA_MAX_ROWS=str(LIVE_MAX_ROWS),
        ZAVA_MAX_RESULT_BYTES=str(LIVE_MAX_RESULT_BYTES),
    )
    log = tmp_path_factory.mktemp("pgbouncer-server") / "gunicorn.log"
    with gunicorn_server(log, environment) as server:
        yield server


def _stores_seen(session: SharedSession) -> list[int]:
    return [row[0] for row in session.rows(STORES_SEEN)]


def _refused(session: SharedSession, sql: str) -> None:
    result = session.call_tool("execute_sales_query", {"postgresql_query": sql})
    assert result.isError
    assert tool_json(result)["code"] == "validation_error"


@pytest.mark.parametrize("attack", IDENTITY_ATTACKS)
def test_identity_attacks_are_refused_through_pgbouncer(seattle, attack):
    test_attacks.test_attack_is_refused_with_its_reason_and_the_server_stays_healthy(
        seattle, attack
    )


@pytest.mark.parametrize("attack", POOLED_CONNECTION_ATTACKS)
def test_an_attack_on_the_pooled_connection_leaves_nothing_for_the_next_manager(session_of, attack):
    _refused(session_of(HEAD_OFFICE), POOLED_CONNECTION_ATTACKS[attack])
    for manager in (SEATTLE, BELLEVUE, SEATTLE, BELLEVUE):  # both server connections, in turn
        assert _stores_seen(session_of(manager)) == list(store_ids(manager))


def test_concurrent_managers_through_two_server_connections_never_see_a_foreign_row(
    pgbouncer, zava_server, tokens
):
    managers: list[ManagerSpec] = list(islice(cycle(MANAGERS), CLIENTS))
    attacks = cycle(POOLED_CONNECTION_ATTACKS.values())
    plans = [[next(attacks) for _ in range(ROUNDS)] for _ in managers]
    sessions = [SharedSession(zava_server.mcp_url, tokens[m.email]) for m in managers]
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> list[list[int]]:
        session, seen = sessions[index], []
        start.wait()
        for attack in plans[index]:
            _refused(session, attack)
            seen.append(_stores_seen(session))
        return seen

    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            answers = list(pool.map(client, range(CLIENTS)))
    finally:
        for session in sessions:
            session.close()

    for manager, seen in zip(managers, answers, strict=True):
        assert seen == [list(store_ids(manager))] * ROUNDS, kind_id(manager)
    gateway_pool = next(
        pool
        for pool in pgbouncer.show("POOLS")
        if (pool["database"], pool["user"]) == (pgbouncer.database, GATEWAY_ROLE)
    )
    servers = sum(gateway_pool[f"sv_{state}"] for state in ("active", "idle", "used", "tested"))
    clients = gateway_pool["cl_active"] + gateway_pool["cl_waiting"]
    assert 0 < servers <= POOL_SIZE
    assert clients > POOL_SIZE  # the request threads' connections shared those servers
