"""Gateway hardening (issue 9): the HMAC key is bound only at markers the renderer placed,
Postgres literals survive `standard_conforming_strings=off`, unkeyed `hash` is refused unless
allowed, engine errors carry no data, the allow-list is the one in docs/enforcement.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from conftest import col, decision
from sqlglot import exp

import policyengine
from policyengine.catalog.consumers import Consumer
from policyengine.enforce import allowlist
from policyengine.enforce.gateway import (
    EngineError,
    Gateway,
    RejectedStatement,
    UnkeyedHash,
    rewrite_query,
)
from policyengine.enforce.sql import RenderError, escape_pyformat, render
from policyengine.language import ast

MESH = "examples/mesh"
KEY = b"s3cret-hmac-key"


@pytest.fixture(scope="module")
def engine():
    return policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")


def _psycopg_substitute(sql: str, params: dict) -> str:
    """What psycopg's client-side %-substitution makes of the text (the values quoted as text)."""
    return sql % {name: "'" + value.decode() + "'" for name, value in params.items()}


@pytest.mark.parametrize("attribute", ["%(pe_hash_key)s", "x%%(pe_hash_key)s", "%(pe_hash_key)s'--"])
def test_an_attribute_literal_never_becomes_a_key_marker(attribute: str) -> None:
    flt = ast.Compare("==", ast.ColumnRef("region"), ast.Literal(attribute))
    d = decision([col("name", "mask", "hash"), col("region")], flt)
    rendered = render(d, "t", "postgres", hash_key=KEY)
    substituted = _psycopg_substitute(rendered.sql, dict(rendered.params))
    assert substituted.count(KEY.decode()) == 1  # the one marker placed for the one keyed column
    where = sqlglot.parse_one(substituted, read="postgres").args["where"]
    assert [lit.this for lit in where.find_all(exp.Literal) if lit.is_string] == [attribute]


def test_the_gateway_binds_the_key_only_at_its_markers(engine) -> None:
    bob = Consumer("bob", frozenset({"sales-reps"}), {"region": "%(pe_hash_key)s"})
    r = rewrite_query("SELECT customer_name, region FROM sales.orders WHERE status <> '%(pe_hash_key)s'", bob, engine,
                      dialect="postgres", hash_key=KEY)
    substituted = _psycopg_substitute(r.sql, dict(r.params))
    # the hashed columns the enforced subquery selects (only those the query names, see _columns_used)
    keyed_columns = sum(1 for name, cd in r.decisions["sales.orders"].columns.items()
                        if cd.strategy == "hash" and f'AS "{name}"' in r.sql)
    assert substituted.count(KEY.decode()) == keyed_columns >= 1
    assert substituted.count("'%(pe_hash_key)s'") == 2  # the attribute and the user's literal stay literals


def test_markers_not_placed_by_the_renderer_are_refused() -> None:
    d = decision([col("name", "mask", "hash")])
    rendered = render(d, "t", "postgres", hash_key=KEY)
    with pytest.raises(RenderError, match="refusing to bind"):  # the text of a marker, said to be none
        from policyengine.enforce.sql import enforced_select

        select = enforced_select(d, "t", "postgres", keyed=True)
        escape_pyformat(select.sql(dialect="postgres"), "postgres", dict(rendered.params), placed=0)


def test_postgres_literals_do_not_depend_on_standard_conforming_strings() -> None:
    value = "x\\' OR 1=1 --"
    d = decision([col("id"), col("region")], ast.Compare("==", ast.ColumnRef("region"), ast.Literal(value)))
    sql = render(d, "t", "postgres", hash_key=None).sql
    assert "E'x\\\\'' OR 1=1 --'" in sql  # backslash doubled inside E'': one value under either setting


def test_user_literals_with_a_backslash_are_escape_strings_on_postgres(engine) -> None:
    # read as DuckDB (no backslash escapes) the literal is `a\`; on Postgres it must stay that
    sql = rewrite_query("SELECT order_id FROM sales.orders WHERE status = 'a\\' OR 1=1 --'", "bob", engine,
                        dialect="postgres", read="duckdb", hash_key=None, allow_unkeyed_hash=True).sql
    assert sql.endswith("WHERE status = E'a\\\\' OR 1 = 1")


def test_unkeyed_hash_is_refused_unless_allowed(engine) -> None:
    gateway = Gateway(engine, hash_key=None)
    with pytest.raises(UnkeyedHash, match="customer_name.*no HMAC key"):
        gateway.query("SELECT order_id FROM sales.orders", "bob")
    assert gateway.query("SELECT lead_id FROM marketing.leads", "bob").num_rows > 0  # no hash mask: runs
    allowed = Gateway(engine, hash_key=None, allow_unkeyed_hash=True)
    assert allowed.query("SELECT order_id FROM sales.orders", "bob").num_rows > 0
    keyed = Gateway(engine, hash_key=KEY)
    assert keyed.query("SELECT customer_name FROM sales.orders", "bob").num_rows > 0
    with pytest.raises(UnkeyedHash):
        rewrite_query("SELECT order_id FROM sales.orders", "bob", engine, dialect="postgres", hash_key=None)


