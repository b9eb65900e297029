"""The reference gateway over the example mesh: rewrite, masked predicates, SELECT *, joins,
denied-column errors, statement-type rejections, and the `policyengine query` command."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

import policyengine
from policyengine.catalog.consumers import Consumer
from policyengine.enforce.gateway import (
    DeniedColumn,
    Gateway,
    GatewayError,
    RejectedStatement,
    UnknownSource,
    rewrite,
    rewrite_query,
)

MESH = "examples/mesh"


@pytest.fixture(scope="module")
def engine():
    return policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")


@pytest.fixture(scope="module")
def gateway(engine):
    return Gateway(engine, hash_key=None, allow_unkeyed_hash=True)


def test_masked_output_and_row_filter(gateway) -> None:
    rows = gateway.query("SELECT customer_email, card_number, region FROM sales.orders", "bob").to_pylist()
    assert rows
    assert all(r["customer_email"].startswith("***@") for r in rows)
    assert all(set(r["card_number"][:-4]) <= {"*"} for r in rows)
    assert {r["region"] for r in rows} == {"uk"}  # reps-see-their-region


def test_missing_attribute_sees_no_rows(gateway) -> None:
    assert gateway.query("SELECT order_id FROM sales.orders", "judy").num_rows == 0


def test_select_star_expands_to_readable_columns_only(gateway, engine) -> None:
    result = gateway.query("SELECT * FROM sales.orders LIMIT 1", "bob")
    decision = engine.evaluate("bob", "sales.orders")
    assert tuple(result.column_names) == decision.readable_columns
    assert "margin" not in result.column_names


@pytest.mark.parametrize("sql", [
    "SELECT margin FROM sales.orders",
    "SELECT o.margin FROM sales.orders AS o",
    "SELECT order_id FROM sales.orders WHERE margin > 0",
    "SELECT count(*) FROM sales.orders GROUP BY MARGIN",
    "SELECT order_id FROM sales.orders ORDER BY margin",
    "SELECT x FROM (SELECT margin AS x FROM sales.orders) AS s",
])
def test_denied_column_names_column_and_rule(gateway, sql: str) -> None:
    with pytest.raises(DeniedColumn) as info:
        gateway.query(sql, "bob")
    assert info.value.column.lower() == "margin"
    assert info.value.rule == "margin-for-leads-and-finance"
    assert "margin-for-leads-and-finance" in str(info.value) and "sales.policy" in str(info.value)


def test_predicates_see_masked_values_only(gateway) -> None:
    raw = pq.read_table(f"{MESH}/samples/sales.orders.parquet").to_pylist()
    bob_email = next(r["customer_email"] for r in raw if r["region"] == "uk")
    probe = f"SELECT count(*) AS n FROM sales.orders WHERE customer_email = '{bob_email}'"
    assert gateway.query(probe, "bob").to_pylist() == [{"n": 0}]
    first = gateway.query("SELECT DISTINCT substr(card_number, 1, 1) AS c FROM sales.orders", "bob")
    assert first.column("c").to_pylist() == ["*"]
    grouped = gateway.query("SELECT customer_email, count(*) AS n FROM sales.orders "
                            "GROUP BY customer_email ORDER BY customer_email", "bob").to_pylist()
    assert all(g["customer_email"].startswith("***@") for g in grouped)
    like = gateway.query("SELECT count(*) AS n FROM sales.orders WHERE customer_email LIKE 'a%'", "bob")
    assert like.to_pylist() == [{"n": 0}]


def test_join_of_two_products_with_different_decisions(gateway) -> None:
    rows = gateway.query(
        "SELECT o.order_id, o.customer_email, c.email, c.full_name, c.phone FROM sales.orders o "
        "JOIN sales.customers c ON o.customer_email = c.email", "bob").to_pylist()
    assert rows
    for r in rows:  # the join condition compares masked values on both sides
        assert r["customer_email"] == r["email"] and r["email"].startswith("***@")
        assert len(r["full_name"]) == 64  # hashed


def test_join_decisions_differ_per_product_and_consumer(gateway, engine) -> None:
    sql = ("SELECT o.order_id, o.margin, c.loyalty_tier FROM sales.orders o "
           "JOIN sales.customers c ON o.customer_id = c.customer_id")
    carol = gateway.query(sql, "carol")
    assert carol.num_rows > 0 and carol.column("margin").null_count < carol.num_rows
    with pytest.raises(DeniedColumn, match="margin"):
        gateway.query(sql, "bob")
    decisions = rewrite_query(sql, "carol", engine, hash_key=None, allow_unkeyed_hash=True).decisions
    assert set(decisions) == {"sales.orders", "sales.customers"}
    assert decisions["sales.customers"].columns["email"].effect == "mask"


def test_purpose_changes_the_mask(gateway) -> None:
    amounts = gateway.query("SELECT amount FROM sales.orders", "alice", purpose="forecasting").column("amount")
    assert len(amounts) > 0 and all(float(a).is_integer() for a in amounts.to_pylist() if a is not None)
    exact = gateway.query("SELECT amount FROM sales.orders", "alice", purpose="reporting").column("amount")
    assert any(not float(a).is_integer() for a in exact.to_pylist() if a is not None)


def test_cte_and_qualified_names(gateway) -> None:
    rows = gateway.query("WITH x AS (SELECT customer_email FROM sales.orders) SELECT * FROM x LIMIT 3", "bob")
    assert all(v.startswith("***@") for v in rows.column("customer_email").to_pylist())
    assert gateway.query("SELECT sales.orders.amount FROM sales.orders LIMIT 1", "bob").num_rows == 1


@pytest.mark.parametrize("sql", [
    "DROP TABLE pe_raw.\"sales.orders\"",
    "INSERT INTO sales.orders VALUES (1)",
    "UPDATE sales.orders SET amount = 0",
    "DELETE FROM sales.orders",
    "CREATE TABLE t AS SELECT 1",
    "COPY sales.orders TO '/tmp/x.csv'",
    "ATTACH '/tmp/x.db' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "SELECT 1; DROP TABLE t",
    "SELECT * INTO t2 FROM sales.orders",
    "WITH x AS (DELETE FROM sales.orders RETURNING *) SELECT * FROM x",
    "SELECT getenv('HOME')",
    "SELECT current_setting('threads')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT getvariable('x')",
    "/* a /* b */ SELECT 1",
])
def test_non_select_statements_rejected(gateway, sql: str) -> None:
    with pytest.raises(RejectedStatement):
        gateway.query(sql, "bob")


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('examples/mesh/samples/sales.orders.parquet')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM pe_raw.\"sales.orders\"",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM range(10)",
    "SELECT * FROM memory.sales.orders",
    "SELECT * FROM orders",
    "SELECT * FROM sales.nope",
    # a CTE name is visible only in its own scope: elsewhere the engine would read a real table
    "SELECT * FROM (WITH duckdb_columns AS (SELECT 1 AS x) SELECT * FROM duckdb_columns) a, duckdb_columns b",
    "SELECT * FROM (WITH sqlite_master AS (SELECT 1 AS x) SELECT * FROM sqlite_master) a, sqlite_master b",
    "WITH a AS (SELECT * FROM duckdb_tables), duckdb_tables AS (SELECT 1 AS x) SELECT * FROM a",
])
def test_only_registered_products_are_readable(gateway, sql: str) -> None:
    with pytest.raises((UnknownSource, RejectedStatement)):
        gateway.query(sql, "bob")


def test_the_runner_itself_has_no_external_access(gateway) -> None:
    with pytest.raises(Exception, match="(?i)external|disabled|permission"):
        gateway.con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(Exception, match="(?i)lock|configuration"):
        gateway.con.execute("SET enable_external_access = true")


def test_no_readable_column_is_a_clear_error(gateway) -> None:
    with pytest.raises(GatewayError, match="may read no column of hr.payroll"):
        gateway.query("SELECT * FROM hr.payroll", "bob")


@pytest.mark.parametrize("dialect", ["trino", "spark", "snowflake", "bigquery", "postgres"])
def test_rewrite_for_other_dialects(engine, dialect: str) -> None:
    sql = rewrite("SELECT customer_email FROM sales.orders WHERE amount > 10", Consumer("bob", frozenset({"sales-reps"}),
                  {"region": "uk"}), engine, dialect=dialect, hash_key=None, allow_unkeyed_hash=True)
    assert "orders" in sql and "'uk'" in sql and "margin" not in sql
    import sqlglot

    assert len(sqlglot.parse(sql, read=dialect)) == 1


def test_rewrite_with_source_map_and_params(engine) -> None:
    out = rewrite_query("SELECT customer_name FROM sales.orders", "bob", engine, dialect="trino",
                        sources={"sales.orders": ["hive", "sales", "orders_v2"]}, hash_key=b"secret")
    assert '"hive"."sales"."orders_v2"' in out.sql and "secret" not in out.sql
    assert out.params == {"pe_hash_key": b"secret"}


def test_query_command(monkeypatch) -> None:
    from policyengine.commands import query

    app = typer.Typer()
    query.register(app)
    app.command("noop")(lambda: None)  # more than one command keeps the sub-command name
    runner = CliRunner()
    sql = "SELECT customer_email, amount FROM sales.orders WHERE amount > 10 LIMIT 3"
    monkeypatch.delenv("POLICYENGINE_HASH_KEY", raising=False)
    unkeyed = runner.invoke(app, ["query", "--consumer", "bob", sql])
    assert unkeyed.exit_code == 1 and "no HMAC key" in unkeyed.output and "Traceback" not in unkeyed.output
    allowed = runner.invoke(app, ["query", "--consumer", "bob", "--allow-unkeyed-hash", sql])
    assert allowed.exit_code == 0 and "(3 rows)" in allowed.output, allowed.output
    monkeypatch.setenv("POLICYENGINE_HASH_KEY", "test-key")
    ok = runner.invoke(app, ["query", "--consumer", "bob", sql])
    assert ok.exit_code == 0, ok.output
    assert "***@" in ok.output and "(3 rows)" in ok.output
    denied = runner.invoke(app, ["query", "--consumer", "bob", "SELECT margin FROM sales.orders"])
    assert denied.exit_code == 1 and "margin-for-leads-and-finance" in denied.output
    shown = runner.invoke(app, ["query", "--consumer", "bob", "--show-sql", "SELECT * FROM sales.orders"])
    assert shown.exit_code == 0 and "REGEXP_EXTRACT" in shown.output


def test_recursive_and_shared_ctes_still_work(gateway) -> None:
    assert gateway.query("WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
                         "SELECT * FROM r", "bob").num_rows == 3
    both = gateway.query("WITH o AS (SELECT order_id FROM sales.orders) "
                         "SELECT count(*) AS n FROM o UNION ALL SELECT count(*) FROM o", "bob")
    assert both.num_rows == 2


@pytest.mark.parametrize("placeholder", ["$pe_hmac_ipad", "$pe_hash_key", "?", "$1", ":pe_hash_key"])
def test_user_placeholders_cannot_read_the_gateways_parameters(engine, placeholder: str) -> None:
    """The gateway binds the HMAC key as a parameter: a user's placeholder must never receive it."""
    keyed = Gateway(engine, hash_key=b"supersecret")
    with pytest.raises(RejectedStatement):
        keyed.query(f"SELECT {placeholder} AS k FROM sales.orders LIMIT 1", "bob")
    for dialect in ("trino", "postgres"):
        with pytest.raises(GatewayError):
            rewrite_query(f"SELECT {placeholder} AS k FROM sales.orders", "bob", engine,
                          dialect=dialect, read="duckdb", hash_key=b"supersecret")


