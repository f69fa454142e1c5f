"""The SQL guard in front of ``execute_sales_query``: what it lets through, what it refuses.

Pure parsing, no database. Refusals are asserted on the stable reason code, never
on the wording of the message.
"""

from __future__ import annotations

import pytest

from mcp_tools.sql_guard import CheckedQuery, QueryRejected, RejectionReason, check_query
from retail.errors import ErrorCode, InvalidInput

R = RejectionReason

# Realistic analytics questions an assistant would ask, with the tables each reads.
ALLOWED_QUERIES: dict[str, tuple[str, set[str]]] = {
    "revenue_by_category_for_a_store_in_2024": (
        """
        SELECT c.category_name, SUM(oi.total_amount) AS revenue, COUNT(DISTINCT o.order_id)
        FROM retail.orders o
        JOIN retail.order_items oi ON oi.order_id = o.order_id
        JOIN retail.products p ON p.product_id = oi.product_id
        JOIN retail.categories c ON c.category_id = p.category_id
        WHERE o.store_id = 3 AND o.order_date >= DATE '2024-01-01'
          AND o.order_date < DATE '2025-01-01'
        GROUP BY c.category_name
        HAVING SUM(oi.total_amount) > 0
        ORDER BY revenue DESC
        """,
        {"retail.orders", "retail.order_items", "retail.products", "retail.categories"},
    ),
    "top_20_products_unqualified": (
        "SELECT p.product_name, sum(oi.quantity) AS units FROM order_items oi"
        " JOIN products p USING (product_id) GROUP BY 1 ORDER BY units DESC LIMIT 20",
        {"retail.order_items", "retail.products"},
    ),
    "cte_with_window_functions": (
        """
        WITH monthly AS (
            SELECT date_trunc('month', order_date) AS month, store_id, count(*) AS orders
            FROM retail.orders GROUP BY 1, 2
        )
        SELECT month, store_id, orders,
               rank() OVER (PARTITION BY month ORDER BY orders DESC) AS rnk,
               lag(orders) OVER w AS previous,
               avg(orders) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving_avg
        FROM monthly
        WINDOW w AS (PARTITION BY store_id ORDER BY month)
        """,
        {"retail.orders"},
    ),
    "union_intersect_except": (
        "SELECT customer_id FROM retail.customers UNION SELECT customer_id FROM retail.orders"
        " INTERSECT SELECT customer_id FROM retail.orders EXCEPT ALL SELECT 0",
        {"retail.customers", "retail.orders"},
    ),
    "values_list": ("VALUES (1, 'one'), (2, 'two') ORDER BY 1", set()),
    "values_in_from_joined_to_a_table": (
        "SELECT s.store_name, t.target FROM retail.stores s"
        " JOIN (VALUES (1, 100.0), (2, 250.0)) AS t(store_id, target) USING (store_id)",
        {"retail.stores"},
    ),
    "date_trunc_extract_and_intervals": (
        "SELECT extract(year FROM order_date) AS y, date_part('month', order_date) AS m,"
        " date_trunc('week', order_date)::date, order_date + interval '7 days',"
        " to_char(order_date, 'YYYY-MM'), age(current_date, order_date), now(),"
        " current_timestamp, make_date(2024, 1, 1), order_date AT TIME ZONE 'UTC'"
        " FROM retail.orders WHERE order_date > current_date - 30",
        {"retail.orders"},
    ),
    "like_with_percent": (
        "SELECT product_name FROM retail.products WHERE product_name LIKE '%paint%'",
        {"retail.products"},
    ),
    "ilike_and_regex": (
        "SELECT product_name FROM products WHERE product_name ILIKE '%Drill%'"
        " OR product_description ~* 'cordless' OR sku SIMILAR TO 'AB%'",
        {"retail.products"},
    ),
    "case_coalesce_nullif_greatest": (
        "SELECT CASE WHEN stock_level = 0 THEN 'out' WHEN stock_level < 10 THEN 'low'"
        " ELSE 'ok' END, coalesce(stock_level, 0), nullif(stock_level, 0),"
        " greatest(stock_level, 1), least(stock_level, 100) FROM retail.inventory",
        {"retail.inventory"},
    ),
    "subquery_in_where_and_exists": (
        "SELECT first_name FROM retail.customers c WHERE c.customer_id IN"
        " (SELECT customer_id FROM retail.orders WHERE store_id = 1)"
        " AND EXISTS (SELECT 1 FROM retail.stores s WHERE s.store_id = c.primary_store_id)",
        {"retail.customers", "retail.orders", "retail.stores"},
    ),
    "pgvector_distance_operator": (
        "SELECT p.product_name, e.embedding <=> '[0.1, 0.2, 0.3]'::vector AS distance"
        " FROM retail.product_description_embeddings e JOIN retail.products p"
        " USING (product_id) ORDER BY e.embedding <-> '[0.1,0.2,0.3]' LIMIT 5",
        {"retail.product_description_embeddings", "retail.products"},
    ),
    "pgvector_functions": (
        "SELECT cosine_distance(embedding, '[1,2,3]'), vector_dims(embedding)"
        " FROM product_description_embeddings",
        {"retail.product_description_embeddings"},
    ),
    "search_function_in_from": (
        "SELECT s.* FROM retail.search_products_by_description('exterior paint', 10) AS s",
        set(),
    ),
    "string_with_semicolon_and_sql_inside": (
        "SELECT 'a; DROP TABLE retail.orders; --' AS note, E'it\\'s; fine', $$; DELETE $$",
        set(),
    ),
    "select_constant_with_alias": ("SELECT 1 AS x", set()),
    "trailing_semicolon_and_comments": ("-- top stores\nSELECT 1 /* ok */;", set()),
    "recursive_cte_referencing_itself": (
        "WITH RECURSIVE days(d) AS (SELECT DATE '2024-01-01' UNION ALL"
        " SELECT d + 1 FROM days WHERE d < DATE '2024-01-31') SELECT d FROM days",
        set(),
    ),
    "later_cte_reads_earlier_cte_and_cte_seen_in_subquery": (
        "WITH a AS (SELECT store_id FROM retail.stores), b AS (SELECT * FROM a)"
        " SELECT * FROM b WHERE store_id IN (SELECT store_id FROM a)",
        {"retail.stores"},
    ),
    "cte_shadowing_a_table_name_is_not_a_table_read": (
        "WITH orders AS (SELECT 1 AS order_id) SELECT * FROM orders",
        set(),
    ),
    "aggregates_with_filter_within_group_and_grouping_sets": (
        "SELECT store_id, count(*) FILTER (WHERE discount_percent > 0),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY total_amount),"
        " string_agg(DISTINCT product_id::text, ',' ORDER BY product_id::text)"
        " FROM retail.order_items GROUP BY ROLLUP (store_id)",
        {"retail.order_items"},
    ),
    "lateral_subquery_and_generate_series": (
        "SELECT g.day, x.n FROM generate_series(DATE '2024-01-01', DATE '2024-01-07',"
        " interval '1 day') AS g(day), LATERAL (SELECT count(*) AS n FROM retail.orders"
        " WHERE order_date = g.day) x",
        {"retail.orders"},
    ),
    "json_building_and_casts": (
        "SELECT jsonb_build_object('store', store_name, 'online', is_online),"
        " json_agg(store_id ORDER BY store_id), store_id::bigint, store_id::numeric(10, 2),"
        " CAST(store_id AS text), store_id::double precision FROM retail.stores"
        " GROUP BY store_name, is_online, store_id",
        {"retail.stores"},
    ),
    "pg_catalog_qualified_builtin": (
        "SELECT pg_catalog.count(*), pg_catalog.round(1.5) FROM retail.orders",
        {"retail.orders"},
    ),
    "table_statement_and_tablesample": (
        "SELECT * FROM retail.orders TABLESAMPLE BERNOULLI (5) REPEATABLE (42)",
        {"retail.orders"},
    ),
}


