"""The rewrite cache never hands one consumer's or one policy revision's rewrite to another: the
same query text, alternated between consumers and between a policy and its reloaded revision,
always gets the rewrite a cold cache would give. And the gateway's one-pass execution returns
what DuckDB's relation API returns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import policyengine
from policyengine.enforce.gateway import REWRITE_CACHE, Gateway, rewrite_query, run_arrow

MESH = "examples/mesh"
TEXT = "SELECT customer_email, region, amount FROM sales.orders ORDER BY order_id"


def _load(policies: Path | str):
    return policyengine.load([str(policies)], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")


@pytest.fixture(scope="module")
def revisions(tmp_path_factory):
    """The example policies and a revision of them (as a reload would load): bob's row filter
    keeps the other regions instead of his own."""
    root = tmp_path_factory.mktemp("policies")
    before, after = root / "before", root / "after"
    shutil.copytree("policies", before)
    shutil.copytree("policies", after)
    sales = after / "sales.policy"
    text = sales.read_text("utf-8")
    assert "rows where region == consumer.region" in text
    sales.write_text(text.replace("rows where region == consumer.region", "rows where region != consumer.region"),
                     "utf-8")
    return _load(before), _load(after)


def _cold(sql: str, who: str, engine) -> str:
    REWRITE_CACHE.clear()
    return rewrite_query(sql, who, engine, allow_unkeyed_hash=True).sql


def test_a_reloaded_policy_never_gets_the_previous_revisions_rewrite(revisions) -> None:
    old, new = revisions
    expected = {id(old): _cold(TEXT, "bob", old), id(new): _cold(TEXT, "bob", new)}
    assert expected[id(old)] != expected[id(new)]
    REWRITE_CACHE.clear()
    for engine in (old, new, old, new, new, old):  # each after the first from the cache
        assert rewrite_query(TEXT, "bob", engine, allow_unkeyed_hash=True).sql == expected[id(engine)]
    old_rows = Gateway(old, allow_unkeyed_hash=True).query(TEXT, "bob").to_pylist()
    new_rows = Gateway(new, allow_unkeyed_hash=True).query(TEXT, "bob").to_pylist()
    assert old_rows and {r["region"] for r in old_rows} == {"uk"}
    assert new_rows and "uk" not in {r["region"] for r in new_rows}


def test_consumers_never_get_each_others_rewrite(revisions) -> None:
    engine = revisions[0]
    who = ("bob", "carol", "dave", "erin")
    known = [w for w in who if engine.consumers.get(w) is not None]
    assert len(known) >= 2
    expected = {}
    for w in known:
        try:
            expected[w] = _cold(TEXT, w, engine)
        except Exception as exc:  # a refusal must be a refusal from the cache too
            expected[w] = type(exc)
    REWRITE_CACHE.clear()
    for _ in range(2):
        for w in known:
            try:
                got = rewrite_query(TEXT, w, engine, allow_unkeyed_hash=True).sql
            except Exception as exc:
                got = type(exc)
            assert got == expected[w], w


@pytest.mark.parametrize("sql", [
    "SELECT * FROM sales.orders ORDER BY order_id",
    "SELECT region, count(*) AS n, avg(amount) AS a FROM sales.orders GROUP BY region ORDER BY region",
    "SELECT 1 AS one WHERE false",
])
def test_one_pass_execution_equals_the_relation_api(sql: str) -> None:
    gateway = Gateway(_load("policies"), hash_key=b"k")
    rewritten = gateway.rewrite(sql, "bob")
    cursor = gateway.cursor()
    try:
        relation = cursor.sql(rewritten.sql, params=dict(rewritten.params) or None).to_arrow_table()
        assert run_arrow(cursor, rewritten.sql, dict(rewritten.params) or None).equals(relation)
    finally:
        cursor.close()
