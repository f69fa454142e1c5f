"""Django system checks of the database: ``manage.py check --database default``.

The same probes as ``/health/ready`` (retail/readiness.py), so that an operator (and
``migrate``, which runs database checks) hears about a tenant role that cannot be
used, row-level security that is not forced, or missing embeddings. Before all
migrations are applied these checks say nothing: ``migrate`` is about to fix that,
and must not be blocked by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DEFAULT_DB_ALIAS

from retail import readiness


@register(Tags.database)
def check_database_readiness(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []  # database checks run only when a command asks for them
    database = readiness.probe_database()
    if not database.ok:
        return [
            Error(
                f"The database cannot be queried: {database.detail}.",
                hint="Check DATABASE_URL (or the embedded server in var/pgdata).",
                id="zava.E001",
            )
        ]
    if not readiness.probe_migrations().ok:
        return []
    messages: list[CheckMessage] = []
    tenant = readiness.probe_tenant_database()
    if not tenant.ok:
        messages.append(
            Error(
                f"Tool connections do not work: {tenant.detail}.",
                hint="The gateway role must log in (ZAVA_DB_GATEWAY_ROLE, "
                "ZAVA_DB_GATEWAY_PASSWORD) and be allowed to SET ROLE to the tenant role; "
                "see bootstrap_database.",
                id="zava.E002",
            )
        )
    rls = readiness.probe_row_level_security()
    if not rls.ok:
        messages.append(
            Error(
                f"Managers are not confined to their stores: {rls.detail}.",
                hint="ALTER TABLE retail.<table> ENABLE / FORCE ROW LEVEL SECURITY "
                "(migration retail 0002).",
                id="zava.E003",
            )
        )
    embeddings = readiness.probe_embeddings()
    if not embeddings.ok:
        messages.append(
            CheckWarning(
                f"Semantic product search will fail: {embeddings.detail}.",
                hint="python manage.py embed_products",
                id="zava.W001",
            )
        )
    return messages
