"""Run a product's folded form (policyengine/native/fold.py) in DuckDB for one consumer and compare
its cells with `policyengine.enforce()` of that consumer's own decision: the check the rendered
targets' golden tests and the property test share. The consumer's class is given as a literal
(each target computes it with its own lookup)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlglot import exp

from policyengine.enforce.arrow import enforce
from policyengine.enforce.sql_keys import hash_parameters
from policyengine.native.fold import ProductFold, column_case, row_case

KEY = b"native-fold-test-key"


def _key(value: object) -> str:
    return repr(value)


def folded_rows(fold: ProductFold, table: pa.Table, consumer: str, *, keyed: bool = True,
                dialect_sql: str = "duckdb") -> tuple[list[str], list[tuple]]:
    """The folded SELECT for `consumer` (its class as a literal; NULL when it has none) on `table`."""
    cls = fold.class_of(consumer)
    class_expr: exp.Expression = exp.Literal.string(cls) if cls else exp.cast(exp.Null(), "VARCHAR")
    types = {c.name: c.logical_type for c in fold.columns if c.logical_type}
    projections = [exp.alias_(column_case(c, exp.column(c.name, table="t", quoted=True), class_expr, "duckdb",
                                          keyed=keyed, types=types), c.name, quoted=True)
                   for c in fold.columns]
    select = exp.select(*projections).from_(exp.to_table("pe_t").as_("t")).where(
        row_case(fold, class_expr, table="t", types=types))
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("pe_t", table)
    sql = select.sql("duckdb")
    result = con.execute(sql, hash_parameters(KEY, "duckdb") if keyed and "$pe_hmac" in sql else None)
    names = [d[0] for d in result.description]
    return names, [tuple(r) for r in result.fetchall()]


def assert_cells_equal(fold: ProductFold, table: pa.Table, engine, consumer: str, at) -> None:  # noqa: ANN001
    """The folded form's cells for `consumer` are enforce()'s (readable columns), its denied
    columns NULL in every row, and no row at all for a consumer outside every class."""
    names, rows = folded_rows(fold, table, consumer)
    cls = fold.class_of(consumer)
    if cls is None:
        assert rows == [], f"{consumer} on {fold.product}: no class yet rows came back"
        return
    decision = engine.evaluate(consumer, fold.product, at=at, use_cache=False)
    expected = enforce(table, decision, hash_key=KEY).to_pylist()
    readable = list(decision.readable_columns)
    got = [dict(zip(names, r, strict=True)) for r in rows]
    for row in got:
        for name in decision.denied_columns:
            assert row[name] is None, f"{consumer} on {fold.product}: denied {name} has a value"
    want = sorted(tuple(_key(r[c]) for c in readable) for r in expected)
    have = sorted(tuple(_key(r[c]) for c in readable) for r in got)
    assert have == want, f"{consumer} on {fold.product}: cells differ"
