"""Injection attempts through consumer attribute values, column names and product/source names.

Every value reaches SQL as a sqlglot-quoted literal or identifier: the rendered SQL parses back
to exactly one SELECT, and the hostile text comes back as data, never as SQL.
"""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from policyengine.catalog.contracts import Column, Product
from policyengine.enforce import DIALECTS, RenderError, enforce, to_sql
from policyengine.enforce.gateway import Gateway, UnknownSource, rewrite_query
from policyengine.language import ast
from tests.enforce.conftest import col, decision

HOSTILE = [
    "x' OR '1'='1",
    "x'; DROP TABLE t; --",
    "x\\'; SELECT 1; --",
    'x" OR "1"="1',
    "x`; DROP TABLE t; --",
    "$pe_hmac_ipad",
    "line\nbreak' --",
    "unicode ’ quote",
]
HOSTILE_COLUMNS = ['we"ird col', "it's", "a`b", "x'); DROP TABLE t; --", "sp ace", "$1", "select"]


@pytest.mark.parametrize("value", HOSTILE)
def test_attribute_values_are_literals(value: str) -> None:
    flt = ast.Compare("==", ast.ColumnRef("region"), ast.Literal(value))
    d = decision([col("id"), col("region")], flt)
    table = pa.table({"id": [1, 2], "region": [value, "eu"]})
    assert enforce(table, d, hash_key=None).to_pylist() == [{"id": 1, "region": value}]
    for dialect in DIALECTS:
        sql = to_sql(d, "t", dialect, hash_key=None)
        statements = sqlglot.parse(sql, read=dialect)
        assert len(statements) == 1 and isinstance(statements[0], exp.Select), (dialect, sql)
        # Postgres renders a value with a backslash as E'…' (read back by sqlglot as a ByteString)
        literals = [lit.this for lit in statements[0].find_all(exp.Literal, exp.ByteString)
                    if not isinstance(lit, exp.Literal) or lit.is_string]
        assert literals == [value], (dialect, sql)
        if dialect == "postgres" and "\\" in value:
            assert "E'" in sql  # the same value whatever standard_conforming_strings is


def test_list_attribute_values_are_literals() -> None:
    flt = ast.Compare("in", ast.ColumnRef("region"), ast.ListExpr(tuple(ast.Literal(v) for v in HOSTILE)))
    table = pa.table({"region": HOSTILE + ["eu"]})
    out = enforce(table, decision([col("region")], flt), hash_key=None)
    assert out.column("region").to_pylist() == HOSTILE


@pytest.mark.parametrize("name", HOSTILE_COLUMNS)
def test_column_names_with_quotes_and_spaces(name: str) -> None:
    flt = ast.Compare("!=", ast.ColumnRef(name), ast.Literal("drop"))
    d = decision([col(name, "mask", "last4"), col("other " + name, "deny")], flt)
    table = pa.table({name: ["4111111111111111", "drop"], "other " + name: ["s", "t"]})
    assert enforce(table, d, hash_key=None).to_pylist() == [{name: "************1111"}]
    for dialect in DIALECTS:
        sql = to_sql(d, "t", dialect, hash_key=None)
        tree = sqlglot.parse_one(sql, read=dialect)
        assert isinstance(tree, exp.Select)
        assert [s.alias_or_name for s in tree.expressions] == [name], (dialect, sql)


@pytest.mark.parametrize("source", ["t; DROP TABLE x", "t WHERE 1=1", "read_csv('/etc/passwd')", "(SELECT 1)", "a.b.c.d"])
def test_source_names_must_be_plain_tables(source: str) -> None:
    with pytest.raises(RenderError):
        to_sql(decision([col("id")]), source, hash_key=None)


def test_source_parts_are_quoted_identifiers() -> None:
    sql = to_sql(decision([col("id")]), ["cat", 'we"ird; DROP', "t"], "duckdb", hash_key=None)
    tree = sqlglot.parse_one(sql, read="duckdb")
    table = tree.find(exp.Table)
    assert table is not None and table.db == 'we"ird; DROP' and table.catalog == "cat"


class _FakeEngine:
    """An engine stand-in with one product and hand-built decisions (independent of the evaluator)."""

    def __init__(self, product: Product, decisions: dict) -> None:
        self.catalog = SimpleNamespace(products={product.name: product})
        self.decisions = decisions

    def evaluate(self, consumer, product, columns=None, purpose=None, at=None):
        return self.decisions[consumer]


def test_hostile_attribute_through_the_gateway(tmp_path) -> None:
    path = tmp_path / "orders.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [1, 2, 3], "region": ["eu", "uk", HOSTILE[0]]}), path)
    from policyengine.catalog.contracts import SampleSource

    product = Product("sales.orders", "sales", (Column("id", "integer"), Column("region", "string")),
                      samples=(SampleSource(path, "parquet"),))
    flt = ast.Compare("==", ast.ColumnRef("region"), ast.Literal(HOSTILE[0]))
    engine = _FakeEngine(product, {"mallory": decision([col("id"), col("region")], flt)})
    gateway = Gateway(engine, hash_key=None)
    assert gateway.query("SELECT id FROM sales.orders", "mallory").to_pylist() == [{"id": 3}]
    for sql in ['SELECT id FROM "sales"."orders; DROP TABLE x"', 'SELECT id FROM sales."orders""; --"']:
        with pytest.raises(UnknownSource):
            rewrite_query(sql, "mallory", engine)
