"""Audit retention at size: batched DELETE against monthly partitions (DETACH + DROP).

The audit gets one row per tool call, so at a few hundred calls a second it reaches
tens of millions of rows a day. This measures, at ``--rows`` rows (default 10 million)
spread evenly over ``--days`` days (default 120) in a scratch database:

1. **Insert cost** of one audit row, the request path's statement
   (``retail.services.audit``: one INSERT, asynchronous commit), into

   * ``audit_requests`` as the migrations made it before 0010 partitioned it (a plain
     table, its indexes: the scratch database is migrated back to 0009), and
   * ``audit_partitioned``: the same columns and indexes, partitioned by month on
     ``created_at``, so its primary key must become ``(id, created_at)``.

   Rounds of ``--inserts`` single-row INSERTs alternate between the two tables, each
   with its own autocommit transaction; the figure is the median per round.
2. **Pruning** everything older than ``--retention`` days (default 90):

   * plain: ``retail.services.audit_retention.prune_older_than``, what
     ``manage.py prune_audit`` runs (batches of 5,000 in their own transactions),
     then the ``VACUUM`` that makes the space reusable;
   * partitioned: ``DETACH PARTITION … CONCURRENTLY`` and ``DROP TABLE`` of every
     month that ended before the cut-off. Whole months only: rows between the last
     dropped month and the cut-off stay until their month goes.
3. **The admin's audit list** (``/admin/retail/auditedrequest/``) at that size, with the
   Django test client as a superuser: the page's time, and its slowest queries.

The bulk load uses ``INSERT … SELECT generate_series`` with the secondary indexes
dropped and rebuilt afterwards (a setup cost, reported but not compared).

    .venv/bin/python bench/audit_retention.py                # 10M rows: several minutes
    .venv/bin/python bench/audit_retention.py --rows 1000000 # a quicker look

Creates ``--database`` (default ``zava_bench_audit``) as the owner role, migrates it and
drops it at the end (``--keep`` keeps it). Writes ``var/bench/audit_retention-<time>.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search_quality import HelpFormatter, stamp, write_report

PARTITIONED = "audit_partitioned"
LOAD_CHUNK = 1_000_000
TOOLS = (
    "execute_sales_query",
    "get_multiple_table_schemas",
    "semantic_search_products",
    "get_current_utc_date",
    "get_store_performance",
    "get_sales_trend",
)
SQL_ARGUMENT = (
    "SELECT c.category_name, sum(oi.total_amount) AS revenue FROM retail.order_items oi "
    "JOIN retail.products p USING (product_id) JOIN retail.categories c USING (category_id) "
    "GROUP BY 1 ORDER BY 2 DESC"
)
INSERT = """
WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO {table}
    (manager_id, token_id, tool, arguments, outcome, error_code, rows, duration_ms,
     request_id, created_at)
SELECT %s, NULL, 'execute_sales_query', %s::jsonb, 'ok', '', 9, 12.5, md5(random()::text),
       now() FROM async_commit
"""


def _setup_django(database: str) -> None:
    os.environ["ZAVA_DB_NAME"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ["ZAVA_DB_POOL"] = "false"
    import django

    django.setup()


def _owner_connection(dbname: str):
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    info = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": dbname}
    if db.get("PASSWORD"):
        info["password"] = db["PASSWORD"]
    return psycopg.connect(**{k: v for k, v in info.items() if v}, autocommit=True)


def create_database(database: str) -> None:
    from django.core.management import call_command
    from psycopg import sql

    with _owner_connection("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    call_command("migrate", verbosity=0)
    # The plain design under test: the audit as it was before 0010 partitioned it.
    call_command("migrate", "retail", "0009_manager_user", verbosity=0)


def drop_database(database: str) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with _owner_connection("postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def _months(first: datetime, last: datetime) -> list[datetime]:
    month = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = []
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def create_partitioned(conn, start: datetime, end: datetime) -> list[str]:
    """The audit's columns, indexes and foreign keys, partitioned by month (2 ahead)."""
    conn.execute(
        f"CREATE TABLE {PARTITIONED} (LIKE audit_requests INCLUDING DEFAULTS "
        "INCLUDING IDENTITY INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at)"
    )
    conn.execute(f"ALTER TABLE {PARTITIONED} ADD PRIMARY KEY (id, created_at)")
    for (definition,) in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'audit_requests'::regclass AND contype = 'f'"
    ).fetchall():
        conn.execute(f"ALTER TABLE {PARTITIONED} ADD {definition}")
    names = []
    ahead = (end + timedelta(days=62)).replace(day=1)
    for month in _months(start, ahead):
        following = (month + timedelta(days=32)).replace(day=1)
        name = f"{PARTITIONED}_{month:%Y_%m}"
        conn.execute(
            f"CREATE TABLE {name} PARTITION OF {PARTITIONED} "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
        )
        names.append(name)
    return names


