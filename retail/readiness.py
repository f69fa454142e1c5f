"""Readiness probes of the data layer: can this process serve tool calls right now?

Each probe answers with a :class:`ProbeResult` whose ``detail`` is safe to show
anyone (no host names, role names, SQL or exception text); the reason a probe
failed goes to the server log. ``/health/ready`` (zava/health.py) and the Django
system checks (retail/checks.py) both use these probes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from retail.models.retail_schema import RLS_TABLES
from retail.replicas import replica_states
from retail.tenancy import run_as_tenant, tenant_cursor

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_MS = 2_000


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    detail: str = ""


def _failed(name: str, detail: str) -> ProbeResult:
    logger.warning("readiness probe %s failed: %s", name, detail, exc_info=True)
    return ProbeResult(name, False, detail)


def _owner_cursor():
    """A cursor on the owner connection, inside a transaction with a short timeout."""
    connection = connections[DEFAULT_DB_ALIAS]
    cursor = connection.cursor()
    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{PROBE_TIMEOUT_MS}ms"])
    return cursor


def probe_database() -> ProbeResult:
    """The owner role connects and answers."""
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS), _owner_cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return _failed("database", "cannot query the database as the owner role")
    return ProbeResult("database", True)


def probe_tenant_database() -> ProbeResult:
    """The gateway role connects and can become the tenant role (read-only)."""
    from django.conf import settings

    def role_and_mode() -> tuple[str, str]:
        with tenant_cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting('transaction_read_only')")
            user, read_only = cursor.fetchone() or ("", "")
            return user, read_only

    try:
        user, read_only = run_as_tenant(None, role_and_mode, statement_timeout_ms=PROBE_TIMEOUT_MS)
    except Exception:
        return _failed("tenant_database", "cannot open a tenant context")
    if user != settings.ZAVA_DB_ROLES["tenant"] or read_only != "on":
        return ProbeResult("tenant_database", False, "the tenant context has the wrong role")
    return ProbeResult("tenant_database", True)


_migrations_applied = False
_migrations_lock = threading.Lock()


def probe_migrations() -> ProbeResult:
    """Every migration is applied. Once true it stays true for this process (new
    migrations arrive with new code, hence a new process), so probes stay cheap."""
    global _migrations_applied
    if _migrations_applied:
        return ProbeResult("migrations", True)
    try:
        with _migrations_lock:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        return _failed("migrations", "cannot read the migration state")
    if pending:
        return ProbeResult("migrations", False, f"{len(pending)} migration(s) not applied")
    _migrations_applied = True
    return ProbeResult("migrations", True)


def probe_row_level_security() -> ProbeResult:
    """Row-level security is enabled and forced on every tenant table."""
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS), _owner_cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'retail' AND c.relname = ANY(%s)"
                " AND c.relrowsecurity AND c.relforcerowsecurity",
                [list(RLS_TABLES)],
            )
            protected = {row[0] for row in cursor.fetchall()}
    except Exception:
        return _failed("row_level_security", "cannot read the row-level security state")
    unprotected = sorted(set(RLS_TABLES) - protected)
    if unprotected:
        return ProbeResult(
            "row_level_security",
            False,
            f"row-level security is not forced on {', '.join(unprotected)}",
        )
    return ProbeResult("row_level_security", True)


def probe_embeddings() -> ProbeResult:
    """Products are embedded, by the model the configured provider loads."""
    from retail.embeddings import get_provider
    from retail.services.product_embeddings import stored_embeddings_match

    try:
        provider = get_provider()
        load = getattr(provider, "load", None)
        if callable(load):
            load()  # the local model: read and checksum once per process
    except Exception:
        return _failed("embeddings", "the embedding model cannot be loaded")
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS), _owner_cursor() as cursor:
            cursor.execute(
                "SELECT model_name, count(*) FROM retail.product_description_embeddings"
                " GROUP BY model_name"
            )
            stored = dict(cursor.fetchall())
    except Exception:
        return _failed("embeddings", "cannot read the stored embeddings")
    if not stored:
        return ProbeResult("embeddings", False, "no product embeddings; run embed_products")
    if not stored_embeddings_match(stored, provider):
        return ProbeResult(
            "embeddings",
            False,
            "stored embeddings come from another model; run embed_products --rebuild",
        )
    return ProbeResult("embeddings", True)


READINESS_PROBES: tuple[Callable[[], ProbeResult], ...] = (
    probe_database,
    probe_tenant_database,
    probe_migrations,
    probe_row_level_security,
    probe_embeddings,
)


def replica_report() -> dict[str, dict[str, Any]]:
    """Each read replica's state and lag, as the process's replica monitor last saw
    them. Not a probe: while no replica is usable, reads go to the primary."""
    return {
        state.alias: {"state": state.state, "lag_seconds": state.lag_seconds}
        for state in replica_states()
    }


def readiness() -> list[ProbeResult]:
    """Every probe, in order; each one runs even when an earlier one failed."""
    return [probe() for probe in READINESS_PROBES]
