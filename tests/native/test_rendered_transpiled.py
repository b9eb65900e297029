"""Snowflake mask bodies and BigQuery row predicates run in DuckDB through sqlglot's transpiler,
where the transpiler is faithful, compared with enforce() (the reference). Neither engine runs
here: this checks the bodies' logic, not the engines.

Faithful here: every Snowflake mask except `year`, `month` (DuckDB's DATE_TRUNC of a DATE is a
TIMESTAMP, a transpiled timestamp loses its zone) and `round` (DuckDB and Snowflake round doubles
differently: 2.675 -> 2.67 vs the decimal text's 2.68), which are NOT checked on values; the
Snowflake text of a double (`hash` of a number) is refused there anyway (masks return the
column's type)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import duckdb
import pytest
import sqlglot
from sqlglot import exp

import policyengine
from policyengine.enforce.arrow import enforce, render_type
from policyengine.native import bigquery, compile_plan
from policyengine.native.compile import SNOWFLAKE, compile_table
from policyengine.native.fold import column_case, fold_plan
from tests.engines import seed
from tests.engines.conftest import all_tables
from tests.engines.test_conformance import MASK_CASES, _decision, _mask

NOT_FAITHFUL = frozenset({"year", "month", "round"})
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def awkward():
    table = all_tables()["pe_awkward"]
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("pe_awkward", table)
    return table, con


CASES = [c for c in MASK_CASES if c[0] not in NOT_FAITHFUL]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}-{len(c[1])}")
def test_snowflake_mask_bodies_transpiled_to_duckdb_equal_enforce(awkward, case) -> None:
    table, con = awkward
    strategy, args, column = case
    types = {f.name: t for f in table.schema if (t := render_type(f.type))}
    decision = _decision([_mask(column, strategy, **args)])
    compiled = compile_table(decision, SNOWFLAKE, {}, types)
    if not hasattr(compiled, "columns"):  # refused for Snowflake (hash without a key, text on a number)
        assert strategy == "hash" or types[column] != "string"
        return
    fold = fold_plan(SimpleNamespace(tables=(compiled,)))[0]
    body = column_case(fold.columns[0], exp.column("val"), exp.Literal.string(fold.class_of("tester")),
                       "snowflake", types=types).sql("snowflake")
    tree = sqlglot.parse_one(body, read="snowflake")
    for node in list(tree.find_all(exp.Column)):
        if node.name == "val":
            node.replace(exp.column(column, quoted=True))
    duck = sqlglot.transpile(tree.sql("snowflake"), read="snowflake", write="duckdb")[0]
    got = [r[0] for r in con.execute(f"SELECT {duck} FROM pe_awkward").fetchall()]
    want = enforce(table, decision).column(column).to_pylist()
    assert [repr(v) for v in got] == [repr(v) for v in want]


def test_bigquery_row_predicates_transpiled_to_duckdb_keep_enforce_rows() -> None:
    mesh = policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")
    plan = compile_plan(mesh, "bigquery", at=AT, keyed_hash=True)
    tables = seed.mesh_tables()
    checked = 0
    for fold in fold_plan(plan):
        con = duckdb.connect(":memory:")
        con.register("t", tables[fold.product])
        for statement in bigquery.row_policies(fold, bigquery.DEFAULTS):
            if not statement.body:
                continue
            cls = next(k for k in fold.classes if f"pe_{k.name}" in statement.name)
            duck = sqlglot.transpile(statement.body, read="bigquery", write="duckdb")[0]
            key = fold.columns[0].name
            got = sorted(repr(r[0]) for r in con.execute(f'SELECT "{key}" FROM t WHERE {duck}').fetchall())
            for consumer in cls.consumers:
                decision = mesh.evaluate(consumer, fold.product, at=AT, use_cache=False)
                want = sorted(repr(v) for v in enforce(tables[fold.product], decision).column(key).to_pylist())
                assert got == want, (consumer, fold.product)
                checked += 1
    assert checked >= 5