@pytest.mark.parametrize(
    ("sql", "relations"),
    [pytest.param(sql, relations, id=name) for name, (sql, relations) in ALLOWED_QUERIES.items()],
)
def test_realistic_analytics_query_is_allowed(sql: str, relations: set[str]) -> None:
    checked = check_query(sql)

    assert isinstance(checked, CheckedQuery)
    assert checked.relations == frozenset(relations)


def test_checked_query_keeps_the_stripped_text_and_a_literal_blind_fingerprint() -> None:
    first = check_query("  \n SELECT * FROM retail.orders WHERE store_id = 1;\n ")
    second = check_query("SELECT * FROM retail.orders WHERE store_id = 42")

    assert first.sql == "SELECT * FROM retail.orders WHERE store_id = 1;"
    assert first.fingerprint and first.fingerprint == second.fingerprint
    assert first.fingerprint != check_query("SELECT * FROM retail.stores").fingerprint


def test_rejection_is_a_validation_error_carrying_its_reason() -> None:
    with pytest.raises(QueryRejected) as caught:
        check_query("SELECT pg_sleep(10)")

    error = caught.value
    assert isinstance(error, InvalidInput)
    assert error.reason is R.DISALLOWED_FUNCTION
    assert error.as_dict() == {
        "code": ErrorCode.VALIDATION,
        "message": error.message,
        "reason": "disallowed_function",
    }


