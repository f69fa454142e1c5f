"""Search quality: the embedding search path against a PostgreSQL full-text baseline.

For every query of ``bench/data/search_eval.json`` (78 shopper queries, each labelled
with the product types that answer it, written before any tuning), ranks the
catalogue twice in the same run and scores both rankings:

* **embedding**: the real search path, ``retail.services.product_search.search_products``
  (the query embedded by the configured provider, then
  ``retail.search_products_by_description`` through the HNSW index) inside a tenant
  context, threshold 0, top 10;
* **lexical**: PostgreSQL full-text search on the same text the model embeds,
  ``to_tsvector('english', product_name || '. ' || product_description)``, ranked by
  ``ts_rank_cd``, in three variants: ``and`` (``websearch_to_tsquery``: every query
  word must match), ``or`` (any query lexeme may match) and ``and>or`` (products
  matching every word first, then the rest of the OR matches). The table shows all
  three; ratios use the best of them by MRR.

A product is relevant when its product type is one of the query's relevant types.
Per query, with R the relevant products and T_k the top k results:

* recall@k = |R ∩ T_k| / min(k, |R|)   (1.0 = the top k is as relevant as it can be;
  every type has 7-10 products, so for k=5 this is also precision@5)
* hit@k    = 1 if R ∩ T_k is not empty, else 0
* MRR      = mean of 1 / rank of the first relevant result in the top 10 (0 if none)

Figures are means over queries, overall and per category (a query counts under the
category of its first relevant type). Also printed: wins/ties/losses on reciprocal
rank, a paired bootstrap 95% interval of the MRR difference, whether HNSW returned
the exact top 10, and the model's worst queries.

    .venv/bin/python bench/search_quality.py                # about 10 s
    .venv/bin/python bench/search_quality.py --worst 20

Writes ``var/bench/search_quality-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
EVAL_PATH = ROOT / "bench" / "data" / "search_eval.json"
OUT_DIR = ROOT / "var" / "bench"
SEATTLE_MANAGER = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
TOP_K = 10
KS = (5, 10)

# The text each product is embedded from (retail.services.product_embeddings.product_text).
_DOCS = """
WITH docs AS (
    SELECT p.product_id,
           to_tsvector('english', p.product_name || '. ' || p.product_description) AS doc
      FROM retail.products p
)"""
# Any lexeme of the query: the query's own lexemes, quoted, joined with |.
_OR_QUERY = r"""
(SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''', ' | ')
   FROM unnest(tsvector_to_array(to_tsvector('english', %(q)s))) AS lexeme)::tsquery"""
LEXICAL_SQL = {
    "and": _DOCS
    + """, q AS (SELECT websearch_to_tsquery('english', %(q)s) AS query)
SELECT docs.product_id FROM docs, q
 WHERE docs.doc @@ q.query
 ORDER BY ts_rank_cd(docs.doc, q.query) DESC, docs.product_id
 LIMIT %(k)s""",
    "or": _DOCS
    + f""", q AS (SELECT {_OR_QUERY} AS query)
SELECT docs.product_id FROM docs, q
 WHERE docs.doc @@ q.query
 ORDER BY ts_rank_cd(docs.doc, q.query) DESC, docs.product_id
 LIMIT %(k)s""",
    "and>or": _DOCS
    + f""", q AS (SELECT websearch_to_tsquery('english', %(q)s) AS strict, {_OR_QUERY} AS query)
SELECT docs.product_id FROM docs, q
 WHERE docs.doc @@ q.query
 ORDER BY docs.doc @@ q.strict DESC, ts_rank_cd(docs.doc, q.query) DESC, docs.product_id
 LIMIT %(k)s""",
}
LEXICAL_LABELS = {
    "and": "websearch_to_tsquery (all words)",
    "or": "OR of the query's lexemes",
    "and>or": "all-words matches first, then OR",
}
METRICS = ("recall@5", "recall@10", "hit@1", "hit@5", "hit@10", "mrr")


# --- Shared by the search benches --------------------------------------------------------


@dataclass(frozen=True)
class EvalQuery:
    query: str
    relevant_types: tuple[str, ...]


def load_eval(path: Path = EVAL_PATH) -> list[EvalQuery]:
    data = json.loads(path.read_text())
    return [EvalQuery(q["query"], tuple(q["relevant_types"])) for q in data["queries"]]


def setup_django(pool_max: int | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    if pool_max is not None:
        os.environ["ZAVA_DB_POOL_MAX"] = str(pool_max)
    import django

    django.setup()


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_report(name: str, when: str, report: dict[str, Any], output: Path | None) -> Path:
    from bench.mcp_vs_sql import git_revision

    path = output or OUT_DIR / f"{name}-{when}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {"bench": name, "started_at": when, "git": git_revision(), **report}
    path.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help shows the module docstring as written, and the options' defaults."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, "", False):
            return action.help
        return super()._get_help_string(action)


def fmt(value: float | None, width: int, digits: int = 3) -> str:
    return ("-" if value is None else f"{value:.{digits}f}").rjust(width)


# --- Scoring -----------------------------------------------------------------------------


def score(ranked: list[int], relevant: set[int]) -> dict[str, float]:
    """The metrics of one ranking (product ids, best first) against the relevant ids."""
    flags = [pid in relevant for pid in ranked[:TOP_K]]
    first = next((i for i, hit in enumerate(flags) if hit), None)
    result = {}
    for k in KS:
        result[f"recall@{k}"] = sum(flags[:k]) / min(k, len(relevant))
    for k in (1, 5, 10):
        result[f"hit@{k}"] = float(any(flags[:k]))
    result["mrr"] = 0.0 if first is None else 1.0 / (first + 1)
    return result


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: statistics.fmean(r[m] for r in rows) for m in METRICS} if rows else {}


def bootstrap_mrr_gap(a: list[float], b: list[float], rounds: int = 10_000, seed: int = 7):
    """Paired bootstrap 95% interval of mean(a) - mean(b) over queries."""
    import numpy as np

    diff = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diff), size=(rounds, len(diff)))
    means = diff[picks].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# --- Running -----------------------------------------------------------------------------


def catalogue() -> tuple[dict[int, tuple[str, str]], dict[str, set[int]]]:
    """product id -> (type, category), and type -> product ids, from the database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.product_id, t.type_name, c.category_name FROM retail.products p "
            "JOIN retail.product_types t ON t.type_id = p.type_id "
            "JOIN retail.categories c ON c.category_id = p.category_id"
        )
        rows = cursor.fetchall()
    info = {pid: (type_name, category) for pid, type_name, category in rows}
    by_type: dict[str, set[int]] = {}
    for pid, (type_name, _) in info.items():
        by_type.setdefault(type_name, set()).add(pid)
    return info, by_type


def exact_top(queries: list[str], k: int) -> list[list[int]]:
    """Exact cosine top k over the stored vectors (numpy), to check the HNSW answers."""
    import numpy as np
    from django.db import connection

    from retail.embeddings import get_provider

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, description_embedding::text "
            "FROM retail.product_description_embeddings ORDER BY product_id"
        )
        rows = cursor.fetchall()
    ids = np.array([pid for pid, _ in rows])
    matrix = np.array([json.loads(text) for _, text in rows], dtype=np.float32)
    vectors = get_provider().embed(queries)
    order = np.argsort(-(vectors @ matrix.T), axis=1, kind="stable")[:, :k]
    return [[int(ids[i]) for i in row] for row in order]


def run(evals: list[EvalQuery], manager: str) -> dict[str, Any]:
    from retail.embeddings import get_provider
    from retail.services.product_search import search_products
    from retail.tenancy import run_as_tenant, tenant_cursor

    info, by_type = catalogue()
    unknown = sorted({t for e in evals for t in e.relevant_types} - by_type.keys())
    if unknown:
        raise SystemExit(f"relevant types not in the catalogue: {unknown}")
    type_category = {type_name: category for type_name, category in info.values()}
    provider = get_provider()
    print(
        f"{len(evals)} queries, {len(info)} products; embedding: {provider.name} "
        f"{provider.model_name} ({provider.dimensions}d); lexical: {', '.join(LEXICAL_SQL)}"
    )

    def rank(query: str) -> tuple[dict[str, list[int]], list[float]]:
        """The embedding search's ranking and similarities, and each lexical one's."""
        result = search_products(query=query, max_rows=TOP_K, similarity_threshold=0.0)
        pid = result.columns.index("product_id")
        sp = result.columns.index("sp")
        rankings = {"embedding": [row[pid] for row in result.rows]}
        with tenant_cursor() as cursor:
            for variant, sql in LEXICAL_SQL.items():
                cursor.execute(sql, {"q": query, "k": TOP_K})
                rankings[variant] = [row[0] for row in cursor.fetchall()]
        return rankings, [row[sp] for row in result.rows]

    per_query = []
    started = time.perf_counter()
    for number, item in enumerate(evals, 1):
        relevant = set().union(*(by_type[t] for t in item.relevant_types))
        rankings, similarity = run_as_tenant(manager, lambda item=item: rank(item.query))
        per_query.append(
            {
                "query": item.query,
                "relevant_types": list(item.relevant_types),
                "category": type_category[item.relevant_types[0]],
                "relevant_products": len(relevant),
                "scores": {name: score(ids, relevant) for name, ids in rankings.items()},
                "returned": {name: len(ids) for name, ids in rankings.items()},
                "embedding_top": [
                    [pid, info[pid][0], s]
                    for pid, s in zip(rankings["embedding"], similarity, strict=True)
                ],
                "lexical_top": {
                    name: [[pid, info[pid][0]] for pid in ids]
                    for name, ids in rankings.items()
                    if name != "embedding"
                },
            }
        )
        if number % 20 == 0 or number == len(evals):
            print(f"  {number}/{len(evals)} queries ranked", flush=True)
    seconds = time.perf_counter() - started

    exact = exact_top([e.query for e in evals], TOP_K)
    same = sum(
        [pid for pid, _, _ in q["embedding_top"]] == top
        for q, top in zip(per_query, exact, strict=True)
    )
    same_set = sum(
        {pid for pid, _, _ in q["embedding_top"]} == set(top)
        for q, top in zip(per_query, exact, strict=True)
    )
    exact_scores = [
        score(top, set().union(*(by_type[t] for t in e.relevant_types)))
        for e, top in zip(evals, exact, strict=True)
    ]

    systems = ["embedding", *LEXICAL_SQL]
    overall = {s: mean_metrics([q["scores"][s] for q in per_query]) for s in systems}
    best_lexical = max(LEXICAL_SQL, key=lambda v: (overall[v]["mrr"], overall[v]["recall@10"]))
    categories = sorted({q["category"] for q in per_query})
    per_category = {
        cat: {
            "queries": sum(q["category"] == cat for q in per_query),
            **{
                s: mean_metrics([q["scores"][s] for q in per_query if q["category"] == cat])
                for s in systems
            },
        }
        for cat in categories
    }
    emb_rr = [q["scores"]["embedding"]["mrr"] for q in per_query]
    lex_rr = [q["scores"][best_lexical]["mrr"] for q in per_query]
    paired = {
        "wins": sum(a > b for a, b in zip(emb_rr, lex_rr, strict=True)),
        "ties": sum(a == b for a, b in zip(emb_rr, lex_rr, strict=True)),
        "losses": sum(a < b for a, b in zip(emb_rr, lex_rr, strict=True)),
        "mrr_gap_ci95": bootstrap_mrr_gap(emb_rr, lex_rr),
    }
    return {
        "model": {"provider": provider.name, "name": provider.model_name},
        "queries": len(evals),
        "products": len(info),
        "seconds": round(seconds, 2),
        "best_lexical": best_lexical,
        "overall": overall,
        "per_category": per_category,
        "paired_vs_best_lexical": paired,
        "hnsw_vs_exact": {
            "same_top10_order": same,
            "same_top10_set": same_set,
            "exact_overall": mean_metrics(exact_scores),
        },
        "per_query": per_query,
    }


# --- Reporting ---------------------------------------------------------------------------


def print_report(result: dict[str, Any], worst: int) -> None:
    overall, best = result["overall"], result["best_lexical"]
    variants = list(LEXICAL_SQL)
    print()
    print(
        f"Search quality on {result['queries']} labelled queries, {result['products']} products "
        f"(top {TOP_K}, threshold 0); embedding = {result['model']['name']}"
    )
    header = (
        f"{'metric':<10} | {'embedding':>9} | "
        + "".join(f"{'lex ' + v:>12}" for v in variants)
        + f" | {'emb/lex':>8} {'emb-lex':>8}"
    )
    print(header)
    print("-" * len(header))
    for metric in METRICS:
        emb, lex = overall["embedding"][metric], overall[best][metric]
        ratio = emb / lex if lex else None
        print(
            f"{metric:<10} | {fmt(emb, 9)} | "
            + "".join(fmt(overall[v][metric], 12) for v in variants)
            + f" | {fmt(ratio, 7, 2)}x {fmt(emb - lex, 8, 3)}"
        )
    print(
        f"  lexical baseline for the ratios: '{best}' ({LEXICAL_LABELS[best]}), "
        "the best lexical variant by MRR"
    )
    paired = result["paired_vs_best_lexical"]
    low, high = paired["mrr_gap_ci95"]
    print(
        f"  per query (reciprocal rank) embedding vs '{best}': {paired['wins']} wins, "
        f"{paired['ties']} ties, {paired['losses']} losses; "
        f"MRR gap 95% CI (paired bootstrap) [{low:+.3f}, {high:+.3f}]"
    )
    check = result["hnsw_vs_exact"]
    print(
        f"  HNSW vs exact cosine on the catalogue: same top-10 order for "
        f"{check['same_top10_order']}/{result['queries']} queries, same set for "
        f"{check['same_top10_set']}; exact-search MRR {check['exact_overall']['mrr']:.3f}"
    )

    print()
    print(f"Per category (R@10 / MRR): embedding vs lexical '{best}'")
    header = (
        f"{'category':<28}{'n':>3} | {'emb R@5':>8}{'R@10':>7}{'MRR':>7} | "
        f"{'lex R@5':>8}{'R@10':>7}{'MRR':>7} | {'MRR ratio':>9}"
    )
    print(header)
    print("-" * len(header))
    for cat, row in result["per_category"].items():
        emb, lex = row["embedding"], row[best]
        ratio = emb["mrr"] / lex["mrr"] if lex["mrr"] else None
        print(
            f"{cat:<28}{row['queries']:>3} | {fmt(emb['recall@5'], 8, 2)}"
            f"{fmt(emb['recall@10'], 7, 2)}{fmt(emb['mrr'], 7, 2)} | "
            f"{fmt(lex['recall@5'], 8, 2)}{fmt(lex['recall@10'], 7, 2)}{fmt(lex['mrr'], 7, 2)} | "
            f"{'inf' if ratio is None and emb['mrr'] else fmt(ratio, 8, 2)}x"
        )

    print()
    print(f"The embedding model's {worst} worst queries (by reciprocal rank, then recall@10)")
    ranked = sorted(
        result["per_query"],
        key=lambda q: (q["scores"]["embedding"]["mrr"], q["scores"]["embedding"]["recall@10"]),
    )
    for q in ranked[:worst]:
        emb = q["scores"]["embedding"]
        top = ", ".join(f"{t} ({s:.0f}%)" for _, t, s in q["embedding_top"][:3])
        print(
            f"  RR {emb['mrr']:.2f} R@10 {emb['recall@10']:.2f} (lex RR "
            f"{q['scores'][best]['mrr']:.2f})  {q['query']!r} -> want "
            f"{' / '.join(q['relevant_types'])}; got {top}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--eval", type=Path, default=EVAL_PATH, help="labelled queries (JSON)")
    parser.add_argument("--manager", default=SEATTLE_MANAGER, help="tenant context identity")
    parser.add_argument("--worst", type=int, default=10, help="worst queries to list")
    parser.add_argument("--output", type=Path, help="JSON file (default var/bench/...)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    when = stamp()
    setup_django()
    from retail.services.tokens import manager_resolve

    manager = manager_resolve(args.manager).pk
    result = run(load_eval(args.eval), manager)
    print_report(result, args.worst)
    write_report("search_quality", when, {"eval": str(args.eval), **result}, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
