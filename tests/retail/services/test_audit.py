"""Every call leaves an audit row, whatever its arguments contain."""

from __future__ import annotations

import pytest

from retail.models import AuditedRequest
from retail.services.audit import MAX_ARGUMENT_CHARS, audited_values, record_request


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
    record_request(
        manager_id=None,
        token_id=None,
        tool="audit-test",
        arguments=arguments,
        outcome="refused",
        request_id="audit-test",
    )
    try:
        row = AuditedRequest.objects.filter(tool="audit-test").get()
        assert row.arguments == stored
        assert row.sanitised
    finally:
        AuditedRequest.objects.filter(tool="audit-test").delete()


@pytest.mark.parametrize("column", ["tool", "method"])
def test_audited_values_read_off_the_index_are_the_distinct_values(database, column):
    for tool in ("audit-values-b", "audit-values-a", "audit-values-b"):
        record_request(
            manager_id=None, token_id=None, tool=tool, arguments={}, outcome="ok",
            method="resources/read",
        )  # fmt: skip
    try:
        expected = sorted(set(AuditedRequest.objects.values_list(column, flat=True)))
        assert audited_values(column) == expected
        assert "audit-values-a" in audited_values("tool")
        assert "resources/read" in audited_values("method")
    finally:
        AuditedRequest.objects.filter(tool__startswith="audit-values-").delete()


def test_audited_values_take_only_indexed_text_columns(database):
    with pytest.raises(ValueError, match="arguments"):
        audited_values("arguments; DROP TABLE audit_requests")