def test_allow_unkeyed_hash_in_the_config(tmp_path: Path) -> None:
    from policyengine.config import load_config
    from policyengine.yamlsource import YamlError

    (tmp_path / "policyengine.yaml").write_text("allow_unkeyed_hash: true\n")
    assert load_config(tmp_path / "policyengine.yaml").allow_unkeyed_hash is True
    (tmp_path / "policyengine.yaml").write_text("allow_unkeyed_hash: 'yes'\n")
    with pytest.raises(YamlError, match="allow_unkeyed_hash"):
        load_config(tmp_path / "policyengine.yaml")


@pytest.mark.parametrize("sql", [
    "SELECT CAST(customer_email AS INTEGER) AS x FROM sales.orders",
    "SELECT order_id FROM sales.orders WHERE CAST(card_number AS DATE) IS NULL",
    "SELECT CAST(region AS INTEGER) FROM sales.orders",
])
def test_engine_errors_carry_no_value(engine, sql: str) -> None:
    gateway = Gateway(engine, hash_key=KEY)
    with pytest.raises(EngineError) as caught:
        gateway.query(sql, "bob")
    message = str(caught.value)
    assert "ConversionException" in message
    assert "'" not in message and "***" not in message and "Could not" not in message
    position = int(re.search(r"character (\d+)", message).group(1))
    rewritten = gateway.rewrite(sql, "bob").sql
    assert rewritten[position - 1:].startswith("CAST(")


def test_gateway_names_are_reserved(engine) -> None:
    with pytest.raises(RejectedStatement, match="reserved"):
        rewrite_query('SELECT 1 AS "__PE_src_x" FROM sales.orders', "bob", engine, hash_key=KEY)


def test_the_enforced_subquery_is_fenced_and_uses_a_generated_alias(engine) -> None:
    for dialect in ("duckdb", "postgres"):
        text = rewrite_query("SELECT order_id FROM sales.orders", "bob", engine, dialect=dialect,
                             hash_key=None, allow_unkeyed_hash=True).sql
        assert "OFFSET 0" in text and '"pe_src"' not in text and "__pe_src_" in text


def test_the_allow_list_is_the_one_documented() -> None:
    doc = Path("docs/enforcement.md").read_text(encoding="utf-8")
    begin, end = "<!-- allowlist:begin -->\n", "\n<!-- allowlist:end -->"
    assert begin in doc and end in doc, "docs/enforcement.md lacks the generated allow-list section"
    documented = doc.split(begin, 1)[1].split(end, 1)[0]
    assert documented == allowlist.markdown(), "regenerate: python -m policyengine.enforce.allowlist"


def test_every_listed_anonymous_name_is_anonymous_in_its_dialect() -> None:
    """A name sqlglot starts to model moves to FUNCTIONS (else it would be refused silently)."""
    for dialect, names in allowlist.ANONYMOUS.items():
        for name in names:
            kinds = set()
            for args in ("a", "a, b", "a, b, c"):
                try:
                    kinds.add(type(sqlglot.parse_one(f"SELECT {name}({args}) FROM t", read=dialect).expressions[0]))
                except sqlglot.errors.ParseError:
                    continue
            assert kinds == {exp.Anonymous}, (dialect, name, kinds)


@pytest.mark.parametrize("sql", [
    "SELECT region, count(*), sum(amount), avg(amount), min(amount), max(amount) FROM sales.orders GROUP BY region",
    "SELECT upper(status), lower(currency), length(card_number), trim(status), concat(status, '-') FROM sales.orders",
    "SELECT date_trunc('month', created_at), extract(year FROM shipped_on), round(amount, 1) FROM sales.orders",
    "SELECT row_number() OVER (ORDER BY amount), rank() OVER (PARTITION BY status ORDER BY amount) FROM sales.orders",
    "SELECT CASE WHEN amount > 10 THEN 'big' END, CAST(amount AS INTEGER), coalesce(status, '?') FROM sales.orders",
    "SELECT order_id FROM sales.orders WHERE status LIKE 'ship%' AND currency IN ('GBP', 'EUR')",
])
def test_what_analysts_use_is_allowed(engine, sql: str) -> None:
    assert Gateway(engine, hash_key=KEY).query(sql, "bob").num_rows > 0