def assert_rejected(sql: str, reason: RejectionReason, **options: int) -> QueryRejected:
    with pytest.raises(QueryRejected) as caught:
        check_query(sql, **options)
    assert caught.value.reason is reason, caught.value.message
    return caught.value


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t ", id="whitespace"),
        pytest.param("-- only a comment", id="line_comment"),
        pytest.param("/* only a comment */", id="block_comment"),
        pytest.param(";", id="semicolon"),
        pytest.param(" ; ; ", id="semicolons"),
    ],
)
def test_query_without_a_statement_is_rejected_as_empty(sql: str) -> None:
    assert_rejected(sql, R.EMPTY)


def test_non_string_query_is_rejected_as_empty() -> None:
    assert_rejected(None, R.EMPTY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELEC 1", id="typo"),
        pytest.param("SELECT FROM WHERE", id="garbage"),
        pytest.param("SELECT 'unterminated", id="open_string"),
        pytest.param("SELECT $$unterminated", id="open_dollar"),
        pytest.param('SELECT 1 AS ""', id="empty_ident"),
        # The C parser stops at a NUL, so it would check less than the server gets.
        pytest.param("SELECT 1\x00; DROP TABLE retail.orders", id="nul"),
        pytest.param("SELECT '\ud800'", id="surrogate"),
    ],
)
def test_unparsable_query_is_rejected_as_syntax_error(sql: str) -> None:
    assert_rejected(sql, R.SYNTAX_ERROR)


