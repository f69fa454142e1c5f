"""Every call leaves an audit row, whatever its arguments contain."""

from __future__ import annotations

import pytest

from retail.models import ToolCall
from retail.services.audit import MAX_ARGUMENT_CHARS, tool_call_record


@pytest.mark.parametrize(
    ("arguments", "stored"),
    [
        ({"postgresql_query": "SELECT 1\x00; DROP"}, {"postgresql_query": "SELECT 1\\0; DROP"}),
        ({"similarity_threshold": float("nan")}, {"similarity_threshold": "nan"}),
        ({"nested": [{"k\x00": float("inf")}]}, {"nested": [{"k\\0": "inf"}]}),
        ({"postgresql_query": "x" * (MAX_ARGUMENT_CHARS + 10)},
         {"postgresql_query": "x" * (MAX_ARGUMENT_CHARS - 1) + "…"}),
        ({"store": "\ud800 and \udfff"}, {"store": "\\ud800 and \\udfff"}),
    ],
)  # fmt: skip
def test_arguments_jsonb_would_refuse_are_still_recorded(database, arguments, stored):
    tool_call_record(
        manager_id=None,
        token_id=None,
        tool="audit-test",
        arguments=arguments,
        outcome="refused",
        request_id="audit-test",
    )
    try:
        row = ToolCall.objects.filter(tool="audit-test").get()
        assert row.arguments == stored
        assert row.sanitised
    finally:
        ToolCall.objects.filter(tool="audit-test").delete()
