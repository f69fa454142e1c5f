"""The four tools through real HTTP and the official client, per manager kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from retail.services.seeding import MANAGERS, STORES
from tests.conftest import LIVE_MAX_ROWS
from tests.identities import HEAD_OFFICE, SEATTLE, kind_id, store_ids
from tests.mcp_client import tool_json


def _owner_counts(table: str, column: str) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, count(*) FROM retail.{table} GROUP BY 1")
        return dict(cursor.fetchall())


@pytest.mark.parametrize("spec", MANAGERS, ids=kind_id)
@pytest.mark.parametrize(
    ("table", "column"),
    [("orders", "store_id"), ("order_items", "store_id"), ("customers", "primary_store_id"),
     ("inventory", "store_id")],
)  # fmt: skip
def test_each_manager_sees_exactly_their_stores_rows(database, session_of, spec, table, column):
    owner = _owner_counts(table, column)
    answer = session_of(spec).rows(f"SELECT {column}, count(*) FROM retail.{table} GROUP BY 1")
    expected = {store: owner[store] for store in store_ids(spec)}
    assert dict(map(tuple, answer)) == expected


def test_schema_output_reflects_the_callers_stores(session_of):
    def schema(spec) -> str:
        result = session_of(spec).call_tool(
            "get_multiple_table_schemas", {"table_names": ["retail.stores"]}
        )
        assert not result.isError
        return result.content[0].text

    seattle, head_office = schema(SEATTLE), schema(HEAD_OFFICE)
    assert seattle != head_office
    assert "Store names you can see: Zava Retail Seattle\n" in seattle
    assert all(store.name in head_office for store in STORES)
    assert "# Table: retail.stores" in seattle
    assert "store_name:text" in seattle
    assert "## Query Hints" in seattle


def test_schema_of_several_tables_in_one_call(session_of):
    result = session_of(SEATTLE).call_tool(
        "get_multiple_table_schemas",
        {"table_names": ["retail.orders", "order_items"]},
    )
    text = result.content[0].text
    assert "# Table: retail.orders" in text
    assert "# Table: retail.order_items" in text
    assert "order_id → retail.orders(order_id)" in text
    assert "Years with orders: 2020" in text


def test_an_unknown_table_gets_an_error_listing_the_valid_ones(session_of):
    result = session_of(SEATTLE).call_tool(
        "get_multiple_table_schemas", {"table_names": ["auth_user"]}
    )
    assert result.isError
    payload = tool_json(result)
    assert payload["code"] == "validation_error"
    assert "retail.orders" in payload["err"]


def test_current_utc_date(session_of):
    result = session_of(SEATTLE).call_tool("get_current_utc_date")
    text = result.content[0].text
    assert text.startswith("Current UTC Date/Time: ")
    stamp = datetime.fromisoformat(text.removeprefix("Current UTC Date/Time: "))
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_query_results_use_the_reference_compact_json(session_of):
    result = session_of(SEATTLE).call_tool(
        "execute_sales_query",
        {"postgresql_query": "SELECT store_name, is_online FROM retail.stores ORDER BY store_id"},
    )
    payload = tool_json(result)
    assert payload["c"] == ["store_name", "is_online"]
    assert payload["n"] == len(STORES) == len(payload["r"])
    assert payload["r"][0] == ["Zava Retail Seattle", False]


def test_an_empty_result_says_no_rows(session_of):
    result = session_of(SEATTLE).call_tool(
        "execute_sales_query",
        {"postgresql_query": "SELECT order_id FROM retail.orders WHERE store_id = 2"},
    )
    assert tool_json(result) == {"c": [], "r": [], "n": 0, "msg": "No rows"}


def test_large_results_are_capped_and_flagged(session_of):
    result = session_of(HEAD_OFFICE).call_tool(
        "execute_sales_query",
        {"postgresql_query": "SELECT * FROM retail.order_items"},
    )
    payload = tool_json(result)
    assert payload["n"] == LIVE_MAX_ROWS == len(payload["r"])
    assert payload["truncated"] is True


def test_every_kind_of_value_serialises_cleanly(session_of):
    sql = """
        SELECT 1.50::numeric(10,2) AS price, DATE '2024-02-29' AS day,
               TIMESTAMP '2024-02-29 10:11:12' AS at, make_interval(days => 3, hours => 4) AS span,
               rls_user_id AS manager, ARRAY[1, 2, 3] AS numbers,
               json_build_object('a', 1, 'b', ARRAY['x']) AS doc, '[1,2,3]'::vector AS embedding,
               jsonb_build_object('k', 2.5) AS binary_doc,
               NULL::text AS nothing, 'quote " and \\ backslash' AS tricky
          FROM retail.stores WHERE store_id = 1
    """
    payload = tool_json(session_of(SEATTLE).call_tool("execute_sales_query",
                                  {"postgresql_query": sql}))  # fmt: skip
    row = dict(zip(payload["c"], payload["r"][0], strict=True))
    assert row["price"] == 1.5
    assert row["day"] == "2024-02-29"
    assert row["at"] == "2024-02-29T10:11:12"
    assert row["span"] == "3 days 04:00:00"
    assert row["manager"] == str(STORES[0].manager_id)
    assert row["numbers"] == [1, 2, 3]
    assert row["doc"] == {"a": 1, "b": ["x"]}
    assert row["embedding"] == "[1,2,3]"
    assert row["binary_doc"] == {"k": 2.5}
    assert row["nothing"] is None
    assert row["tricky"] == 'quote " and \\ backslash'


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("execute_sales_query", {"postgresql_query": 42}),
        ("execute_sales_query", {}),
        ("get_multiple_table_schemas", {"table_names": "retail.orders"}),
        ("get_multiple_table_schemas", {"table_names": []}),
        ("semantic_search_products", {"query_description": "paint", "max_rows": "many"}),
        ("no_such_tool", {}),
    ],
)
def test_wrong_arguments_get_a_typed_validation_error(session_of, tool, arguments):
    result = session_of(SEATTLE).call_tool(tool, arguments)
    assert result.isError
    payload = tool_json(result)
    assert payload["code"] == "validation_error"
    assert "Traceback" not in payload["err"]
