"""Enforced subqueries select only the columns a query names (`_columns_used`): the same answer
as with every readable column, for every construct that reads columns without naming them
(stars, COLUMNS(), positional references, NATURAL joins, PIVOT, a table used as a row value)
and for names resolved across scopes; and never a column the query does not name otherwise."""

from __future__ import annotations

import pytest

import policyengine
from policyengine.enforce import gateway as gw
from policyengine.enforce.gateway import REWRITE_CACHE, Gateway

MESH = "examples/mesh"

QUERIES = [
    "SELECT customer_email, region, amount FROM sales.orders WHERE amount > 100 ORDER BY amount DESC LIMIT 3",
    "SELECT * FROM sales.orders ORDER BY order_id",
    "SELECT o.* FROM sales.orders o ORDER BY order_id",
    "SELECT * EXCLUDE (customer_email) FROM sales.orders ORDER BY order_id",
    "SELECT count(*) AS n FROM sales.orders",
    "SELECT 1 AS one FROM sales.orders LIMIT 2",
    "SELECT COLUMNS('cust.*') FROM sales.orders ORDER BY 1",
    "SELECT #1, #2 FROM sales.orders ORDER BY 1",
    "SELECT orders FROM sales.orders ORDER BY order_id",
    "SELECT to_json(o) AS j FROM sales.orders o ORDER BY o.order_id",
    "SELECT region FROM sales.orders NATURAL JOIN sales.customers ORDER BY 1",
    "SELECT o.order_id, full_name FROM sales.orders o JOIN sales.customers USING (customer_id) ORDER BY 1",
    # an unqualified name inside a subquery: resolved in the inner scope while the inner
    # product has it (region), else in the outer one; narrowing must not move it
    "SELECT order_id FROM sales.orders o WHERE EXISTS (SELECT 1 FROM sales.customers c "
    "WHERE c.customer_id = o.customer_id AND region = 'uk') ORDER BY 1",
    "SELECT order_id FROM sales.orders o WHERE EXISTS (SELECT 1 FROM sales.customers c "
    "WHERE c.customer_id = o.customer_id AND amount > 100) ORDER BY 1",
    "SELECT \"REGION\", Amount FROM sales.orders ORDER BY 2",
    "WITH x AS (SELECT * FROM sales.orders) SELECT region, count(*) AS n FROM x GROUP BY ALL ORDER BY ALL",
    "SELECT * FROM (PIVOT sales.orders ON region USING sum(amount)) ORDER BY ALL",
    "SELECT * FROM (UNPIVOT (SELECT order_id, region, currency FROM sales.orders) ON region, currency "
    "INTO NAME k VALUE v) ORDER BY ALL",
    "SELECT customer_name, client_ip FROM sales.orders ORDER BY order_id",
]


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    engine = policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")
    return Gateway(engine, hash_key=b"narrowing-key")


def _answer(gateway: Gateway, sql: str, who: str):
    try:
        return gateway.query(sql, who).to_pylist()
    except Exception as exc:  # a refusal must stay the same refusal
        return type(exc).__name__


@pytest.mark.parametrize("who", ["bob", "carol"])
@pytest.mark.parametrize("sql", QUERIES)
def test_narrowed_subqueries_give_the_same_answer(gateway, monkeypatch, sql: str, who: str) -> None:
    REWRITE_CACHE.clear()
    narrowed = _answer(gateway, sql, who)
    with monkeypatch.context() as patch:
        patch.setattr(gw, "_columns_used", lambda decision, table, spelled: None)
        REWRITE_CACHE.clear()
        whole = _answer(gateway, sql, who)
    REWRITE_CACHE.clear()
    assert narrowed == whole


def test_a_subquery_selects_only_named_columns(gateway) -> None:
    sql = QUERIES[0]
    text = gateway.rewrite(sql, "bob").sql
    assert 'AS "customer_email"' in text and 'AS "amount"' in text
    for hidden in ("customer_name", "client_ip", "card_number"):  # masked, not named: not computed
        assert hidden not in text
    assert not gateway.rewrite(sql, "bob").params  # no hashed column selected: the key is not bound
    keyed = gateway.rewrite("SELECT customer_name FROM sales.orders", "bob")
    assert set(keyed.params) == {"pe_hmac_ipad", "pe_hmac_opad"} and "client_ip" not in keyed.sql
    for star in ("SELECT * FROM sales.orders", "SELECT orders FROM sales.orders",
                 "SELECT count(*) FROM sales.orders o NATURAL JOIN sales.customers"):
        assert "client_ip" in gateway.rewrite(star, "bob").sql
