"""The registry: one immutable table of tools, resources and prompts, built at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mcp_tools import sdk_adapter
from mcp_tools.registry import registry
from tests.mcp_client import call_tool, text_json


def test_every_registered_tool_resource_and_prompt_has_a_spec():
    table = registry()
    assert set(table.tools) == {tool.name for tool in sdk_adapter.registered_tools()}
    assert set(table.resources) == {str(r.uri) for r in sdk_adapter.registered_resources()}
    assert {t.uri_template for t in table.templates} == {
        t.uri_template for t in sdk_adapter.registered_templates()
    }
    assert set(table.prompts) == {p.name for p in sdk_adapter.registered_prompts()}


def test_the_sql_argument_is_declared_once_by_the_tool():
    declared = {name: spec.sql_argument for name, spec in registry().tools.items()}
    assert declared.pop("execute_sales_query") == "postgresql_query"
    assert set(declared.values()) == {None}


def test_tool_answers_holding_rows_are_fenced_and_the_others_are_not():
    fenced = {name for name, spec in registry().tools.items() if spec.fenced}
    assert "execute_sales_query" in fenced and "get_store_performance" in fenced
    assert "get_current_utc_date" not in fenced
    assert "get_multiple_table_schemas" not in fenced


def test_argument_models_refuse_undeclared_arguments():
    spec = registry().tools["get_current_utc_date"]
    assert spec.input_schema.get("additionalProperties") is False
    with pytest.raises(ValidationError):
        spec.validated({"as_manager": "someone else"})


def test_an_undeclared_argument_is_refused_over_http(database, url, token):
    result = call_tool(url, token, "get_store_performance", {"period": "2025", "manager_id": "x"})
    assert result.isError
    assert text_json(result.content[0].text, is_error=True)["code"] == "validation_error"