def test_rewrite_cache_follows_the_decisions(engine) -> None:
    """A repeated query text reuses its rewrite only while every product's decision is the same."""
    sql = "SELECT customer_email, region FROM sales.orders"
    bob = rewrite_query(sql, "bob", engine, allow_unkeyed_hash=True)
    again = rewrite_query(sql, "bob", engine, allow_unkeyed_hash=True)
    assert again.sql == bob.sql
    carol = rewrite_query(sql, "carol", engine, allow_unkeyed_hash=True)  # another consumer: another row filter
    assert "'uk'" in bob.sql and "'uk'" not in carol.sql and "'us'" in carol.sql
    fresh = rewrite_query(sql, "bob", engine, hash_key=None, allow_unkeyed_hash=True)
    assert fresh.sql == bob.sql
    with pytest.raises(DeniedColumn):  # a denied column is refused on every call, cached or not
        rewrite_query("SELECT margin FROM sales.orders", "bob", engine, allow_unkeyed_hash=True)
    with pytest.raises(DeniedColumn):
        rewrite_query("SELECT margin FROM sales.orders", "bob", engine, allow_unkeyed_hash=True)
    assert "margin" in rewrite_query("SELECT margin FROM sales.orders", "carol", engine, allow_unkeyed_hash=True).sql


