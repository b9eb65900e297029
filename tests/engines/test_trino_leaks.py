"""The leak corpus through a real Trino: low-privilege `bob` (sales.orders: only region uk rows,
customer_email/customer_name/card_number/client_ip masked, margin denied) attacks with every
query class that applies to Trino. Nothing hidden may come back: no raw value of a masked or
denied column and no value only a hidden row holds, in rows, error messages or plans.

Two checks per query: (1) its result through Trino equals the same query run by DuckDB over what
`enforce()` gives bob (a query over the governed tables can only compute on what bob sees), or
Trino refuses it; (2) no secret appears in the rows, the error message or the plan text.
Attack classes from tests/enforce/leak_corpus: clauses (WHERE, GROUP BY, JOIN, ORDER BY,
windows), error order, aggregates over hidden rows, EXPLAIN, SHOW STATS, views and WITH,
prepared statements (EXECUTE ... USING), information_schema/system tables, identity games.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

import policyengine
from tests.engines import seed
from tests.engines.conftest import differences
from tests.engines.test_conformance import _load_mesh

pytestmark = pytest.mark.trino

USER = "bob"
PRODUCTS = ("sales.orders", "sales.customers", "marketing.leads")


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    """What bob sees (enforce()), DuckDB over it, and the secrets: every text of a masked or denied
    cell or of a hidden row that bob's own view does not also show (6 characters or more)."""
    mesh = _load_mesh()
    tables = seed.mesh_tables()
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    shown: set[str] = set()
    raw: set[str] = set()
    for product in PRODUCTS:
        view = policyengine.enforce(tables[product], mesh.evaluate(USER, product), hash_key=None,
                                   allow_unkeyed_hash=True)
        schema, table = product.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.register("v", view)
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM v")
        con.unregister("v")
        shown |= {_text(v) for row in view.to_pylist() for v in row.values()}
        raw |= {_text(v) for row in tables[product].to_pylist() for v in row.values()}
    con.execute("USE sales")
    secrets = {s for s in raw - shown if len(s) >= 6 and not any(s in t for t in shown)}
    assert len(secrets) > 50, "the seed must hold secrets, or these tests prove nothing"
    return {"duckdb": con, "secrets": secrets}


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _run(stack, sql: str, user: str = USER, params: Any = None) -> tuple[list[str] | None, list[tuple] | str]:
    """(columns, rows), or (None, "ERROR_NAME: message") when Trino refuses or fails."""
    import trino

    con = stack.connect(user, catalog="lakehouse", schema="sales")
    try:
        cur = con.cursor()
        cur.execute(sql, params) if params is not None else cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        return [d[0] for d in cur.description], rows
    except trino.exceptions.TrinoQueryError as exc:
        return None, f"{exc.error_name}: {exc.message}"
    finally:
        con.close()


def _leaked(secrets: set[str], text: str) -> list[str]:
    return sorted(s for s in secrets if s in text)[:5]


# Each query runs on Trino as bob and on DuckDB over bob's view; portable SQL.
AGREE = [
    # masked columns in every clause: computed on the masked value
    ("where", "SELECT order_id FROM orders WHERE customer_name = 'Emma Williams'"),
    ("where", "SELECT order_id FROM orders WHERE card_number LIKE '4%'"),
    ("where", "SELECT order_id, customer_email FROM orders WHERE customer_email LIKE '%gmail%'"),
    ("where", "SELECT order_id FROM orders WHERE length(client_ip) < 20"),
    ("group-by", "SELECT card_number, count(*) AS n FROM orders GROUP BY card_number"),
    ("group-by", "SELECT substr(customer_name, 1, 3) AS p, count(*) AS n FROM orders GROUP BY 1 HAVING count(*) > 0"),
    ("join", "SELECT o.order_id, c.email FROM orders o JOIN customers c ON o.customer_email = c.email"),
    ("join", "SELECT o.order_id, c.full_name FROM orders o JOIN customers c ON o.customer_name = c.full_name"),
    ("join", "SELECT o.order_id, l.lead_id FROM orders o JOIN marketing.leads l ON o.region = l.region"),
    ("join", "SELECT o.order_id FROM orders o LEFT JOIN customers c ON o.customer_id = c.customer_id "
             "WHERE c.customer_id IS NULL"),
    ("order-by", "SELECT order_id FROM orders ORDER BY customer_name, order_id LIMIT 3"),
    ("order-by", "SELECT order_id FROM orders ORDER BY card_number DESC, order_id LIMIT 1"),
    ("window", "SELECT order_id, row_number() OVER (PARTITION BY client_ip ORDER BY card_number, order_id) AS rn "
               "FROM orders"),
    ("window", "SELECT order_id, lag(customer_email) OVER (ORDER BY order_id) AS prev FROM orders"),
    ("window", "SELECT order_id, count(*) OVER (PARTITION BY customer_name) AS n FROM orders"),
    # aggregates over hidden rows: only bob's rows count
    ("aggregate", "SELECT count(*) AS n, sum(amount) AS s, max(amount) AS m, min(created_at) AS c FROM orders"),
    ("aggregate", "SELECT region, count(*) AS n FROM orders GROUP BY region"),
    ("aggregate", "SELECT count(DISTINCT customer_id) AS n FROM orders"),
    ("aggregate", "SELECT max(amount) FILTER (WHERE region = 'eu') AS m FROM orders"),
    ("aggregate", "SELECT (SELECT max(card_number) FROM orders) AS m"),
    ("aggregate", "SELECT count(*) AS n FROM customers WHERE region IS NULL OR region <> 'uk'"),
    # WITH, set operations, subqueries
    ("with", "WITH o AS (SELECT * FROM orders) SELECT customer_email, card_number FROM o WHERE amount > 1"),
    ("with", "WITH o AS (SELECT customer_id FROM orders) SELECT count(*) AS n FROM o JOIN customers c "
             "ON o.customer_id = c.customer_id"),
    ("set-op", "SELECT customer_id FROM orders EXCEPT SELECT customer_id FROM customers"),
    ("set-op", "SELECT customer_id FROM orders INTERSECT SELECT customer_id FROM customers"),
    ("subquery", "SELECT order_id FROM orders o WHERE EXISTS (SELECT 1 FROM customers c "
                 "WHERE c.customer_id = o.customer_id AND c.region = 'eu')"),
    ("error-order", "SELECT order_id FROM orders WHERE 1 / (CASE WHEN region = 'eu' THEN 0 ELSE 1 END) = 1"),
    ("error-order", "SELECT count(*) AS n FROM orders WHERE 1 / (CASE WHEN region <> 'uk' THEN 0 ELSE 1 END) = 1"),
    ("error-order", "SELECT count(*) AS n FROM customers WHERE 1 / (CASE WHEN region IS NULL THEN 0 ELSE 1 END) = 1"),
]