def test_query_over_the_length_limit_is_rejected() -> None:
    assert_rejected("SELECT 1 AS x", R.TOO_LONG, max_length=10)
    assert_rejected("SELECT '" + "x" * 20_000 + "'", R.TOO_LONG)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT " + "1 + " * 5_000 + "1", id="plus"),
        pytest.param("SELECT " + "-(" * 5_000 + "1" + ")" * 5_000, id="minus"),
        pytest.param("SELECT " + "abs(" * 5_000 + "1" + ")" * 5_000, id="calls"),
        pytest.param("SELECT " + "ARRAY[" * 5_000 + "1" + "]" * 5_000, id="arrays"),
        pytest.param("SELECT " + "(SELECT " * 5_000 + "1" + ")" * 5_000, id="subqueries"),
        pytest.param("SELECT " + "CASE WHEN true THEN " * 5_000 + "1" + " END" * 5_000, id="case"),
        pytest.param("SELECT 1 WHERE " + "NOT " * 5_000 + "true", id="not"),
        pytest.param("SELECT " + "(" * 20_000 + "1" + ")" * 20_000, id="parens"),
        pytest.param("SELECT 1 WHERE 1 IN (" + ", ".join(["1"] * 20_000) + ")", id="wide"),
    ],
)
def test_pathologically_deep_or_large_query_is_rejected_cleanly(sql: str) -> None:
    assert_rejected(sql, R.TOO_COMPLEX, max_length=1_000_000)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT 1; SELECT 2", id="two_selects"),
        pytest.param("SELECT 1; DROP TABLE retail.orders", id="select_then_drop"),
        pytest.param("SELECT 1; -- x\nDROP TABLE x", id="drop_after_line_comment"),
        pytest.param(
            "SELECT 1 /* ; */ ; DELETE FROM retail.orders",
            id="delete_after_block_comment_holding_semicolon",
        ),
        pytest.param("SELECT $$ a $$; DELETE FROM retail.orders", id="delete_after_dollar_string"),
        pytest.param(
            "SELECT $tag$ ; $tag$; UPDATE retail.products SET cost = 0",
            id="update_after_tagged_dollar_string",
        ),
        pytest.param("SELECT E'it\\'s'; DROP TABLE retail.orders", id="drop_after_escape_string"),
        pytest.param(
            "SELECT 'a;b'; UPDATE retail.products SET cost = 0",
            id="update_after_string_holding_semicolon",
        ),
        pytest.param("SELECT 1;\nCOMMIT", id="commit"),
        pytest.param("SELECT 1; RESET ROLE", id="reset_role"),
        pytest.param("BEGIN; SELECT 1", id="begin_first"),
    ],
)
def test_stacked_statement_hidden_in_comments_or_quoting_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.MULTIPLE_STATEMENTS)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO retail.orders (store_id) VALUES (1)",
        "UPDATE retail.products SET cost = 0",
        "DELETE FROM retail.orders",
        "MERGE INTO retail.orders o USING retail.stores s ON o.store_id = s.store_id"
        " WHEN MATCHED THEN DELETE",
        "TRUNCATE retail.orders",
        "DROP TABLE retail.orders",
        "CREATE TABLE t (a int)",
        "CREATE TABLE t AS SELECT * FROM retail.orders",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "ALTER TABLE retail.orders DISABLE ROW LEVEL SECURITY",
        "GRANT SELECT ON retail.orders TO PUBLIC",
        "EXPLAIN SELECT 1",
        "EXPLAIN ANALYZE DELETE FROM retail.orders",
        "SET search_path = public",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "RESET ROLE",
        "RESET ALL",
        "SHOW app.rls_context_proof",
        "DISCARD ALL",
        "LISTEN channel",
        "NOTIFY channel, 'x'",
        "COPY retail.orders TO STDOUT",
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "DO $$ BEGIN PERFORM pg_sleep(1); END $$",
        "CALL some_procedure()",
        "PREPARE p AS SELECT 1",
        "EXECUTE p",
        "DECLARE c CURSOR FOR SELECT 1",
        "VACUUM retail.orders",
        "ANALYZE retail.orders",
        "LOCK TABLE retail.orders",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT s",
        "SET TRANSACTION READ WRITE",
        "CHECKPOINT",
        "LOAD 'somelib'",
    ],
)
def test_statement_other_than_select_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.NOT_SELECT)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "WITH d AS (DELETE FROM retail.orders RETURNING *) SELECT * FROM d", id="delete"
        ),
        pytest.param(
            "WITH i AS (INSERT INTO retail.stores (store_name) VALUES ('x') RETURNING 1)"
            " SELECT * FROM i",
            id="insert",
        ),
        pytest.param(
            "WITH u AS (UPDATE retail.products SET cost = 0 RETURNING 1) SELECT 1", id="update"
        ),
        pytest.param(
            "WITH m AS (MERGE INTO retail.orders o USING retail.stores s"
            " ON o.store_id = s.store_id WHEN MATCHED THEN DELETE RETURNING o.*) SELECT 1",
            id="merge",
        ),
        pytest.param(
            "SELECT * FROM (WITH d AS (DELETE FROM retail.orders RETURNING *) SELECT * FROM d) x",
            id="nested",
        ),
    ],
)
def test_data_modifying_cte_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.DATA_MODIFYING_CTE)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT * FROM retail.orders FOR UPDATE", id="update"),
        pytest.param("SELECT * FROM retail.orders FOR NO KEY UPDATE NOWAIT", id="no_key_update"),
        pytest.param("SELECT * FROM retail.orders FOR SHARE SKIP LOCKED", id="share"),
        pytest.param("SELECT * FROM retail.orders FOR KEY SHARE", id="key_share"),
        pytest.param("SELECT * FROM retail.orders o FOR UPDATE OF o", id="of"),
        pytest.param("SELECT * FROM (SELECT * FROM retail.orders FOR UPDATE) x", id="subquery"),
        pytest.param("WITH x AS (SELECT * FROM retail.orders FOR SHARE) SELECT * FROM x", id="cte"),
    ],
)
def test_locking_clause_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.LOCKING_CLAUSE)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT * INTO copy FROM retail.orders", id="table"),
        pytest.param("SELECT 1 INTO TEMP t", id="temp"),
    ],
)
def test_select_into_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.SELECT_INTO)