def test_trino_rewrite_with_a_hash_key_binds_positional_markers(engine) -> None:
    """Trino has only `?` markers: the rewrite hands back the key once per marker, in order."""
    sql = "SELECT o.customer_name, c.full_name FROM sales.orders o JOIN sales.customers c ON o.customer_id = c.customer_id"
    for _ in range(2):  # the second time from the rewrite cache
        r = rewrite_query(sql, "bob", engine, dialect="trino", read="duckdb", hash_key=b"k3y")
        assert r.sql.count("?") == len(r.positional) >= 2
        assert r.bind == r.positional and set(r.positional) == {b"k3y"}
        assert "k3y" not in r.sql


@pytest.mark.parametrize("dialect", ["duckdb", "trino", "spark", "snowflake", "bigquery", "postgres"])
def test_spliced_subqueries_give_valid_sql_in_every_dialect(engine, dialect: str) -> None:
    """Enforced subqueries are generated once per decision and put in place of the product
    references: the result must parse in its dialect, hold no placeholder, and equal a rewrite
    done with every cache empty."""
    import sqlglot

    from policyengine.enforce.gateway import _PLACEHOLDER, REWRITE_CACHE

    sql = ("SELECT o.order_id, c.email FROM sales.orders o JOIN sales.customers c "
           "ON o.customer_id = c.customer_id WHERE c.email LIKE '%__pe_enforced_%'")
    warm = rewrite_query(sql, "bob", engine, dialect=dialect, read="duckdb", allow_unkeyed_hash=True)
    REWRITE_CACHE.clear()
    cold = rewrite_query(sql, "bob", engine, dialect=dialect, read="duckdb", allow_unkeyed_hash=True)
    assert warm.sql == cold.sql and _PLACEHOLDER not in cold.sql
    tree = sqlglot.parse_one(cold.sql, read=dialect)
    assert len(list(tree.find_all(sqlglot.exp.Subquery))) == 2


