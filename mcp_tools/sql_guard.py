"""Static check of the SQL an LLM sends to ``execute_sales_query``.

The database is the real boundary: the query runs in a read-only transaction as a
role that row-level security confines to one tenant. This guard sits in front of it
to refuse early, with a stable reason, anything that is not one plain read of the
retail tables: other statements, data-modifying CTEs, row locks, catalog reads, and
functions that sleep, read files, change settings or probe the server.

It parses with PostgreSQL's own parser (pglast), so comments, quoting and dollar
strings cannot make it see a different statement from the one the server runs (the
text is parsed to JSON first, so that a tree too deep to build is refused before
pglast builds it in C). It
walks every node of the tree and checks allow-lists (node kinds, tables, functions,
types), so a construct it does not know is refused rather than let through. It is
pure: no database access, no Django.

It also gives the query's pglast fingerprint (constants and whitespace do not change
it), on the accepted query and on a refusal that got past the parser, so that logs
and metrics group query shapes without parsing the text again.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate

from pglast import ast, parse_sql
from pglast.enums import SQLValueFunctionOp
from pglast.parser import ParseError, fingerprint, parse_sql_json

from retail.errors import InvalidInput

__all__ = ["UNPARSED", "CheckedQuery", "QueryRejected", "RejectionReason", "check_query"]

DEFAULT_MAX_LENGTH = 20_000
# Nesting levels of PostgreSQL's JSON parse tree: an operator chain costs about two
# per operator, so this admits ~200 nested expressions while keeping pglast's
# recursive C conversion far from the end of even a small thread stack.
MAX_NESTING = 400
# Nodes in the tree, scalars such as String and Integer included.
MAX_NODES = 10_000

RETAIL_SCHEMA = "retail"
CATALOG_SCHEMA = "pg_catalog"

ALLOWED_TABLES = frozenset(
    {
        "customers",
        "stores",
        "categories",
        "product_types",
        "products",
        "orders",
        "order_items",
        "inventory",
        "product_description_embeddings",
    }
)

# Built-in functions, callable bare or as ``pg_catalog.name``. Pure functions of
# their arguments (or of the clock): nothing that sleeps, touches files, settings,
# sessions, sequences, locks or other backends, reveals server identity, or runs
# SQL given as text (query_to_xml, ts_stat...).
BUILTIN_FUNCTIONS = frozenset(
    {
        # Aggregates.
        "count", "sum", "avg", "min", "max", "any_value",
        "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
        "percentile_cont", "percentile_disc", "mode",
        "string_agg", "array_agg", "json_agg", "jsonb_agg", "json_agg_strict",
        "jsonb_agg_strict", "json_object_agg", "jsonb_object_agg",
        "bool_and", "bool_or", "every", "corr", "covar_pop", "covar_samp",
        "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2",
        "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
        # Window functions (rank & co. double as hypothetical-set aggregates).
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
        "lag", "lead", "first_value", "last_value", "nth_value",
        # Maths.
        "abs", "round", "trunc", "ceil", "ceiling", "floor", "power", "pow", "sqrt",
        "cbrt", "exp", "ln", "log", "log10", "mod", "sign", "div", "width_bucket",
        "pi", "degrees", "radians", "gcd", "lcm", "scale", "trim_scale", "random",
        "num_nulls", "num_nonnulls",
        # Strings (btrim, like_escape, similar_to_escape, overlay, normalize and
        # is_normalized also come from SQL syntax: TRIM, LIKE ... ESCAPE, SIMILAR TO...).
        "lower", "upper", "initcap", "length", "char_length", "character_length",
        "octet_length", "substr", "substring", "left", "right", "trim", "btrim",
        "ltrim", "rtrim", "replace", "translate", "concat", "concat_ws", "split_part",
        "position", "strpos", "lpad", "rpad", "reverse", "format", "starts_with",
        "regexp_replace", "regexp_match", "regexp_matches", "regexp_like",
        "regexp_count", "regexp_substr", "regexp_instr", "regexp_split_to_array",
        "regexp_split_to_table", "string_to_array", "string_to_table", "md5",
        "ascii", "chr", "to_hex", "overlay", "normalize", "is_normalized",
        "like_escape", "similar_to_escape", "similar_escape",
        "to_char", "to_number", "to_date", "to_timestamp",
        # Dates and times (EXTRACT parses to extract, AT TIME ZONE to timezone,
        # OVERLAPS to overlaps; CURRENT_DATE & co. are SQLValueFunction nodes).
        "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp",
        "date_trunc", "date_part", "extract", "date_bin", "age", "date", "isfinite",
        "make_date", "make_time", "make_timestamp", "make_timestamptz",
        "make_interval", "justify_days", "justify_hours", "justify_interval",
        "date_add", "date_subtract", "timezone", "overlaps", "generate_series",
        # JSON.
        "json_build_object", "jsonb_build_object", "json_build_array",
        "jsonb_build_array", "to_json", "to_jsonb", "row_to_json", "array_to_json",
        "json_array_elements", "jsonb_array_elements", "json_array_elements_text",
        "jsonb_array_elements_text", "json_each", "jsonb_each", "json_each_text",
        "jsonb_each_text", "json_object_keys", "jsonb_object_keys",
        "json_array_length", "jsonb_array_length", "json_extract_path",
        "jsonb_extract_path", "json_extract_path_text", "jsonb_extract_path_text",
        "json_typeof", "jsonb_typeof", "json_strip_nulls", "jsonb_strip_nulls",
        "jsonb_pretty",
        # Arrays.
        "array_length", "cardinality", "unnest", "array_position", "array_positions",
        "array_to_string", "array_append", "array_prepend", "array_cat",
        "array_remove", "array_replace", "array_lower", "array_upper", "array_ndims",
        # Full-text search (the text configuration is passed as a string literal).
        "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery",
        "websearch_to_tsquery", "ts_rank", "ts_rank_cd",
    }
)  # fmt: skip

# pgvector's functions live in the extension's schema, so only the bare name is
# accepted (the executor's search_path must reach that schema).
VECTOR_FUNCTIONS = frozenset(
    {
        "cosine_distance", "l2_distance", "l1_distance", "inner_product",
        "vector_dims", "vector_norm", "l2_norm", "l2_normalize",
    }
)  # fmt: skip

# Functions whose value depends on when the query runs (``age(x)`` counts from today),
# and the special date strings PostgreSQL reads the clock for ('now'::date, 'today').
# A query using one reads the clock, so its answer must not be cached.
CLOCK_FUNCTIONS = frozenset(
    {"now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "age"}
)
CLOCK_STRINGS = frozenset({"now", "today", "tomorrow", "yesterday"})

# Our own functions in the retail schema, callable bare or as ``retail.name``.
RETAIL_FUNCTIONS = frozenset({"search_products_by_description"})

# Table sampling methods built into PostgreSQL (the tsm_* extensions are not).
TABLESAMPLE_METHODS = frozenset({"system", "bernoulli"})

# Types a query may name in a cast, typed literal or column definition list, bare or
# as ``pg_catalog.name``. Keywords such as INTEGER or DOUBLE PRECISION reach the
# parse tree already mapped to these names. Absent on purpose: the reg* types
# (they turn names into catalog lookups), oid, pg_* types, xml and composite types.
BUILTIN_TYPES = frozenset(
    {
        "int2", "int4", "int8", "float4", "float8", "numeric", "text", "varchar",
        "bpchar", "bool", "date", "time", "timetz", "timestamp", "timestamptz",
        "interval", "uuid", "json", "jsonb",
    }
)  # fmt: skip
VECTOR_TYPES = frozenset({"vector", "halfvec", "sparsevec"})

_BARE_FUNCTIONS = BUILTIN_FUNCTIONS | VECTOR_FUNCTIONS | RETAIL_FUNCTIONS
_BARE_TYPES = BUILTIN_TYPES | VECTOR_TYPES

# Date and time keywords; the others (CURRENT_USER, SESSION_USER, CURRENT_ROLE,
# CURRENT_SCHEMA, CURRENT_CATALOG, USER) reveal server identity and are not needed.
ALLOWED_SQL_VALUE_FUNCTIONS = frozenset(
    {
        SQLValueFunctionOp.SVFOP_CURRENT_DATE,
        SQLValueFunctionOp.SVFOP_CURRENT_TIME,
        SQLValueFunctionOp.SVFOP_CURRENT_TIME_N,
        SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP,
        SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP_N,
        SQLValueFunctionOp.SVFOP_LOCALTIME,
        SQLValueFunctionOp.SVFOP_LOCALTIME_N,
        SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP,
        SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP_N,
    }
)

# Every kind of node a read-only query may contain. The specific checks below
# look further into some of them (FuncCall, RangeVar, TypeName...); any other kind
# (XML functions, XMLTABLE, $n parameters, anything a future parser adds) is refused.
ALLOWED_NODES: frozenset[type[ast.Node]] = frozenset(
    {
        # Query structure.
        ast.SelectStmt, ast.WithClause, ast.CommonTableExpr, ast.CTESearchClause,
        ast.CTECycleClause, ast.ResTarget, ast.Alias, ast.RangeVar, ast.RangeSubselect,
        ast.RangeFunction, ast.RangeTableSample, ast.JoinExpr, ast.SortBy,
        ast.WindowDef, ast.GroupingSet, ast.GroupingFunc, ast.ColumnDef,
        # Expressions.
        ast.A_Const, ast.A_Expr, ast.A_Star, ast.A_Indices, ast.A_Indirection,
        ast.A_ArrayExpr, ast.ColumnRef, ast.BoolExpr, ast.NullTest, ast.BooleanTest,
        ast.SubLink, ast.CaseExpr, ast.CaseWhen, ast.CoalesceExpr, ast.MinMaxExpr,
        ast.RowExpr, ast.FuncCall, ast.NamedArgExpr, ast.SQLValueFunction,
        ast.TypeCast, ast.TypeName, ast.CollateClause,
        # Values.
        ast.String, ast.Integer, ast.Float, ast.Boolean, ast.BitString,
        # SQL/JSON: constructors, JSON_VALUE/QUERY/EXISTS, IS JSON, JSON_TABLE.
        ast.JsonAggConstructor, ast.JsonArgument, ast.JsonArrayAgg,
        ast.JsonArrayConstructor, ast.JsonArrayQueryConstructor, ast.JsonBehavior,
        ast.JsonFormat, ast.JsonFuncExpr, ast.JsonIsPredicate, ast.JsonKeyValue,
        ast.JsonObjectAgg, ast.JsonObjectConstructor, ast.JsonOutput,
        ast.JsonParseExpr, ast.JsonReturning, ast.JsonScalarExpr,
        ast.JsonSerializeExpr, ast.JsonTable, ast.JsonTableColumn,
        ast.JsonTablePathSpec, ast.JsonValueExpr,
    }
)  # fmt: skip

# Function-like nodes refused by name rather than as unknown syntax.
XML_NODES: frozenset[type[ast.Node]] = frozenset(
    {ast.XmlExpr, ast.XmlSerialize, ast.RangeTableFunc, ast.RangeTableFuncCol}
)

_MAX_ECHO = 64  # longest identifier or token a message repeats back

_CteScope = frozenset[str]


class RejectionReason(StrEnum):
    """Why a query was refused: a stable code that clients, logs and tests key on."""

    EMPTY = "empty"
    SYNTAX_ERROR = "syntax_error"
    TOO_LONG = "too_long"
    TOO_COMPLEX = "too_complex"
    MULTIPLE_STATEMENTS = "multiple_statements"
    NOT_SELECT = "not_select"
    DATA_MODIFYING_CTE = "data_modifying_cte"
    LOCKING_CLAUSE = "locking_clause"
    SELECT_INTO = "select_into"
    DISALLOWED_FUNCTION = "disallowed_function"
    DISALLOWED_RELATION = "disallowed_relation"
    DISALLOWED_TYPE = "disallowed_type"
    DISALLOWED_SYNTAX = "disallowed_syntax"


# Refusals that happen before (or instead of) a successful parse: no fingerprint.
UNPARSED = frozenset(
    {RejectionReason.EMPTY, RejectionReason.TOO_LONG, RejectionReason.SYNTAX_ERROR}
)


class QueryRejected(InvalidInput):
    """A query the guard refuses; the message says why and is safe to show a client.

    ``fingerprint`` is set when the text parsed before it was refused, and empty
    (by :func:`check_query`) when it never parsed.
    """

    reason: RejectionReason

    def __init__(self, message: str, *, reason: RejectionReason) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.fingerprint: str | None = None


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the guard, with what logs, the cache and the executor need.

    ``reads_clock`` is true when the answer depends on when it runs (``now()``,
    ``CURRENT_DATE``, ``'today'::date``...): such answers are never cached.
    """

    sql: str
    relations: frozenset[str]
    fingerprint: str
    reads_clock: bool = False


