"""The engine-neutral compiled form (policyengine/native/compile.py) and `render`: it is
`evaluate()`'s own decisions folded (never an engine's precedence), and what a target cannot
express is refused with the rule's file:line:col, never lowered."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policyengine
from policyengine.cli import app
from policyengine.native import TablePlan, compile_plan
from policyengine.native import postgres as pg

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def mesh():
    return policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")


def test_every_table_plan_is_the_decision_folded(mesh) -> None:
    plan = compile_plan(mesh, at=AT, keyed_hash=True)
    assert not plan.refusals
    seen = {(t.consumer, t.product) for t in plan.tables}
    for consumer in mesh.consumers:
        for product in mesh.catalog.products:
            d = mesh.evaluate(consumer, product, at=AT)
            if (consumer, product) not in seen:
                assert d.error or not d.readable_columns
                continue
            table = next(t for t in plan.tables if (t.consumer, t.product) == (consumer, product))
            assert [(c.name, c.effect, c.strategy, dict(c.args)) for c in table.columns] == [
                (n, cd.effect, cd.strategy, dict(cd.args)) for n, cd in d.columns.items() if cd.effect != "deny"]
            assert table.denied == d.denied_columns and table.row_filter == d.row_filter_text


def test_keyed_hash_without_a_key_is_refused_at_the_rules_location(mesh) -> None:
    plan = compile_plan(mesh, at=AT, keyed_hash=False)
    hashed = {(r.consumer, r.product): r for r in plan.refusals}
    assert ("bob", "sales.orders") in hashed
    assert not any((t.consumer, t.product) in hashed for t in plan.tables)  # no object: fail closed
    refusal = next(r for r in plan.refusals if (r.consumer, r.product) == ("bob", "sales.orders")
                   and "customer_name" in r.reason)
    # every refused column is named, each at its own rule (client_ip is hashed by another rule)
    assert any("client_ip" in r.reason and r.where != refusal.where for r in plan.refusals
               if (r.consumer, r.product) == ("bob", "sales.orders"))
    file, line, col = refusal.where.rsplit(":", 2)
    text = Path(file).read_text("utf-8").splitlines()[int(line) - 1]
    assert int(col) >= 1 and ('"mask-names"' in text or "pii.name using hash" in text), (refusal.where, text)
    assert "customer_name" in refusal.reason and "nearest safe choice" in refusal.reason


def test_purposes_and_windows_are_said_and_decided_at_the_plan_instant(mesh) -> None:
    plan = compile_plan(mesh, at=AT, keyed_hash=True)
    assert plan.notes[0].startswith(f"decided at {AT.isoformat()} with no purpose")
    assert any("'platform-operations' applies only for purpose operations" in n for n in plan.notes)
    assert any("'reps-see-lead-scores' has a time window" in n for n in plan.notes)
    before = compile_plan(mesh, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC), keyed_hash=True)
    pairs = {(t.consumer, t.product) for t in plan.tables}
    assert ("bob", "marketing.leads") in pairs
    assert ("bob", "marketing.leads") not in {(t.consumer, t.product) for t in before.tables}


def test_postgres_names_are_quoted_and_never_truncated() -> None:
    assert pg.ident('a"b') == '"a""b"'
    with pytest.raises(pg.NativeError):
        pg.ident("x" * 64)
    assert pg.base_table("sales.orders", "public.pe_{schema}_{table}") == '"public"."pe_sales_orders"'
    for bad in ("{owner}", "{product.__class__}", "{0}", "{", "a..b"):
        with pytest.raises(pg.NativeError):
            pg.base_table("sales.orders", bad)


def test_render_writes_reviewable_sql_without_the_key(tmp_path, monkeypatch, mesh) -> None:
    key = "render k3y: never in a file"
    monkeypatch.setenv("POLICYENGINE_HASH_KEY", key)
    result = CliRunner().invoke(app, ["render", "--target", "postgres", "-o", str(tmp_path), "--at", AT.isoformat()])
    assert result.exit_code == 0, result.output
    sql = (tmp_path / "apply.sql").read_text("utf-8")
    assert sql.startswith("-- policyengine") and "COMMIT;" in sql
    assert 'CREATE VIEW "pe"."sales.orders" WITH (security_barrier = true) AS SELECT' in sql
    assert 'ON "pe"."sales.orders" TO "pe_bob"' in sql and 'ALTER TABLE "sales"."orders" FORCE ROW LEVEL SECURITY' in sql
    assert "SECURITY DEFINER SET search_path = pg_catalog, pg_temp" in sql
    assert "hmac_pads" in sql and key not in sql and key.encode().hex() not in sql
    assert "No changes" not in (tmp_path / "plan.txt").read_text("utf-8")
    monkeypatch.delenv("POLICYENGINE_HASH_KEY")
    result = CliRunner().invoke(app, ["render", "--target", "postgres", "-o", str(tmp_path / "nokey"),
                                      "--at", AT.isoformat()])
    assert result.exit_code == 0, result.output
    refused = (tmp_path / "nokey" / "plan.txt").read_text("utf-8")
    assert "refused: policies/platform.policy:" in refused and "keyed hash" in refused
    nokey = (tmp_path / "nokey" / "apply.sql").read_text("utf-8")
    assert "'pe_bob', 'sales.orders'" not in nokey and "'pe_bob', 'marketing.leads'" in nokey


def test_table_plans_are_frozen(mesh) -> None:
    table = compile_plan(mesh, at=AT, keyed_hash=True).tables[0]
    assert isinstance(table, TablePlan)
    with pytest.raises(AttributeError):
        table.product = "other"  # type: ignore[misc]


def test_an_unreachable_database_is_one_line_without_the_dsn(tmp_path) -> None:
    dsn = f"host={tmp_path} port=1 dbname=x user=u password=s3cret-pw connect_timeout=2"
    for command in ("plan", "apply"):
        result = CliRunner().invoke(app, [command, "--target", "postgres", "--dsn", dsn])
        assert result.exit_code == 2, result.output
        assert result.output.strip().count("\n") == 0 and "cannot connect" in result.output
        assert "s3cret" not in result.output and "Traceback" not in result.output


GOLDEN = Path(__file__).parent / "golden" / "postgres"


def test_render_golden(tmp_path, monkeypatch) -> None:
    """The example mesh rendered for postgres (tests/native/golden/postgres/): a reviewable diff of
    every change to the objects; regenerate with POLICYENGINE_REGEN_GOLDEN=1 and review."""
    import os

    monkeypatch.setenv("POLICYENGINE_HASH_KEY", "golden-key-not-in-any-file")
    result = CliRunner().invoke(app, ["render", "--target", "postgres", "-o", str(tmp_path), "--at", AT.isoformat()])
    assert result.exit_code == 0, result.output
    for name in ("apply.sql", "plan.txt"):
        text = (tmp_path / name).read_text("utf-8")
        assert "golden-key-not-in-any-file" not in text
        path = GOLDEN / name
        if os.environ.get("POLICYENGINE_REGEN_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        assert path.exists(), f"missing {path}; run with POLICYENGINE_REGEN_GOLDEN=1"
        assert text == path.read_text("utf-8"), f"{name} changed; regenerate and review"


def _empty_live(**overrides) -> pg.Live:
    return dataclasses.replace(pg.Live.empty(), **overrides)


@pytest.mark.parametrize(("live", "message"), [
    ({"roles": {"pe_bob": False}}, "role pe_bob exists and is not managed"),
    ({"roles": {"pe_policyengine": False}}, "role pe_policyengine exists and is not managed"),
    ({"schemas": {"pe": (False, frozenset())}}, "schema pe exists and is not managed"),
    ({"schemas": {"pe_policyengine": (False, frozenset())}}, "schema pe_policyengine exists and is not managed"),
    ({"missing_bases": ('"sales"."orders"',)}, 'base table(s) missing: "sales"."orders"'),
])
def test_plan_stops_on_what_it_does_not_manage(mesh, live, message) -> None:
    desired = pg.desired_state(compile_plan(mesh, at=AT, keyed_hash=True), hash_key=b"k")
    with pytest.raises(pg.NativeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pg.plan_changes(desired, _empty_live(**live))


def test_plan_against_nothing_creates_everything_and_destroys_nothing(mesh) -> None:
    desired = pg.desired_state(compile_plan(mesh, at=AT, keyed_hash=True), hash_key=b"k")
    changes = pg.plan_changes(desired, _empty_live())
    assert {c.action for c in changes} == {"+"}
    assert sum(c.kind == "view" for c in changes) == len(desired.views)
    assert sum(c.kind == "role" for c in changes) == len(desired.roles) + 1  # and the owner role
    assert sum(c.kind == "access" for c in changes) == len(desired.access)


def test_row_filters_carry_no_literal_and_consumers_share_a_class(mesh) -> None:
    """The row predicate keeps no value: each literal (bob's region 'uk') becomes a `param`
    lookup and goes to bob's mapping row; bob and carol (region 'us') share the predicate."""
    plan = compile_plan(mesh, at=AT, keyed_hash=True)
    desired = pg.desired_state(plan, hash_key=b"k")
    tables = {(t.consumer, t.product): t for t in plan.tables}
    names = pg.Names(pg.DEFAULT_PREFIX)
    bob, bob_params = pg.row_filter(tables[("bob", "sales.customers")], names, {})
    carol, carol_params = pg.row_filter(tables[("carol", "sales.customers")], names, {})
    assert bob == carol and bob_params == ("uk",) and carol_params == ("us",)
    assert "'uk'" not in bob and "param(CURRENT_USER, 'sales.customers', 1)" in bob
    assert desired.access[("pe_bob", "sales.customers")][0] == desired.access[("pe_carol", "sales.customers")][0]
    texts = [v.body for v in desired.views] + [p.using for p in desired.policies] + [f.sql for f in desired.functions]
    for value in ("'uk'", "'us'", "'eu'"):
        assert not [t for t in texts if value in t]


def test_a_product_every_consumer_is_refused_on_is_still_closed(mesh) -> None:
    """Without a key every reader of sales.customers is refused (a hashed name): no view, no
    mapping row, but its base table still gets forced row-level security and the restrictive
    policy, and apply still takes every consumer's privilege on it away."""
    plan = compile_plan(mesh, at=AT, keyed_hash=False)
    assert not [t for t in plan.tables if t.product == "sales.customers"]
    assert [r for r in plan.refusals if r.product == "sales.customers"]
    desired = pg.desired_state(plan)
    assert '"sales"."customers"' in desired.bases
    assert not [v for v in desired.views if v.name == "sales.customers"]
    assert {p.name for p in desired.policies if p.base == '"sales"."customers"'} == {"pe_others", "pe_consumers"}
    assert not [k for k in desired.access if k[1] == "sales.customers"]