@pytest.mark.parametrize(
    "call",
    [
        "pg_sleep(10)",
        "pg_sleep_for('5 minutes')",
        "pg_sleep_until(now() + interval '1 hour')",
        "set_config('role', 'postgres', false)",
        "current_setting('app.rls_context_proof')",
        "pg_read_file('/etc/passwd')",
        "pg_read_binary_file('/etc/passwd')",
        "pg_ls_dir('.')",
        "pg_stat_file('postgresql.conf')",
        "lo_import('/etc/passwd')",
        "lo_export(1, '/tmp/x')",
        "lo_get(1)",
        "dblink('host=evil', 'SELECT 1')",
        "dblink_exec('DROP TABLE x')",
        "query_to_xml('SELECT * FROM pg_authid', true, true, '')",
        "table_to_xml('pg_authid', true, true, '')",
        "ts_stat('SELECT * FROM pg_authid')",
        "pg_terminate_backend(1)",
        "pg_cancel_backend(1)",
        "pg_reload_conf()",
        "pg_advisory_lock(1)",
        "pg_try_advisory_xact_lock(1)",
        "txid_current()",
        "pg_current_xact_id()",
        "pg_notify('c', 'x')",
        "version()",
        "inet_server_addr()",
        "nextval('retail.orders_order_id_seq')",
        "setval('retail.orders_order_id_seq', 1)",
        "setseed(0.5)",
        "pg_backend_pid()",
        "pg_get_functiondef(1)",
        "pg_get_viewdef('retail.orders')",
        "has_table_privilege('retail.orders', 'DELETE')",
        "pg_relation_size('retail.orders')",
        "pg_stat_get_activity(NULL)",
        "to_regclass('pg_authid')",
        "pg_catalog.pg_sleep(1)",
        "public.count(1)",
        "public.cosine_distance('[1]', '[1]')",
        "retail.lower('x')",
        "other.search_products_by_description('x')",
        '"PG_SLEEP"(1)',
        "current_user",
        "session_user",
        "current_role",
        "user",
        "current_schema",
        "current_catalog",
        "system_user",
        "xmlelement(name a, 'x')",
        "xmlparse(document '<a/>')",
    ],
)
def test_function_outside_the_allow_list_is_rejected(call: str) -> None:
    assert_rejected(f"SELECT {call}", R.DISALLOWED_FUNCTION)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT * FROM pg_read_file('/etc/passwd') AS f", id="from_function"),
        pytest.param(
            "SELECT * FROM retail.orders o, LATERAL pg_ls_dir('.') d", id="lateral_function"
        ),
        pytest.param(
            "SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('.')) AS t", id="rows_from"
        ),
        pytest.param("SELECT * FROM retail.orders WHERE pg_sleep(1) IS NULL", id="where"),
        pytest.param(
            "SELECT store_id FROM retail.orders GROUP BY store_id HAVING count(pg_sleep(1)) > 0",
            id="having",
        ),
        pytest.param("SELECT * FROM retail.orders ORDER BY pg_sleep(1)", id="order_by"),
        pytest.param("SELECT * FROM retail.orders GROUP BY pg_backend_pid()", id="group_by"),
        pytest.param(
            "SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM retail.orders", id="filter"
        ),
        pytest.param(
            "SELECT sum(1) OVER w FROM retail.orders WINDOW w AS (ORDER BY pg_sleep(1))",
            id="window_clause",
        ),
        pytest.param("SELECT CASE WHEN true THEN pg_sleep(1) END", id="case"),
        pytest.param("SELECT lower(upper(version()))", id="nested_argument"),
        pytest.param(
            "SELECT * FROM retail.orders o JOIN retail.stores s ON pg_sleep(1) IS NULL",
            id="join_condition",
        ),
        pytest.param("VALUES (1), (pg_sleep(1))", id="values"),
        pytest.param("SELECT 1 LIMIT (SELECT pg_backend_pid())", id="limit"),
        pytest.param("SELECT 1 OFFSET pg_backend_pid()", id="offset"),
        pytest.param("WITH x AS (SELECT pg_sleep(1)) SELECT * FROM x", id="cte"),
        pytest.param("SELECT 1 UNION SELECT pg_backend_pid()", id="union_branch"),
        pytest.param("SELECT (SELECT current_setting('role'))", id="scalar_subquery"),
        pytest.param("SELECT * FROM xmltable('/a' PASSING '<a/>' COLUMNS x int)", id="xmltable"),
        pytest.param(
            "SELECT * FROM json_table('[]', '$' PASSING pg_backend_pid() AS p COLUMNS (a int))",
            id="json_table_passing",
        ),
        pytest.param(
            "SELECT * FROM retail.orders TABLESAMPLE system_rows (10)", id="tablesample_method"
        ),
        pytest.param("SELECT 1 OPERATOR(public.+) 1", id="qualified_operator"),
        pytest.param(
            "SELECT 1 WHERE 1 OPERATOR(public.=) ANY (SELECT 1)", id="qualified_sublink_operator"
        ),
        pytest.param("SELECT 1 ORDER BY 1 USING OPERATOR(public.<)", id="qualified_sort_operator"),
    ],
)
def test_disallowed_function_is_found_anywhere_in_the_tree(sql: str) -> None:
    assert_rejected(sql, R.DISALLOWED_FUNCTION)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT * FROM pg_catalog.pg_authid", id="catalog_qualified"),
        pytest.param("SELECT * FROM pg_authid", id="catalog_unqualified"),
        pytest.param("SELECT * FROM pg_shadow", id="pg_shadow"),
        pytest.param("SELECT * FROM pg_stat_activity", id="pg_stat_activity"),
        pytest.param("SELECT * FROM pg_settings", id="pg_settings"),
        pytest.param("SELECT * FROM pg_class", id="pg_class"),
        pytest.param("SELECT * FROM information_schema.tables", id="information_schema"),
        pytest.param("SELECT * FROM public.auth_user", id="django_user_qualified"),
        pytest.param("SELECT * FROM auth_user", id="django_user"),
        pytest.param("SELECT * FROM tenancy_access_tokens", id="token_table"),
        pytest.param("SELECT digest FROM public.tenancy_access_tokens", id="token_table_qualified"),
        pytest.param("SELECT * FROM tenancy_managers", id="manager_table"),
        pytest.param("SELECT * FROM tenancy_manager_stores", id="manager_store_table"),
        pytest.param("SELECT * FROM audit_requests", id="audit_table"),
        pytest.param("SELECT * FROM zava_private.rls_signing_key", id="signing_key"),
        pytest.param("SELECT * FROM django_session", id="django_session"),
        pytest.param("SELECT * FROM public.orders", id="allowed_name_in_public"),
        pytest.param("SELECT * FROM other.orders", id="allowed_name_in_other_schema"),
        pytest.param("SELECT * FROM zava.retail.orders", id="database_qualified"),
        pytest.param('SELECT * FROM "Orders"', id="quoted_mixed_case"),
        pytest.param("TABLE pg_authid", id="table_statement"),
        pytest.param("SELECT * FROM retail.orders o JOIN pg_user u ON true", id="join"),
        pytest.param("SELECT (SELECT rolpassword FROM pg_authid LIMIT 1)", id="scalar_subquery"),
        pytest.param("SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_roles)", id="exists"),
        pytest.param(
            "SELECT * FROM retail.orders o, LATERAL (SELECT * FROM pg_stat_activity) a",
            id="lateral",
        ),
        pytest.param("SELECT 1 UNION ALL SELECT 1 FROM pg_database", id="union_branch"),
        pytest.param("WITH x AS (SELECT * FROM pg_authid) SELECT * FROM x", id="cte_body"),
        pytest.param("VALUES ((SELECT 1 FROM pg_authid))", id="values"),
    ],
)
def test_relation_outside_the_allow_list_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.DISALLOWED_RELATION)


