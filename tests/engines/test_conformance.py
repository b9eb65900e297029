"""Cross-engine conformance: every decision's SQL returns, on real PostgreSQL and Spark (and on
DuckDB outside enforce()'s UTC connection), exactly what `policyengine.enforce()` returns — cell by
cell, in a UTC and in a New York session — and gateway rewrites of user queries return on each
engine what the DuckDB gateway returns.

Decisions: every consumer of the example mesh on every product (the policies in policies/), and
hand-made decisions covering every mask strategy on every column type it fits, with row filters
on strings, dates and time-zone timestamps. Seed data: tests/engines/seed.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

import policyengine
from policyengine import ColumnDecision, Decision, RuleRef
from policyengine.enforce import RenderError, render
from policyengine.enforce.arrow import render_type
from policyengine.enforce.gateway import rewrite_query
from policyengine.language import ast
from tests.engines.conftest import ZONES, differences, source_name

MESH = "examples/mesh"
KEY = b"conformance k3y \x00 with bytes"
RULE = RuleRef("conformance", "tests/engines.policy", 1, "mask")
CONSUMERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "kim", "judy")


@pytest.fixture(scope="module")
def mesh_engine() -> Any:
    return _load_mesh()


def _types(table: pa.Table) -> dict[str, str]:
    return {f.name: t for f in table.schema if (t := render_type(f.type))}


def _rows(result: pa.Table) -> tuple[list[str], list[tuple]]:
    return list(result.column_names), [tuple(r.values()) for r in result.to_pylist()]


def _check(engine, decision: Decision, table_name: str, table: pa.Table, zone: str, key: bytes | None) -> None:
    want_cols, want = _rows(policyengine.enforce(table, decision, hash_key=key, allow_unkeyed_hash=key is None))
    rendered = render(decision, table_name, engine.dialect, types=_types(table), hash_key=key,
                      allow_unkeyed_hash=key is None)
    cols, got = engine.run(rendered.sql, rendered.bind, zone)
    assert cols == want_cols
    diffs = differences(cols, got, want)
    assert not diffs, f"{engine.name} ({zone}) disagrees with enforce():\n  " + "\n  ".join(diffs) + \
        f"\nSQL: {rendered.sql}"


# ---------------------------------------------------------------- hand-made decisions: every strategy


def _mask(column: str, strategy: str, **args: Any) -> ColumnDecision:
    return ColumnDecision(column, "mask", strategy, dict(args), RULE, reason="conformance")


def _allow(column: str) -> ColumnDecision:
    return ColumnDecision(column, "allow", None, {}, RULE, reason="conformance")


def _decision(columns: list[ColumnDecision], row_filter: ast.Expr | None = None) -> Decision:
    return Decision("tests.awkward", "tester", {c.column: c for c in columns}, row_filter)


TEXT_COLUMNS = ("s", "i", "tsz", "tsny", "ts")
STRATEGY_CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("null", {}, ("s", "f", "tsz")),
    ("redact", {"text": "***"}, ("s", "i", "d")),
    ("redact", {"text": "n/a 'quoted' %s"}, ("s",)),
    ("hash", {}, ("s", "i", "f", "d", "ts", "tsz", "tsny", "b", "email")),
    ("last4", {}, TEXT_COLUMNS),
    ("first4", {}, TEXT_COLUMNS),
    ("partial", {"first": 1, "last": 2}, TEXT_COLUMNS),
    ("partial", {"first": 0, "last": 0}, ("s",)),
    ("email_domain", {}, ("email", "s")),
    ("year", {}, ("d", "ts", "tsz", "tsny")),
    ("round", {"digits": 0}, ("f", "i")),
    ("round", {"digits": 2}, ("f", "i")),
    ("round", {"digits": -2}, ("f", "i")),
    ("round", {"digits": 7}, ("f",)),
    ("mask_alphanum", {}, ("s", "email")),
    ("show_first4", {}, ("s", "email")),
    ("show_last4", {}, ("s", "email")),
    ("month", {}, ("d", "ts", "tsz", "tsny")),
    ("fixed_value", {}, ("s", "i", "f", "b", "d", "ts", "tsz", "tsny")),
]
MASK_CASES = [(s, a, c) for s, a, cols in STRATEGY_CASES for c in cols]


def _case_id(case: tuple[str, dict[str, Any], str]) -> str:
    s, a, c = case
    return f"{s}({','.join(f'{k}={v}' for k, v in a.items())})-{c}"


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("case", MASK_CASES, ids=[_case_id(c) for c in MASK_CASES])
def test_every_strategy_agrees(engine, seed_tables, case, zone) -> None:
    strategy, args, column = case
    decision = _decision([_allow("id"), _mask(column, strategy, **args)])
    _check(engine, decision, "pe_awkward", seed_tables["pe_awkward"], zone, None)


KEYED = [c for c in MASK_CASES if c[0] == "hash"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("case", KEYED, ids=[_case_id(c) for c in KEYED])
def test_keyed_hash_agrees_or_fails_closed(engine, seed_tables, case, zone) -> None:
    """HMAC-SHA-256 where the engine has it; where it has not, no SQL (Spark) or no result
    (Postgres without pgcrypto: the function is missing and the query fails)."""
    _, _, column = case
    decision = _decision([_allow("id"), _mask(column, "hash")])
    table = seed_tables["pe_awkward"]
    if engine.name == "spark":
        with pytest.raises(RenderError, match="keyed hash"):
            render(decision, "pe_awkward", "spark", types=_types(table), hash_key=KEY)
        return
    if engine.name == "postgres" and not engine.has_pgcrypto:
        rendered = render(decision, "pe_awkward", "postgres", types=_types(table), hash_key=KEY)
        with pytest.raises(engine.psycopg.errors.UndefinedFunction):
            engine.run(rendered.sql, rendered.bind, zone)
        return
    _check(engine, decision, "pe_awkward", table, zone, KEY)


def _col(name: str) -> ast.ColumnRef:
    return ast.ColumnRef(name)


def _lit(value: Any) -> ast.Literal:
    return ast.Literal(value)


FILTERS: dict[str, ast.Expr] = {
    "region": ast.Compare("==", _col("region"), _lit("uk")),
    "region-in": ast.Compare("in", _col("region"), ast.ListExpr((_lit("uk"), _lit("eu")))),
    "tz-date": ast.Compare(">=", _col("tsz"), _lit(dt.date(2025, 1, 1))),
    "tz-ny-date": ast.Compare("<", _col("tsny"), _lit(dt.date(2025, 1, 1))),
    "tz-instant": ast.Compare(">", _col("tsz"), _lit(dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC))),
    "naive-date": ast.Compare(">=", _col("ts"), _lit(dt.date(2024, 1, 1))),
    "date": ast.Compare("<", _col("d"), _lit(dt.date(1970, 1, 1))),
    "float": ast.Compare(">", _col("f"), _lit(2.675)),
    "contains": ast.Compare("contains", _col("email"), _lit("@")),
}


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("name", list(FILTERS))
def test_row_filters_agree(engine, seed_tables, name, zone) -> None:
    decision = _decision([_allow("id"), _mask("tsz", "year"), _mask("f", "round", digits=1)], FILTERS[name])
    _check(engine, decision, "pe_awkward", seed_tables["pe_awkward"], zone, None)


# ---------------------------------------------------------------- every decision of the example mesh


PRODUCTS = ("hr.employees", "hr.payroll", "marketing.campaign_events", "marketing.leads", "sales.customers",
            "sales.orders")


def _load_mesh() -> Any:
    return policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")


def _readable(readable: bool) -> list[tuple[str, str]]:
    """(consumer, product) pairs whose decision reads some column (or, with False, reads none)."""
    mesh = _load_mesh()
    pairs = [(c, p) for c in CONSUMERS for p in PRODUCTS]
    return [(c, p) for c, p in pairs
            if (not (d := mesh.evaluate(c, p)).error and bool(d.readable_columns)) == readable]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("consumer", "product"), _readable(True))
def test_mesh_decisions_agree(engine, seed_tables, mesh_engine, consumer, product, zone) -> None:
    decision = mesh_engine.evaluate(consumer, product)
    name = source_name(product)
    _check(engine, decision, name, seed_tables[name], zone, None)


@pytest.mark.parametrize(("consumer", "product"), _readable(False))
def test_mesh_decisions_without_access_render_nothing(engine, mesh_engine, consumer, product) -> None:
    """Fail closed on every engine's dialect: a decision that reads nothing has no SQL at all."""
    with pytest.raises(RenderError):
        render(mesh_engine.evaluate(consumer, product), source_name(product), engine.dialect, hash_key=None)


