"""The compiled form is `evaluate()`'s: on generated policy sets (the governance tests' rule
strategies: subjects, exceptions, purposes, conditions, windows, masks) and every consumer of a
small universe, `compile_plan` makes a table plan exactly for the pairs that read something, with
the decision's columns, masks and row filter, and refuses exactly the pairs hashing a column
when no key is configured."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.engine.loading import load
from policyengine.native import compile_plan
from tests.governance.test_classes import CATALOG, GROUPS, INSTANTS, LEVELS, REGIONS, USERS, rule

FILTERS = st.lists(st.sampled_from([
    'filter shop.orders rows where region == consumer.region to group:g1;',
    "filter shop.orders rows where amount > 10 to everyone except group:g2;",
    "filter shop.* rows where region != \"us\" to group:g3;",
]), max_size=2, unique=True)


def _universe() -> list[dict]:
    people = []
    for n, (user, k) in enumerate(itertools.product(USERS, range(3))):
        groups = list(GROUPS[k:k + 2 + n % 2])
        attrs = {"level": LEVELS[n % len(LEVELS)], "region": REGIONS[n % len(REGIONS)]}
        people.append({"id": user if k == 0 else f"{user}-{k}", "groups": groups,
                       "attributes": {k: v for k, v in attrs.items() if v is not None}})
    return people


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(rule(), min_size=1, max_size=6), filters=FILTERS, at=st.sampled_from(INSTANTS),
       keyed=st.booleans())
def test_compiled_plan_is_the_decisions(rules, filters, at: dt.datetime, keyed: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pe-native-prop-"))
    (folder / "shop.policy").write_text("scope domain shop\n" + "\n".join(rules + filters) + "\n", "utf-8")
    consumers = folder / "consumers.yaml"
    consumers.write_text(yaml.safe_dump({
        "attributes": {"level": {"type": "number"}, "region": {"type": "string"}},
        "consumers": _universe()}), "utf-8")
    engine = load(folder, CATALOG, consumers=consumers)
    plan = compile_plan(engine, at=at, keyed_hash=keyed)
    tables = {(t.consumer, t.product): t for t in plan.tables}
    refused = {(r.consumer, r.product) for r in plan.refusals}
    for consumer in engine.consumers:
        for product in engine.catalog.products:
            d = engine.evaluate(consumer, product, at=at, use_cache=False)
            reads = not d.error and bool(d.readable_columns)
            hashed = any(cd.effect == "mask" and cd.strategy == "hash" for cd in d.columns.values())
            if not reads:
                assert (consumer, product) not in tables and (consumer, product) not in refused
            elif hashed and not keyed:
                assert (consumer, product) in refused and (consumer, product) not in tables
            else:
                t = tables[(consumer, product)]
                assert [(c.name, c.effect, c.strategy, dict(c.args)) for c in t.columns] == [
                    (n, cd.effect, cd.strategy, dict(cd.args)) for n, cd in d.columns.items() if cd.effect != "deny"]
                assert t.row_filter == d.row_filter_text and t.denied == d.denied_columns


def _sample(engine, product: str):  # noqa: ANN001, ANN202
    """A few rows of every column type of the product (regions and amounts the generated filters
    test, nulls, text masks have something to keep)."""
    import pyarrow as pa

    values = {"string": ["eu", "uk", None, "a@b.example", "Zoë 名前", "us"],
              "number": [5.0, 20.5, None, 2.675, -1.0, 11.0],
              "integer": [5, 20, None, 12, -7, 11],
              "date": [dt.date(2020, 5, 17), dt.date(1969, 12, 31), None, dt.date(2026, 1, 1), dt.date(2000, 2, 29),
                       dt.date(2024, 12, 31)],
              "boolean": [True, False, None, True, False, True]}
    columns = {}
    for column in engine.catalog.products[product].columns:
        if column.name == "region":
            columns[column.name] = pa.array(["eu", "uk", "us", None, "eu", "us"])
        else:
            columns[column.name] = pa.array(values.get(column.logical_type, values["string"]))
    return pa.table(columns)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(rule(), min_size=1, max_size=6), filters=FILTERS, at=st.sampled_from(INSTANTS))
def test_folded_classes_give_enforce_cells_for_every_consumer(rules, filters, at: dt.datetime) -> None:
    """Item 5: the per-product form the rendered targets are made from (consumer classes, one
    mask per column, one row predicate per table), run in DuckDB with each consumer's class,
    gives every consumer of the universe exactly enforce()'s cells of its own decision; a
    consumer in no class (reads nothing, or refused) gets no row."""
    from policyengine.native.fold import fold_product
    from tests.native.cells import assert_cells_equal

    folder = Path(tempfile.mkdtemp(prefix="pe-native-fold-"))
    (folder / "shop.policy").write_text("scope domain shop\n" + "\n".join(rules + filters) + "\n", "utf-8")
    consumers = folder / "consumers.yaml"
    consumers.write_text(yaml.safe_dump({
        "attributes": {"level": {"type": "number"}, "region": {"type": "string"}},
        "consumers": _universe()}), "utf-8")
    engine = load(folder, CATALOG, consumers=consumers)
    # compiled as for Snowflake: a column's one CASE needs masks of the column's own type (text
    # masks on other columns are refused there: such a consumer has no class and reads no row)
    plan = compile_plan(engine, "snowflake", at=at, keyed_hash=True)
    for product in engine.catalog.products:
        tables = [t for t in plan.tables if t.product == product]
        if not tables:  # nobody reads it: no object (the test above checks who reads what)
            continue
        fold = fold_product(product, tables)
        sample = _sample(engine, product)
        for consumer in engine.consumers:
            assert_cells_equal(fold, sample, engine, consumer, at)