def secondary_indexes(conn, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT LIKE '%%pkey'",
        [table],
    ).fetchall()


def load(conn, table: str, rows: int, start: datetime, seconds: float, manager: str) -> float:
    """Bulk-load ``rows`` chronological rows; returns seconds."""
    from tqdm import tqdm

    began = time.monotonic()
    with tqdm(total=rows, desc=f"loading {table}", unit=" rows", unit_scale=True) as bar:
        for first in range(0, rows, LOAD_CHUNK):
            count = min(LOAD_CHUNK, rows - first)
            conn.execute(
                f"INSERT INTO {table} (manager_id, token_id, tool, arguments, outcome, "
                "error_code, rows, duration_ms, request_id, created_at) "
                "SELECT CASE WHEN n %% 3 = 0 THEN %(manager)s::uuid END, NULL, "
                "(%(tools)s::text[])[1 + n %% %(ntools)s], "
                "jsonb_build_object('postgresql_query', %(sql)s || ' -- ' || n), "
                "CASE WHEN n %% 50 = 0 THEN 'refused' ELSE 'ok' END, '', n %% 200, "
                "(n %% 900) / 10.0, md5(n::text), "
                "%(start)s::timestamptz + n * make_interval(secs => %(step)s) "
                "FROM generate_series(%(first)s, %(last)s) AS n",
                {
                    "manager": manager,
                    "tools": list(TOOLS),
                    "ntools": len(TOOLS),
                    "sql": SQL_ARGUMENT,
                    "start": start,
                    "step": seconds / rows,
                    "first": first,
                    "last": first + count - 1,
                },
            )
            bar.update(count)
    return time.monotonic() - began


def insert_cost(conn, inserts: int, rounds: int, manager: str) -> dict[str, float]:
    """Median microseconds per single-row INSERT, alternating tables round by round."""
    import json

    argument = json.dumps({"postgresql_query": SQL_ARGUMENT})
    per_round: dict[str, list[float]] = {"plain": [], "partitioned": []}
    for _ in range(rounds):
        for label, table in (("plain", "audit_requests"), ("partitioned", PARTITIONED)):
            statement = INSERT.format(table=table)
            began = time.perf_counter()
            for _ in range(inserts):
                conn.execute(statement, [manager, argument])
            per_round[label].append((time.perf_counter() - began) / inserts * 1e6)
    return {label: round(statistics.median(values), 1) for label, values in per_round.items()}


def prune_plain(cutoff: datetime) -> dict[str, Any]:
    from django.db import connection

    from retail.services.audit_retention import count_older_than, prune_older_than

    doomed = count_older_than(cutoff)
    result = prune_older_than(cutoff)
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM audit_requests")
    return {
        "rows_deleted": result.deleted,
        "rows_counted_before": doomed,
        "batches": result.batches,
        "delete_seconds": round(result.seconds, 2),
        "vacuum_seconds": round(time.monotonic() - began, 2),
        "rows_per_second": round(result.deleted / result.seconds) if result.seconds else None,
    }


def prune_partitioned(conn, cutoff: datetime, partitions: list[str]) -> dict[str, Any]:
    dropped = rows = 0
    seconds = 0.0
    for name in partitions:
        upper = conn.execute(
            "SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]"
            "::timestamptz FROM pg_class c WHERE c.relname = %s",
            [name],
        ).fetchone()[0]
        if upper > cutoff:
            continue
        rows += conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        began = time.monotonic()
        conn.execute(f"ALTER TABLE {PARTITIONED} DETACH PARTITION {name} CONCURRENTLY")
        conn.execute(f"DROP TABLE {name}")
        seconds += time.monotonic() - began
        dropped += 1
    left = conn.execute(
        f"SELECT count(*) FROM {PARTITIONED} WHERE created_at < %s", [cutoff]
    ).fetchone()[0]
    return {
        "partitions_dropped": dropped,
        "rows_removed": rows,
        "seconds": round(seconds, 3),
        "rows_older_than_cutoff_left": left,
    }