def test_the_probed_django_tables_are_the_models_tables() -> None:
    """The probes above name the real tables, so a rename cannot leave them probing nothing."""
    from retail.models import AccessToken, AuditedRequest, Manager, ManagerStore

    tables = {
        model._meta.db_table for model in (AccessToken, Manager, ManagerStore, AuditedRequest)
    }
    assert tables == {
        "tenancy_access_tokens",
        "tenancy_managers",
        "tenancy_manager_stores",
        "audit_requests",
    }


@pytest.mark.parametrize(
    "sql",
    [
        # Inside a plain WITH item its own name is not yet a CTE: it is the catalog.
        pytest.param(
            "WITH pg_authid AS (SELECT * FROM pg_authid) SELECT * FROM pg_authid",
            id="self_reference",
        ),
        # Nor are the items after it.
        pytest.param(
            "WITH a AS (SELECT * FROM pg_authid), pg_authid AS (SELECT 1) SELECT * FROM a",
            id="forward_reference",
        ),
        # A CTE is visible only inside the statement whose WITH defines it.
        pytest.param(
            "SELECT * FROM (WITH pg_authid AS (SELECT 1) SELECT * FROM pg_authid) s, pg_authid",
            id="subquery_scope",
        ),
        pytest.param(
            "(WITH pg_roles AS (SELECT 1) SELECT * FROM pg_roles) UNION SELECT 1 FROM pg_roles",
            id="union_scope",
        ),
        # A qualified name never refers to a CTE.
        pytest.param("WITH pg_user AS (SELECT 1) SELECT * FROM pg_catalog.pg_user", id="qualified"),
    ],
)
def test_cte_name_does_not_hide_a_catalog_table_outside_its_scope(sql: str) -> None:
    assert_rejected(sql, R.DISALLOWED_RELATION)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT 'pg_authid'::regclass", id="regclass"),
        pytest.param("SELECT 'pg_sleep'::regproc", id="regproc"),
        pytest.param("SELECT 'pg_sleep(float8)'::regprocedure", id="regprocedure"),
        pytest.param("SELECT '+'::regoper", id="regoper"),
        pytest.param("SELECT '+(int4,int4)'::regoperator", id="regoperator"),
        pytest.param("SELECT 'int4'::regtype", id="regtype"),
        pytest.param("SELECT 'postgres'::regrole", id="regrole"),
        pytest.param("SELECT 'pg_catalog'::regnamespace", id="regnamespace"),
        pytest.param("SELECT 'english'::regconfig", id="regconfig"),
        pytest.param("SELECT 'simple'::regdictionary", id="regdictionary"),
        pytest.param("SELECT 'C'::regcollation", id="regcollation"),
        pytest.param("SELECT CAST('pg_authid' AS pg_catalog.regclass)", id="cast_qualified"),
        pytest.param("SELECT regclass 'pg_authid'", id="typed_literal"),
        pytest.param("SELECT '{pg_authid}'::regclass[]", id="array"),
        pytest.param("SELECT 1::oid", id="oid"),
        pytest.param("SELECT '0/0'::pg_lsn", id="pg_lsn"),
        pytest.param("SELECT NULL::pg_catalog.pg_snapshot", id="pg_snapshot"),
        pytest.param("SELECT NULL::pg_authid", id="catalog_row_type"),
        pytest.param("SELECT NULL::retail.orders", id="table_row_type"),
        pytest.param("SELECT '<a/>'::xml", id="xml"),
        pytest.param(
            "SELECT * FROM retail.search_products_by_description('x') AS t(id regclass)",
            id="column_definition_list",
        ),
        pytest.param("SELECT json_value('1', '$' RETURNING regclass)", id="json_returning"),
    ],
)
def test_cast_to_disallowed_type_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.DISALLOWED_TYPE)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT $1", id="parameter"),
        pytest.param("SELECT merge_action()", id="merge_support_function"),
    ],
)
def test_unknown_kind_of_expression_is_rejected(sql: str) -> None:
    assert_rejected(sql, R.DISALLOWED_SYNTAX)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        pytest.param("SELECT 'x" + "secret " * 300, R.SYNTAX_ERROR, id="syntax"),
        pytest.param(
            "SELECT '" + "secret " * 300 + "' AS s, pg_sleep(1)",
            R.DISALLOWED_FUNCTION,
            id="function",
        ),
        pytest.param(
            "SELECT '" + "secret " * 300 + "' AS s FROM pg_authid",
            R.DISALLOWED_RELATION,
            id="relation",
        ),
        pytest.param("SELECT '" + "secret " * 300 + "'::regclass", R.DISALLOWED_TYPE, id="type"),
        pytest.param(
            "SELECT '" + "secret " * 300 + "'; SELECT 1", R.MULTIPLE_STATEMENTS, id="stacked"
        ),
        pytest.param(
            "DELETE FROM retail.orders WHERE note = '" + "secret " * 300 + "'",
            R.NOT_SELECT,
            id="dml",
        ),
        pytest.param(
            "SELECT * FROM " + "x" * 60 + "." + "y" * 60, R.DISALLOWED_RELATION, id="long_name"
        ),
        pytest.param("SELECT 1 AS " + "z" * 3_000, R.TOO_LONG, id="too_long"),
    ],
)
def test_rejection_message_never_echoes_the_query(sql: str, reason: RejectionReason) -> None:
    error = assert_rejected(sql, reason, max_length=3_000)

    assert sql not in error.message
    assert "secret " * 6 not in error.message
    assert len(error.message) < 300


def test_an_accepted_text_is_checked_once_per_process_and_a_refusal_is_never_remembered():
    first = check_query("SELECT store_name FROM retail.stores /* memo */")
    assert check_query("SELECT store_name FROM retail.stores /* memo */") is first
    for _ in range(2):
        with pytest.raises(QueryRejected):
            check_query("SELECT pg_sleep(1) /* memo */")
