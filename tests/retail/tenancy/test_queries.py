"""``retail.tenancy.queries``: the capped read, its values as JSON, and its typed errors.

Each test runs as the Seattle store manager inside :func:`run_as_tenant`, with no
SQL guard in front: what this layer promises, it must keep on its own.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from retail.errors import (
    DatabaseFailure,
    ErrorCode,
    NotAuthorized,
    QueryTimeout,
    ZavaError,
)
from retail.tenancy import QueryResult, run_as_tenant, run_select, tenant_cursor, to_json_value
from retail.tenancy.transaction import TenantContextError
from tests.identities import SEATTLE

MANY = 1_000_000


def _select(sql: str, *, max_rows: int = 100, max_bytes: int = MANY) -> QueryResult:
    return run_as_tenant(
        SEATTLE.id, lambda: run_select(sql, max_rows=max_rows, max_bytes=max_bytes)
    )


def _refusal(sql: str) -> ZavaError:
    with pytest.raises(ZavaError) as excinfo:
        _select(sql)
    return excinfo.value


# --- the caps -----------------------------------------------------------------------


def test_rows_past_the_cap_are_cut_and_flagged(database):
    result = _select("SELECT n FROM generate_series(1, 50) AS n", max_rows=10)
    assert result.rows == [[n] for n in range(1, 11)]
    assert (result.truncated, result.truncated_by) == (True, "rows")


def test_exactly_the_cap_is_not_truncated(database):
    result = _select("SELECT n FROM generate_series(1, 10) AS n", max_rows=10)
    assert len(result.rows) == 10
    assert not result.truncated


def test_the_byte_budget_keeps_whole_rows_within_it(database):
    result = _select("SELECT repeat('x', 100) AS wide FROM generate_series(1, 50)", max_bytes=1_000)
    assert (result.truncated, result.truncated_by) == (True, "bytes")
    assert 0 < len(result.rows) < 10
    assert all(row == ["x" * 100] for row in result.rows)


def test_a_trailing_semicolon_is_one_statement(database):
    assert _select("SELECT 1 AS one;  ").rows == [[1]]


def test_stacked_statements_are_refused_without_the_guard(database):
    # No guard here: inside the row-limit shell, sent by the extended protocol, a
    # second statement is a syntax error.
    error = _refusal("SELECT 1; SELECT store_id FROM retail.stores")
    assert isinstance(error, DatabaseFailure)
    assert error.reason == "42601"


def test_rows_are_the_callers_only(database):
    result = _select("SELECT DISTINCT store_id FROM retail.orders ORDER BY 1")
    assert result.columns == ["store_id"]
    assert result.rows == [[1]]


# --- values as JSON -----------------------------------------------------------------


def test_postgresql_values_come_back_as_plain_json(database):
    result = _select(
        "SELECT 12.50::numeric AS price, 3::numeric AS whole, "
        "'1 day 02:03:04.5'::interval AS span, '02:00:00'::interval AS short, "
        "'\\x00ff'::bytea AS raw, 'NaN'::float8 AS nan, 'infinity'::numeric AS inf, "
        "'2026-06-30'::date AS day, '{\"a\": [1, null]}'::jsonb AS doc, "
        "ARRAY[1, 2] AS list, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id"
    )
    assert dict(zip(result.columns, result.rows[0], strict=True)) == {
        "price": 12.5,
        "whole": 3,
        "span": "1 days 02:03:04.5",
        "short": "02:00:00",
        "raw": "AP8=",
        "nan": "nan",
        "inf": "Infinity",
        "day": "2026-06-30",
        "doc": {"a": [1, None]},
        "list": [1, 2],
        "id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    }


def test_values_json_cannot_hold_exactly_become_text_or_floats():
    assert to_json_value(Decimal(2**60)) == float(2**60)  # past 2**53: no exact int
    assert to_json_value(math.inf) == "inf"
    assert to_json_value(timedelta(microseconds=250)) == "00:00:00.00025"
    assert to_json_value(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert to_json_value({1: (b"\x01",)}) == {"1": ["AQ=="]}


# --- typed errors -------------------------------------------------------------------


def test_a_statement_past_the_timeout_is_a_timeout(database, settings):
    settings.ZAVA_QUERY_TIMEOUT_MS = 300
    error = _refusal("SELECT pg_sleep(5)")
    assert isinstance(error, QueryTimeout)
    assert error.code == ErrorCode.TIMEOUT


def test_what_the_tenant_may_not_read_is_an_authorization_error(database):
    error = _refusal("SELECT * FROM tenancy_access_tokens")
    assert isinstance(error, NotAuthorized)
    assert "tenancy_access_tokens" not in error.message


def test_a_database_error_keeps_postgresqls_message_and_state_not_its_internals(database):
    error = _refusal("SELECT 1 / (store_id - store_id) FROM retail.stores")
    assert isinstance(error, DatabaseFailure)
    assert error.message == "division by zero"
    assert error.reason == "22012"
    syntax = _refusal("SELEC 1")
    assert syntax.reason == "42601"
    assert "LINE" not in syntax.message and "^" not in syntax.message


def test_the_tenant_cursor_refuses_outside_a_tenant_context(database):
    with pytest.raises(TenantContextError), tenant_cursor():
        pass
