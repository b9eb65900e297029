"""Golden SQL per dialect for every strategy (tests/enforce/golden/<dialect>.sql).

Regenerate after an intended change with `POLICYENGINE_REGEN_GOLDEN=1 pytest tests/enforce`
and review the diff. Dialects without a function raise RenderError at render time (tested here).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policyengine import ast
from policyengine.enforce import DIALECTS, RenderError, to_sql
from policyengine.enforce.sql import render
from tests.enforce.conftest import col, decision

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("POLICYENGINE_REGEN_GOLDEN") == "1"

TYPES = {"when_date": "date", "when_ts": "timestamp", "amount": "number", "qty": "integer"}
CASES = {
    "null": col("v", "mask", "null"),
    "redact": col("v", "mask", "redact", text="***"),
    "redact_custom": col("v", "mask", "redact", text="it's hidden"),
    "hash": col("v", "mask", "hash"),
    "last4": col("v", "mask", "last4"),
    "first4": col("v", "mask", "first4"),
    "partial": col("v", "mask", "partial", first=2, last=3),
    "email_domain": col("v", "mask", "email_domain"),
    "year_date": col("when_date", "mask", "year"),
    "year_timestamp": col("when_ts", "mask", "year"),
    "round_number": col("amount", "mask", "round", digits=2),
    "round_integer": col("qty", "mask", "round", digits=-3),
}
FILTER = ast.And((
    ast.Compare("==", ast.ColumnRef("region"), ast.Literal("eu")),
    ast.Or((ast.Compare("in", ast.ColumnRef("status"), ast.ListExpr((ast.Literal("open"), ast.Literal("paid")))),
            ast.Not(ast.Compare("contains", ast.ColumnRef("note"), ast.Literal("vip"))))),
    ast.Compare(">=", ast.ColumnRef("since"), ast.Literal(__import__("datetime").date(2024, 1, 1))),
))


def _render_all(dialect: str) -> str:
    out = []
    for name, cd in CASES.items():
        d = decision([col("id"), cd, col("secret", "deny")])
        out.append(f"-- {name}\n{to_sql(d, 'sales.orders', dialect, types=TYPES, hash_key=None, pretty=True)};")
    keyed = decision([col("v", "mask", "hash")])
    try:
        out.append(f"-- hash_keyed\n{to_sql(keyed, 'sales.orders', dialect, hash_key=b'secret', pretty=True)};")
    except RenderError as exc:
        out.append(f"-- hash_keyed: RenderError: {exc}")
    out.append(f"-- row_filter\n{to_sql(decision([col('id')], FILTER), 'sales.orders', dialect, pretty=True)};")
    return "\n\n".join(out) + "\n"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_sql(dialect: str) -> None:
    path = GOLDEN / f"{dialect}.sql"
    text = _render_all(dialect)
    if REGEN or not path.exists():
        if not REGEN:
            pytest.fail(f"missing golden file {path}; run with POLICYENGINE_REGEN_GOLDEN=1")
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"SQL for {dialect} changed; regenerate and review"


@pytest.mark.parametrize("dialect", ["spark", "snowflake", "bigquery"])
def test_keyed_hash_fails_at_render_time_where_no_hmac(dialect: str) -> None:
    with pytest.raises(RenderError, match=f"HMAC.*{dialect}"):
        to_sql(decision([col("v", "mask", "hash")]), "t", dialect, hash_key=b"secret")


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "bigquery", "postgres"])
def test_year_without_type_is_a_render_error(dialect: str) -> None:
    with pytest.raises(RenderError, match="needs its type"):
        to_sql(decision([col("d", "mask", "year")]), "t", dialect, hash_key=None)


def test_unknown_dialect_is_an_error() -> None:
    with pytest.raises(RenderError, match="unsupported SQL dialect"):
        to_sql(decision([col("id")]), "t", "oracle")


def test_denied_columns_left_out_and_masked_keep_names() -> None:
    sql = to_sql(decision([col("id"), col("email", "mask", "email_domain"), col("ssn", "deny")]), "t", hash_key=None)
    assert '"ssn"' not in sql and 'AS "email"' in sql and sql.startswith('SELECT "id"')


def test_no_readable_column_fails_closed() -> None:
    with pytest.raises(RenderError, match="may read no column"):
        to_sql(decision([col("ssn", "deny")]), "t")


def test_error_decision_fails_closed() -> None:
    from dataclasses import replace

    with pytest.raises(RenderError, match="error"):
        to_sql(replace(decision([col("id")]), error="boom"), "t")


def test_keyed_params_per_dialect() -> None:
    d = decision([col("v", "mask", "hash")])
    assert set(render(d, "t", "duckdb", hash_key=b"k").params) == {"pe_hmac_ipad", "pe_hmac_opad"}
    assert render(d, "t", "trino", hash_key=b"k").params == {"pe_hash_key": b"k"}


def test_decision_to_sql_delegates() -> None:
    d = decision([col("id"), col("v", "mask", "last4")])
    assert d.to_sql("t", "spark", hash_key=None) == to_sql(d, "t", "spark", hash_key=None)