# ---------------------------------------------------------------- gateway rewrites


QUERIES: list[tuple[str, str]] = [
    ("bob", "SELECT customer_email, card_number, customer_name, amount, created_at FROM sales.orders"),
    ("bob", "SELECT region, count(*) AS n FROM sales.orders GROUP BY region"),
    ("bob", "SELECT order_id FROM sales.orders WHERE customer_email LIKE '%@b%' OR card_number LIKE '%1'"),
    ("bob", "SELECT birth_date, count(*) AS n FROM sales.customers GROUP BY birth_date HAVING count(*) >= 1"),
    ("bob", "SELECT * FROM sales.customers"),
    ("carol", "SELECT status, count(*) AS n, max(amount) AS top, min(margin) AS low FROM sales.orders "
              "GROUP BY status HAVING count(*) > 1"),
    ("carol", "SELECT o.order_id, c.email, c.birth_date, c.full_name FROM sales.orders AS o "
              "JOIN sales.customers AS c ON o.customer_id = c.customer_id"),
    ("carol", "SELECT order_id, row_number() OVER (PARTITION BY customer_email ORDER BY created_at, order_id) AS rn "
              "FROM sales.orders"),
    ("carol", "SELECT client_ip, count(*) OVER (PARTITION BY client_ip) AS n FROM sales.orders"),
    ("carol", "SELECT full_name FROM sales.customers WHERE birth_date >= DATE '1970-01-01'"),
    ("alice", "SELECT email, ip_address, clicked_at FROM marketing.campaign_events"),
    ("alice", "SELECT email, count(*) AS n FROM marketing.campaign_events GROUP BY email"),
    ("dave", "SELECT region, max(amount) AS top, count(DISTINCT created_at) AS n FROM sales.orders GROUP BY region"),
    ("erin", "SELECT * FROM hr.employees WHERE birth_date IS NOT NULL"),
    ("erin", "SELECT work_email, first_name, phone FROM hr.employees WHERE work_email LIKE '%@%'"),
    ("frank", "SELECT salary, bonus, pay_date FROM hr.payroll"),
]
SOURCES = {p: source_name(p) for p in PRODUCTS}