@pytest.mark.parametrize(("klass", "sql"), AGREE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(AGREE)])
def test_query_sees_only_bobs_view(trino_stack, seen, klass, sql) -> None:
    cols, got = _run(trino_stack, sql)
    assert cols is not None, f"Trino refused a query over bob's view: {got}"
    want = seen["duckdb"].sql(sql)
    want_rows = [tuple(r) for r in want.fetchall()]
    assert [c.lower() for c in cols] == [c.lower() for c in want.columns]
    diffs = differences(cols, got, want_rows)
    assert not diffs, "\n".join(diffs)
    assert not _leaked(seen["secrets"], repr(got))


# Queries that must be refused, or may run; either way nothing hidden in rows or error text.
REFUSE_OR_SAFE = [
    ("denied-column", "SELECT margin FROM orders"),
    ("denied-column", "SELECT order_id FROM orders WHERE margin > 10"),
    ("denied-column", "SELECT order_id FROM orders ORDER BY margin"),
    ("denied-column", "SELECT count(*) FROM orders GROUP BY margin"),
    ("denied-column", "SELECT max(margin) OVER () FROM orders"),
    ("denied-column", "SELECT o.order_id FROM orders o JOIN orders p ON o.margin = p.amount"),
    ("hidden-table", "SELECT * FROM hr.payroll"),
    ("hidden-table", "SELECT count(*) FROM hr.employees"),
    ("error-probe", "SELECT CAST(customer_email AS integer) FROM orders"),
    ("error-probe", "SELECT CAST(customer_id AS integer) FROM orders"),
    ("error-probe", "SELECT order_id FROM orders WHERE CAST(customer_id AS integer) = 1"),
    ("error-probe", "SELECT CAST(full_name AS integer) FROM customers"),
    ("error-probe", "SELECT order_id FROM orders WHERE CAST(CASE WHEN region <> 'uk' THEN customer_id ELSE '1' END "
                    "AS integer) = 1"),
    ("error-probe", "SELECT json_parse(customer_id) FROM orders"),
    ("error-probe", "SELECT from_iso8601_date(customer_email) FROM orders"),
    ("plan", "EXPLAIN SELECT * FROM orders"),
    ("plan", "EXPLAIN (TYPE DISTRIBUTED) SELECT * FROM orders WHERE customer_email = 'x'"),
    ("plan", "EXPLAIN ANALYZE SELECT count(*) FROM orders"),
    ("plan", "EXPLAIN ANALYZE VERBOSE SELECT customer_email FROM orders"),
    ("plan", "EXPLAIN (TYPE IO) SELECT * FROM orders"),
    ("statistics", "SHOW STATS FOR orders"),
    ("statistics", "SHOW STATS FOR (SELECT * FROM orders)"),
    ("statistics", "SHOW STATS FOR (SELECT customer_email, card_number FROM orders WHERE region = 'eu')"),
    ("statistics", "SELECT approx_distinct(customer_email) FROM orders"),
    ("view", "CREATE VIEW lakehouse.sales.v AS SELECT * FROM orders"),
    ("view", "CREATE TABLE lakehouse.sales.t AS SELECT * FROM orders"),
    ("write", "INSERT INTO orders SELECT * FROM orders"),
    ("write", "DELETE FROM orders WHERE region = 'eu'"),
    ("write", "ALTER TABLE orders DROP COLUMN margin"),
    ("show-create", "SHOW CREATE TABLE orders"),
    ("metadata", "SELECT * FROM lakehouse.information_schema.columns WHERE column_name = 'margin'"),
    ("metadata", "SELECT * FROM system.runtime.queries"),
    ("metadata", "SELECT * FROM system.metadata.table_comments"),
    ("metadata", "SELECT * FROM system.jdbc.columns WHERE table_cat = 'lakehouse'"),
    ("metadata", "SHOW FUNCTIONS"),
    ("metadata", "SHOW SESSION"),
    ("identity", "SELECT current_user, current_groups()"),
    ("identity", "SET SESSION AUTHORIZATION 'frank'"),
    ("identity", "SET ROLE admin"),
    ("identity", "SET SESSION query_max_run_time = '1h'"),
    ("identity", "GRANT SELECT ON orders TO USER bob"),
    ("functions", "SELECT * FROM TABLE(system.builtin.sequence(start => 1, stop => 2))"),
    ("functions", "CALL system.runtime.kill_query(query_id => '1', message => 'x')"),
]


