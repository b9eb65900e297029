"""Run the leak corpus (leak_attacks.py) against the DuckDB gateway of the example mesh as `bob`,
and through `rewrite_query` in every dialect: each attack is refused, or returns nothing hidden."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from leak_attacks import ATTACKS, Attack

import policyengine
from policyengine.enforce.gateway import Gateway, GatewayError, rewrite_query
from policyengine.enforce.sql import DIALECTS

MESH = "examples/mesh"
KEY = b"leak-corpus-key"


@pytest.fixture(scope="module")
def engine():
    return policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")


@pytest.fixture(scope="module")
def gateway(engine):
    return Gateway(engine, hash_key=KEY)


def _raw(product: Any) -> Any:
    sample = product.samples[0]
    reader = "read_parquet" if sample.format == "parquet" else "read_csv"
    return duckdb.sql(f"SELECT * FROM {reader}('{sample.path}')").to_arrow_table()


@pytest.fixture(scope="module")
def hidden(engine) -> frozenset[str]:
    """Texts bob must never see: raw text values of masked and denied columns (6+ characters with
    a digit, an `@` or a space: names, emails, phones, ids, not words like 'marketing') and the
    ids of rows his row filters hide (unless another product shows them to him)."""
    found: set[str] = set()
    hidden_ids: set[str] = set()
    shown_ids: set[str] = set()
    for name, product in engine.catalog.products.items():
        if not product.samples:
            continue
        raw = _raw(product)
        decision = engine.evaluate("bob", name)
        for column, cd in decision.columns.items():
            if cd.effect != "allow" and column in raw.column_names:
                found.update(v for v in raw.column(column).to_pylist() if _distinctive(v))
        if decision.error or not decision.readable_columns:
            continue
        visible = policyengine.enforce(raw, decision, hash_key=KEY)
        for column in raw.column_names:
            if column.endswith("_id") and column in visible.column_names:
                shown = {str(v) for v in visible.column(column).to_pylist()}
                shown_ids.update(shown)
                hidden_ids.update(str(v) for v in raw.column(column).to_pylist() if v is not None and str(v) not in shown)
    return frozenset(found | (hidden_ids - shown_ids))


def _distinctive(value: object) -> bool:
    return isinstance(value, str) and len(value) >= 6 and any(c.isdigit() or c in "@ " for c in value)


def _cells(table: Any) -> list[str]:
    return [str(v) for column in table.columns for v in column.to_pylist() if v is not None]


def _leaks(texts: list[str], hidden: frozenset[str]) -> list[str]:
    return sorted({h for t in texts for h in hidden if h in t})[:5]


def _id(attack: Attack) -> str:
    return f"{attack.klass}:{attack.sql[:60]}"


def test_the_corpus_knows_hidden_values(hidden) -> None:
    assert len(hidden) > 100  # the check below is not vacuous


@pytest.mark.parametrize("attack", ATTACKS, ids=_id)
def test_duckdb_gateway(attack: Attack, gateway, hidden) -> None:
    try:
        result = gateway.query(attack.sql, "bob")
    except GatewayError as exc:
        assert not _leaks([str(exc)], hidden), f"refusal message quotes hidden values: {exc}"
        return
    assert attack.expect == "safe", f"ran instead of being refused: {result.to_pylist()[:3]}"
    assert not any(isinstance(v, bytes) for c in result.columns for v in c.to_pylist())
    assert not _leaks(_cells(result), hidden), "hidden values came back"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.expect == "refuse"], ids=_id)
def test_rewrite_refuses(attack: Attack, dialect: str, engine) -> None:
    with pytest.raises(GatewayError) as caught:
        rewrite_query(attack.sql, "bob", engine, dialect=dialect, read=dialect, hash_key=None,
                      allow_unkeyed_hash=True)
    assert "Traceback" not in str(caught.value)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.expect == "safe"], ids=_id)
def test_rewrite_of_safe_attacks_fails_closed(attack: Attack, dialect: str, engine, hidden) -> None:
    """A query that may run is rewritten or refused with a GatewayError, never another error,
    and its SQL holds no hidden value (nothing raw is put in the text)."""
    try:
        text = rewrite_query(attack.sql, "bob", engine, dialect=dialect, read=dialect, hash_key=None,
                             allow_unkeyed_hash=True).sql
    except GatewayError:
        return
    assert not _leaks([text], hidden)


def test_schema_drift_cannot_bind_the_filter_to_a_user_relation(engine, hidden) -> None:
    """The physical table lacks the filter column: a user relation named like the source alias
    must not supply it (with the fixed alias `pe_src`, 300 rows instead of 53 came back)."""
    gateway = Gateway(engine, hash_key=KEY)
    visible = gateway.query("SELECT count(*) AS n FROM sales.orders", "bob").column("n")[0].as_py()
    gateway.con.execute('ALTER TABLE pe_raw."sales.orders" DROP COLUMN region')
    for alias in ("pe_src", '"pe_src"', "orders"):
        sql = f"SELECT count(*) AS n FROM (SELECT 'uk' AS region) AS {alias}, sales.orders"
        try:
            n = gateway.query(sql, "bob").column("n")[0].as_py()
        except GatewayError:
            continue
        assert n <= visible


def test_the_fence_keeps_user_predicates_off_hidden_rows(gateway) -> None:
    """A predicate that fails on any hidden row (region is 'uk' on every visible one) runs only
    above the row filter: the query succeeds with the visible rows."""
    sql = ("SELECT count(*) AS n FROM sales.orders WHERE CAST(CASE WHEN region <> 'uk' THEN region "
           "ELSE '1' END AS INTEGER) = 1")
    n = gateway.query(sql, "bob").column("n")[0].as_py()
    assert n == gateway.query("SELECT count(*) AS n FROM sales.orders", "bob").column("n")[0].as_py()
