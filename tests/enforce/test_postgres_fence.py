"""Measured on a real PostgreSQL (pgserver from PyPI, started and stopped here; skipped when it is
not installed): the gateway's `OFFSET 0` fence keeps a user predicate off hidden rows, and string
literals rendered for Postgres mean the same with `standard_conforming_strings` off."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
import sqlglot
from conftest import col, decision

from policyengine.enforce.sql import enforced_select, render
from policyengine.language import ast

pgserver = pytest.importorskip("pgserver")
psycopg = pytest.importorskip("psycopg")

# fails on every hidden row (region is 'uk' on every visible one), printing the hidden value
PROBE = "CAST(CASE WHEN s.region <> 'uk' THEN s.region ELSE 't' END AS regclass) IS NOT NULL"


@pytest.fixture(scope="module")
def pg() -> Iterator[object]:
    with tempfile.TemporaryDirectory() as folder:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        try:
            with psycopg.connect(server.get_uri(), autocommit=True) as con:
                con.execute("CREATE TABLE t AS SELECT i AS id, CASE WHEN i % 2 = 0 THEN 'uk' ELSE 'x' || i END "
                            "AS region FROM generate_series(1, 20000) i")
                con.execute("ANALYZE t")
                yield con
        finally:
            server.cleanup()


def _query(fence: bool) -> str:
    flt = ast.Compare("==", ast.ColumnRef("region"), ast.Literal("uk"))
    inner = enforced_select(decision([col("id"), col("region")], flt), "t", "postgres", alias="a", fence=fence)
    # a row filter the planner rates costlier than the user's predicate (a function call), so
    # that, flattened, the user's predicate is evaluated first
    inner.set("where", sqlglot.exp.Where(this=sqlglot.parse_one("UPPER(a.region) = 'UK'", read="postgres")))
    return f"SELECT count(*) FROM ({inner.sql(dialect='postgres')}) AS s WHERE {PROBE}"


def test_without_the_fence_the_probe_reaches_hidden_rows(pg) -> None:
    """The control: Postgres flattens the plain subquery and the error quotes a hidden value."""
    with pytest.raises(psycopg.Error, match='relation "x'):
        pg.execute(_query(fence=False)).fetchall()


def test_the_fence_holds(pg) -> None:
    assert pg.execute(_query(fence=True)).fetchall() == [(10000,)]
    plan = "\n".join(r[0] for r in pg.execute("EXPLAIN " + _query(fence=True)).fetchall())
    assert "Subquery Scan" in plan


@pytest.mark.parametrize("conforming", ["on", "off"])
@pytest.mark.parametrize("value", ["x\\' OR 1=1 --", "a\\", "\\\\'; SELECT 1; --"])
def test_literals_survive_standard_conforming_strings(pg, conforming: str, value: str) -> None:
    pg.execute(f"SET standard_conforming_strings = {conforming}")
    try:
        d = decision([col("region")], ast.Compare("!=", ast.ColumnRef("region"), ast.Literal(value)))
        pg.execute("DROP TABLE IF EXISTS src")
        pg.execute("CREATE TABLE src AS SELECT 'uk'::text AS region UNION ALL SELECT %s::text", (value,))
        rows = pg.execute(render(d, "src", "postgres", hash_key=None).sql).fetchall()
    finally:
        pg.execute("SET standard_conforming_strings = on")
    assert rows == [("uk",)]