def _gateway_rows(engine_runner, mesh_engine, consumer: str, sql: str, dialect: str, zone: str,
                  types: dict[str, dict[str, str]]) -> tuple[list[str], list[tuple], str]:
    # unkeyed on purpose: the same plain SHA-256 on every engine (pgserver has no pgcrypto for HMAC)
    rewritten = rewrite_query(sql, consumer, mesh_engine, dialect=dialect, read="duckdb", sources=SOURCES,
                              hash_key=None, types=types, allow_unkeyed_hash=True)
    cols, rows = engine_runner.run(rewritten.sql, rewritten.bind, zone)
    return cols, rows, rewritten.sql


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("consumer", "sql"), QUERIES)
def test_gateway_rewrites_agree(engine, duckdb_engine, mesh_engine, seed_tables, consumer, sql, zone) -> None:
    # the physical tables' real types (timestamps with a zone as timestamptz), as a deployment passes them
    types = {p: _types(seed_tables[source_name(p)]) for p in SOURCES}
    want_cols, want, _ = _gateway_rows(duckdb_engine, mesh_engine, consumer, sql, "duckdb", "UTC", types)
    cols, got, text = _gateway_rows(engine, mesh_engine, consumer, sql, engine.dialect, zone, types)
    assert [c.lower() for c in cols] == [c.lower() for c in want_cols]
    diffs = differences(cols, got, want)
    assert not diffs, f"{engine.name} ({zone}) disagrees with the DuckDB gateway:\n  " + "\n  ".join(diffs) + \
        f"\nSQL: {text}"