def check_query(sql: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> CheckedQuery:
    """Return ``sql`` as a checked read of the retail tables, or raise QueryRejected.

    ``CheckedQuery.sql`` is exactly the text that was parsed and must be what runs.
    A refusal's ``fingerprint`` is empty when the text never parsed, so that nothing
    downstream (telemetry, the audit) tries to parse it again.
    """
    try:
        return _check_text(_prepare(sql, max_length))
    except QueryRejected as rejected:
        if rejected.fingerprint is None:
            rejected.fingerprint = ""
        raise


# The verdict depends on the text alone, so an accepted text is not parsed twice by
# one process (assistants rerun their queries; a parse is about half a millisecond
# for a twelve-line report). Refusals raise and are never cached.
@functools.lru_cache(maxsize=1024)
def _check_text(text: str) -> CheckedQuery:
    try:
        statement = _parse_single_select(text)
        checker = _TreeChecker()
        relations = checker.check(statement)
    except QueryRejected as rejected:
        if rejected.reason not in UNPARSED:
            rejected.fingerprint = _fingerprint(text)
        raise
    return CheckedQuery(
        sql=text,
        relations=relations,
        fingerprint=fingerprint(text),
        reads_clock=checker.reads_clock,
    )


def _fingerprint(text: str) -> str | None:
    try:
        return fingerprint(text)
    except ParseError:
        return None


def _prepare(sql: object, max_length: int) -> str:
    """Strip the text and refuse what the parser should never see."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRejected("The query is empty.", reason=RejectionReason.EMPTY)
    text = sql.strip()
    if len(text) > max_length:
        raise QueryRejected(
            f"The query is too long ({len(text)} characters; the limit is {max_length}).",
            reason=RejectionReason.TOO_LONG,
        )
    # The C parser stops at a NUL, so it would check less than the server is sent.
    if "\x00" in text:
        raise QueryRejected(
            "The query contains a NUL character.", reason=RejectionReason.SYNTAX_ERROR
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryRejected(
            "The query is not valid Unicode text.", reason=RejectionReason.SYNTAX_ERROR
        ) from None
    return text


def _parse_to_json(text: str) -> str:
    """Parse to JSON first: PostgreSQL checks its own stack depth on this path."""
    try:
        return parse_sql_json(text)
    except ParseError as error:
        raise _parse_failure(error) from None


def _parse_single_select(text: str) -> ast.SelectStmt:
    """Parse ``text`` and return its only statement, which must be a SELECT."""
    tree_json = _parse_to_json(text)
    # pglast builds Python nodes recursively in C, and a deep enough tree crashes the
    # process; so measure the depth on the JSON text before building anything.
    if _json_nesting(tree_json) > MAX_NESTING:
        raise _too_complex()
    statements = parse_sql(text)
    if not statements:
        raise QueryRejected("The query contains no SQL statement.", reason=RejectionReason.EMPTY)
    if len(statements) > 1:
        raise QueryRejected(
            "Only one statement is allowed.", reason=RejectionReason.MULTIPLE_STATEMENTS
        )
    statement = statements[0].stmt
    if not isinstance(statement, ast.SelectStmt):
        raise QueryRejected(
            "Only read-only SELECT queries are allowed.", reason=RejectionReason.NOT_SELECT
        )
    return statement


def _parse_failure(error: ParseError) -> QueryRejected:
    """Turn a parser error into a short rejection that does not replay the query."""
    message = str(error.args[0]) if error.args else "syntax error"
    if message.startswith(("stack depth limit exceeded", "memory exhausted")):
        return _too_complex()
    # "... at or near "<token>"": an unterminated string makes the token the whole
    # rest of the query, so keep only its start.
    message = re.sub(
        r'at or near "(.*)"$', lambda m: f'at or near "{_shorten(m.group(1), 32)}"', message
    )
    location = error.args[1] if len(error.args) > 1 else None
    where = f" (character {location + 1})" if isinstance(location, int) else ""
    return QueryRejected(
        f"Syntax error: {_shorten(message, 160)}{where}.", reason=RejectionReason.SYNTAX_ERROR
    )


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_nesting(tree_json: str) -> int:
    """Deepest bracket nesting of a JSON text, found without building it."""
    brackets = _JSON_BRACKET.findall(_JSON_STRING.sub("", tree_json))
    return max(accumulate((1 if b in "[{" else -1 for b in brackets), initial=0))


class _TreeChecker:
    """Walks a SELECT's whole tree iteratively, checking every node it meets.

    The walk is generic (every attribute of every node) so that no clause is
    skipped; a few node kinds get a closer look. It carries the names of the CTEs in
    scope, because an unqualified name may be a CTE rather than a table. On the way it
    notes whether the query reads the clock (``reads_clock``).
    """

    def __init__(self) -> None:
        self._relations: set[str] = set()
        self._nodes = 0
        self.reads_clock = False

    def check(self, root: ast.SelectStmt) -> frozenset[str]:
        """Check the tree under ``root``; return the retail tables it reads."""
        stack: list[tuple[object, _CteScope]] = [(root, frozenset())]
        while stack:
            value, ctes = stack.pop()
            if isinstance(value, tuple):
                stack.extend((item, ctes) for item in reversed(value))
            elif isinstance(value, ast.Node):
                stack.extend(reversed(self._visit(value, ctes)))
        return frozenset(self._relations)

    def _visit(self, node: ast.Node, ctes: _CteScope) -> list[tuple[object, _CteScope]]:
        """Check one node; return its children, each with the CTE names it sees."""
        self._count_node()
        kind = type(node)
        if kind in XML_NODES:
            raise _disallowed_function("XML functions are not allowed in queries.")
        if kind not in ALLOWED_NODES:
            raise QueryRejected(
                f"This kind of expression ({kind.__name__}) is not allowed in queries.",
                reason=RejectionReason.DISALLOWED_SYNTAX,
            )
        if isinstance(node, ast.SelectStmt):
            return self._visit_select(node, ctes)
        if isinstance(node, ast.RangeVar):
            self._check_relation(node, ctes)
        elif isinstance(node, ast.FuncCall):
            _check_function(node)
            if _names(node.funcname)[-1] in CLOCK_FUNCTIONS:
                self.reads_clock = True
        elif isinstance(node, ast.SQLValueFunction):
            _check_sql_value_function(node)
            self.reads_clock = True  # every one allowed is a date or time keyword
        elif isinstance(node, ast.String):
            if (node.sval or "").strip().lower() in CLOCK_STRINGS:
                self.reads_clock = True
        elif isinstance(node, ast.TypeName):
            _check_type(node)
        elif isinstance(node, ast.A_Expr):
            _check_operator(node.name)
        elif isinstance(node, ast.SubLink):
            _check_operator(node.operName)
        elif isinstance(node, ast.SortBy):
            _check_operator(node.useOp)
        elif isinstance(node, ast.RangeTableSample):
            _check_tablesample(node)
        return [(getattr(node, attr), ctes) for attr in node]

    def _visit_select(
        self, node: ast.SelectStmt, ctes: _CteScope
    ) -> list[tuple[object, _CteScope]]:
        """Check a SELECT's own clauses and scope the CTEs its WITH defines."""
        if node.intoClause is not None:
            raise QueryRejected(
                "SELECT INTO is not allowed; it creates a table.",
                reason=RejectionReason.SELECT_INTO,
            )
        if node.lockingClause:
            raise QueryRejected(
                "Locking clauses (FOR UPDATE, FOR SHARE...) are not allowed.",
                reason=RejectionReason.LOCKING_CLAUSE,
            )
        with_clause = node.withClause
        if with_clause is None:
            return [(getattr(node, attr), ctes) for attr in node]
        self._count_node()  # the WithClause, whose items are scoped here, not walked
        cte_list: tuple[ast.CommonTableExpr, ...] = with_clause.ctes or ()
        for cte in cte_list:
            if not isinstance(cte.ctequery, ast.SelectStmt):
                raise QueryRejected(
                    "Data-modifying statements in WITH are not allowed.",
                    reason=RejectionReason.DATA_MODIFYING_CTE,
                )
        names = [cte.ctename or "" for cte in cte_list]
        # A plain WITH item sees only the items before it (not itself); a name it
        # cannot see resolves to a real table, so scoping must be exact. Every item
        # of a WITH RECURSIVE sees them all. The statement's body sees all of them.
        children: list[tuple[object, _CteScope]] = [
            (cte, ctes | frozenset(names if with_clause.recursive else names[:index]))
            for index, cte in enumerate(cte_list)
        ]
        body_scope = ctes | frozenset(names)
        children.extend((getattr(node, attr), body_scope) for attr in node if attr != "withClause")
        return children

    def _check_relation(self, node: ast.RangeVar, ctes: _CteScope) -> None:
        """Allow CTE references and the retail tables, bare or retail-qualified."""
        schema, name = node.schemaname, node.relname
        if node.catalogname is None and schema is None and name in ctes:
            return
        if node.catalogname is None and schema in (None, RETAIL_SCHEMA) and name in ALLOWED_TABLES:
            self._relations.add(f"{RETAIL_SCHEMA}.{name}")
            return
        shown = ".".join(part for part in (node.catalogname, schema, name) if part)
        raise QueryRejected(
            f"Table {_shorten(shown)} is not allowed in queries; the tables that can be"
            f" read are {', '.join(sorted(ALLOWED_TABLES))} (schema retail).",
            reason=RejectionReason.DISALLOWED_RELATION,
        )

    def _count_node(self) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _too_complex()


def _check_function(node: ast.FuncCall) -> None:
    """Allow listed functions, bare or in the one schema they belong to."""
    names = _names(node.funcname)
    if len(names) == 1:
        allowed = names[0] in _BARE_FUNCTIONS
    elif len(names) == 2:
        schema, name = names
        allowed = (schema == CATALOG_SCHEMA and name in BUILTIN_FUNCTIONS) or (
            schema == RETAIL_SCHEMA and name in RETAIL_FUNCTIONS
        )
    else:
        allowed = False
    if not allowed:
        raise _disallowed_function(
            f"Function {_shorten('.'.join(names))} is not allowed in queries."
        )


def _check_sql_value_function(node: ast.SQLValueFunction) -> None:
    """Allow CURRENT_DATE and the like; refuse the user, role and schema keywords."""
    if node.op not in ALLOWED_SQL_VALUE_FUNCTIONS:
        keyword = SQLValueFunctionOp(node.op or 0).name.removeprefix("SVFOP_").lower()
        raise _disallowed_function(f"Function {keyword} is not allowed in queries.")


def _check_type(node: ast.TypeName) -> None:
    """Allow the ordinary scalar types; refuse reg*, pg_* and anything unlisted."""
    names = _names(node.names)
    if len(names) == 1:
        allowed = names[0] in _BARE_TYPES
    else:
        allowed = len(names) == 2 and names[0] == CATALOG_SCHEMA and names[1] in BUILTIN_TYPES
    if not allowed or node.pct_type or node.setof:
        raise QueryRejected(
            f"Type {_shorten('.'.join(names))} is not allowed in queries.",
            reason=RejectionReason.DISALLOWED_TYPE,
        )


def _check_operator(name: Iterable[ast.Node] | None) -> None:
    """Refuse OPERATOR(schema.op) outside pg_catalog; bare operators are built in."""
    names = _names(name)
    if len(names) > 1 and names[0] != CATALOG_SCHEMA:
        raise _disallowed_function(
            f"Operator {_shorten('.'.join(names))} is not allowed in queries; use it unqualified."
        )


def _check_tablesample(node: ast.RangeTableSample) -> None:
    """Allow the two built-in TABLESAMPLE methods."""
    names = _names(node.method)
    method = names[-1] if names else ""
    if names[:-1] not in ([], [CATALOG_SCHEMA]) or method not in TABLESAMPLE_METHODS:
        raise _disallowed_function(
            f"Table sampling method {_shorten('.'.join(names))} is not allowed;"
            " use SYSTEM or BERNOULLI."
        )


def _names(parts: Iterable[ast.Node] | None) -> list[str]:
    """The parts of a qualified name; a part that is not a String matches nothing."""
    return [part.sval or "" if isinstance(part, ast.String) else "?" for part in parts or ()]


def _shorten(text: str, limit: int = _MAX_ECHO) -> str:
    """Cut user-supplied text before it goes into a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _disallowed_function(message: str) -> QueryRejected:
    return QueryRejected(message, reason=RejectionReason.DISALLOWED_FUNCTION)


def _too_complex() -> QueryRejected:
    return QueryRejected(
        "The query is too complex (nested too deeply or too large).",
        reason=RejectionReason.TOO_COMPLEX,
    )