@pytest.mark.parametrize(("klass", "sql"), REFUSE_OR_SAFE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(REFUSE_OR_SAFE)])
def test_nothing_hidden_comes_back(trino_stack, seen, klass, sql) -> None:
    cols, got = _run(trino_stack, sql)
    text = got if isinstance(got, str) else repr(got)
    leaked = _leaked(seen["secrets"], text)
    assert not leaked, f"{klass}: hidden values came back ({len(leaked)} shown): {text[:400]}"
    if klass in ("denied-column", "hidden-table", "view", "write", "show-create") or sql.startswith(("SET", "GRANT")):
        assert cols is None, f"{klass}: must be refused, ran: {text[:300]}"


# Prepared statements: the client sends PREPARE and EXECUTE ... USING (parameters bound by Trino).
PREPARED = [
    ("SELECT order_id FROM orders WHERE customer_name = ?", ["Emma Williams"]),
    ("SELECT order_id FROM orders WHERE customer_email LIKE ?", ["%gmail%"]),
    ("SELECT count(*) AS n FROM orders WHERE region = ?", ["eu"]),
    ("SELECT count(*) AS n FROM customers WHERE 1 / (CASE WHEN region IS NULL THEN ? ELSE 1 END) = 1", [0]),
    ("SELECT card_number, count(*) AS n FROM orders WHERE amount > ? GROUP BY card_number", [1.5]),
]


@pytest.mark.parametrize(("sql", "params"), PREPARED)
def test_prepared_statements_see_only_bobs_view(trino_stack, seen, sql, params) -> None:
    cols, got = _run(trino_stack, sql, params=params)
    assert cols is not None, f"Trino refused a query over bob's view: {got}"
    want = seen["duckdb"].execute(sql, params)
    want_rows = [tuple(r) for r in want.fetchall()]
    diffs = differences(cols, got, want_rows)
    assert not diffs, "\n".join(diffs)
    assert not _leaked(seen["secrets"], repr(got))


def test_prepared_denied_column_refused(trino_stack, seen) -> None:
    cols, got = _run(trino_stack, "SELECT order_id FROM orders WHERE margin > ?", params=[1.0])
    assert cols is None and got.startswith("PERMISSION_DENIED")
    assert not _leaked(seen["secrets"], got)


def test_another_users_query_text_is_not_visible(trino_stack, seen) -> None:
    """carol's query carries a literal; bob cannot list it (system.runtime.queries is hidden, and
    serve answers FilterViewQueryOwnedBy with one's own queries only)."""
    marker = "carol-secret-literal-7731"
    _run(trino_stack, f"SELECT order_id FROM orders WHERE customer_name = '{marker}'", user="carol")
    for sql in ("SELECT query FROM system.runtime.queries", "SELECT * FROM system.runtime.tasks"):
        cols, got = _run(trino_stack, sql)
        assert marker not in (got if isinstance(got, str) else repr(got))


@pytest.mark.xfail(strict=True, reason="Trino 476 prints the scan's input row count (hidden rows included) in "
                   "EXPLAIN ANALYZE and its estimates in EXPLAIN; the OPA plugin never sees the statement, so "
                   "serve cannot refuse it (docs/serve.md, 'What Trino still shows')")
@pytest.mark.parametrize("sql", ["EXPLAIN ANALYZE SELECT count(*) FROM orders", "EXPLAIN SELECT * FROM orders"])
def test_plans_do_not_count_hidden_rows(trino_stack, sql) -> None:
    total = seed.mesh_tables()["sales.orders"].num_rows
    cols, got = _run(trino_stack, sql)
    assert cols is not None
    plan = got[0][0]
    assert f"Input: {total} rows" not in plan and f"rows: {total} " not in plan