def admin_list(repeat: int = 3) -> dict[str, Any]:
    """The audit changelist as a superuser: seconds per page and its slowest queries."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # the client then keeps each response's template context
    user = User.objects.create_superuser("bench", password=None)
    client = Client()
    client.force_login(user)
    url = reverse("admin:retail_auditedrequest_changelist")
    client.get(url)  # warm up
    times, slowest = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            began = time.monotonic()
            response = client.get(url)
            times.append(time.monotonic() - began)
        assert response.status_code == 200, response.status_code
        slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    result_count = response.context["cl"].result_count
    with connection.cursor() as cursor:
        began = time.monotonic()
        cursor.execute("SELECT count(*) FROM audit_requests")
        exact = cursor.fetchone()[0]
        count_seconds = time.monotonic() - began
    return {
        "page_seconds_median": round(statistics.median(times), 3),
        "shown_count": result_count,
        "exact_count": exact,
        "full_count_seconds": round(count_seconds, 3),
        "slowest_queries": [{"seconds": float(q["time"]), "sql": q["sql"][:200]} for q in slowest],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="audit rows per table")
    parser.add_argument("--days", type=int, default=120, help="days the rows span, up to now")
    parser.add_argument("--retention", type=int, default=90, help="prune rows older than this")
    parser.add_argument("--inserts", type=int, default=2_000, help="single-row INSERTs per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per table, alternating")
    parser.add_argument("--database", default="zava_bench_audit", help="scratch database")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--output", type=Path, help="report path")
    args = parser.parse_args(argv)

    when = stamp()
    _setup_django(args.database)
    create_database(args.database)
    from django.db import connection

    from retail.models import Manager

    manager = str(Manager.objects.create(name="bench", email="bench@zava.example", kind="store").id)
    now = datetime.now(UTC)
    start = now - timedelta(days=args.days)
    cutoff = now - timedelta(days=args.retention)
    report: dict[str, Any] = {
        "rows": args.rows,
        "days": args.days,
        "retention_days": args.retention,
    }
    try:
        with _owner_connection(args.database) as conn:
            partitions = create_partitioned(conn, start, now)
            setup: dict[str, float] = {}
            indexes = secondary_indexes(conn, "audit_requests")
            for name, _ in indexes:
                conn.execute(f"DROP INDEX {name}")
            for table in ("audit_requests", PARTITIONED):
                seconds = load(conn, table, args.rows, start, args.days * 86_400.0, manager)
                began = time.monotonic()
                for definition in index_definitions(table, indexes):
                    conn.execute(definition)
                conn.execute(f"ANALYZE {table}")
                setup[table] = round(seconds + time.monotonic() - began, 1)
            report["bulk_load_seconds"] = setup
            report["partitions"] = len(partitions)
            print("insert cost …")
            report["insert_us_median"] = insert_cost(conn, args.inserts, args.rounds, manager)
            print("admin list …")
            report["admin_list"] = admin_list()
            print("pruning (plain: batched DELETE) …")
            report["prune_plain"] = prune_plain(cutoff)
            print("pruning (partitioned: DETACH + DROP) …")
            report["prune_partitioned"] = prune_partitioned(conn, cutoff, partitions)
        connection.close()
    finally:
        if not args.keep:
            drop_database(args.database)
    print_report(report)
    write_report("audit_retention", when, report, args.output)
    return 0


def index_definitions(table: str, indexes: list[tuple[str, str]]) -> list[str]:
    """The audit's secondary indexes, for ``table`` (on a partitioned one: every partition)."""
    if table == "audit_requests":
        return [definition for _, definition in indexes]
    return [
        definition.replace(f"INDEX {name} ", f"INDEX {PARTITIONED}_{name} ").replace(
            "public.audit_requests ", f"public.{PARTITIONED} "
        )
        for name, definition in indexes
    ]


def print_report(report: dict[str, Any]) -> None:
    plain, parted = report["prune_plain"], report["prune_partitioned"]
    inserts = report["insert_us_median"]
    admin = report["admin_list"]
    print(
        f"\n{report['rows']:,} rows over {report['days']} days, "
        f"pruning rows older than {report['retention_days']} days"
    )
    print(
        f"insert, µs/row (median): plain {inserts['plain']}, partitioned {inserts['partitioned']}"
    )
    print(
        f"prune, plain:       {plain['rows_deleted']:,} rows in {plain['delete_seconds']} s "
        f"({plain['batches']} batches) + VACUUM {plain['vacuum_seconds']} s"
    )
    print(
        f"prune, partitioned: {parted['rows_removed']:,} rows in {parted['seconds']} s "
        f"({parted['partitions_dropped']} months), {parted['rows_older_than_cutoff_left']:,} "
        "older rows left until their month ends"
    )
    print(
        f"admin audit list: {admin['page_seconds_median']} s per page, showing "
        f"{admin['shown_count']:,} (exact {admin['exact_count']:,}, whose count(*) takes "
        f"{admin['full_count_seconds']} s)"
    )
    for query in admin["slowest_queries"]:
        print(f"   {query['seconds']:.3f} s  {query['sql'][:120]}")


if __name__ == "__main__":
    raise SystemExit(main())