def test_cte_names_resolve_the_same_in_the_engine(gateway, engine) -> None:
    """A name that matches a CTE only under Python's case folding (the Kelvin sign K lowers to k)
    or only case-insensitively (Postgres quoted names) must not reach a real table: every CTE and
    every reference resolved to it get one generated name."""
    kelvin = "WITH \"duc\u212adb_columns\" AS (SELECT 1 AS x) SELECT * FROM duckdb_columns"
    assert gateway.query(kelvin, "bob").column_names == ["x"]
    pg = rewrite_query('WITH "Orders" AS (SELECT 1 AS x) SELECT * FROM orders', "bob", engine, dialect="postgres", allow_unkeyed_hash=True)
    assert "FROM orders" not in pg.sql and "__pe_cte_" in pg.sql


@pytest.mark.parametrize("read, sql", [
    ("bigquery", "SELECT $pe_hmac_ipad AS i, customer_name FROM sales.orders"),
    ("mysql", "SELECT 1 FROM sales.orders"),
])
def test_reading_another_dialect_cannot_smuggle_parameters_or_tables(engine, read: str, sql: str) -> None:
    with pytest.raises((GatewayError, ValueError)):
        rewrite_query(sql, "bob", engine, dialect="duckdb", read=read, hash_key=b"secret")


def test_a_source_resolver_is_asked_on_every_call(engine) -> None:
    tenant = {"name": "acme"}
    resolve = lambda product: ["tenant_" + tenant["name"], product.split(".")[1]]  # noqa: E731
    sql = "SELECT order_id FROM sales.orders"
    assert '"tenant_acme"' in rewrite_query(sql, "bob", engine, sources=resolve, allow_unkeyed_hash=True).sql
    tenant["name"] = "globex"
    again = rewrite_query(sql, "bob", engine, sources=resolve, allow_unkeyed_hash=True).sql
    assert '"tenant_globex"' in again and "tenant_acme" not in again


def test_postgres_pyformat_substitution_cannot_reach_the_key(engine) -> None:
    """psycopg substitutes every %(name)s in the text, also inside a user's identifier or literal:
    with a key bound, the user's `%` are doubled; only the gateway's markers stay live."""
    sql = ('SELECT customer_name AS "%(pe_hash_key)s", customer_email FROM sales.orders '
           "WHERE customer_email LIKE '%@gmail.com'")
    r = rewrite_query(sql, "bob", engine, dialect="postgres", hash_key=b"secret-key-123")
    substituted = r.sql % {name: "<KEY>" for name in r.params}  # what psycopg's client side does
    outer = substituted.split(" FROM ", 1)[0]
    assert "<KEY>" not in outer and '"%(pe_hash_key)s"' in outer
    assert "LIKE '%@gmail.com'" in substituted and substituted.count("<KEY>") >= 1
