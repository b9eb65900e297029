"""The Databricks target's column mask and row filter bodies (policyengine/native/databricks.py),
run on the suite's Spark: for every consumer of the example mesh, the bodies as rendered, with
only the class lookup (Unity Catalog's mapping tables and is_account_group_member, which Spark
lacks) replaced by the consumer's class as a literal, give exactly enforce()'s cells."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp

import policyengine
from policyengine.enforce.arrow import enforce
from policyengine.native import compile_plan, databricks
from policyengine.native.fold import column_case, fold_plan, row_case
from tests.engines.conftest import source_name

pytestmark = pytest.mark.engines
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _key(value: object) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return repr(value)


def test_databricks_bodies_on_spark_give_enforce_cells(spark_engine, seed_tables) -> None:
    mesh = policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")
    plan = compile_plan(mesh, "databricks", at=AT, keyed_hash=False)
    rendered = {s.name: s for s in databricks.render_statements(plan) if s.body}
    checked = 0
    for fold in fold_plan(plan):
        lookup = databricks.class_lookup(fold.product, databricks.DEFAULTS)
        for consumer in mesh.consumers:
            cls = fold.class_of(consumer)
            literal = exp.Literal.string(cls) if cls else exp.cast(exp.Null(), "STRING")
            projections = []
            for column in fold.columns:
                name = f"{databricks.dotted(databricks.DEFAULTS.policy_schema, 'databricks')}." \
                       f"{databricks.ident(databricks.object_name(fold.product, column.name), 'databricks')}"
                body = rendered[name].body
                # the rendered body is exactly the fold's: then only the lookup is swapped
                assert body in (column_case(column, exp.column("val"), lookup, "spark").sql("databricks"),
                                f"CAST(NULL AS {databricks.engine_type(column.logical_type, 'databricks', column.name)})")
                tree = sqlglot.parse_one(body, read="databricks")
                for node in list(tree.find_all(exp.Subquery)):
                    if node.sql("databricks") == lookup.sql("databricks"):
                        node.replace(literal.copy())
                for col in list(tree.find_all(exp.Column)):
                    if col.name == "val":
                        col.replace(exp.column(column.name, quoted=True))
                projections.append(f"{tree.sql('spark')} AS `{column.name}`")
            rows = row_case(fold, lookup).sql("databricks")
            predicate = sqlglot.parse_one(rows, read="databricks")
            for node in list(predicate.find_all(exp.Subquery)):
                if node.sql("databricks") == lookup.sql("databricks"):
                    node.replace(literal.copy())
            sql = f"SELECT {', '.join(projections)} FROM {source_name(fold.product)} WHERE {predicate.sql('spark')}"
            names, got = spark_engine.run(sql, None, "UTC")
            if cls is None:
                assert got == [], (consumer, fold.product)
                continue
            decision = mesh.evaluate(consumer, fold.product, at=AT, use_cache=False)
            expected = enforce(seed_tables[source_name(fold.product)], decision).to_pylist()
            readable = list(decision.readable_columns)
            have = sorted(tuple(_key(dict(zip(names, r, strict=True))[c]) for c in readable) for r in got)
            want = sorted(tuple(_key(r[c]) for c in readable) for r in expected)
            assert have == want, (consumer, fold.product)
            for r in got:
                row = dict(zip(names, r, strict=True))
                assert all(row[c] is None for c in decision.denied_columns), (consumer, fold.product)
            checked += 1
    assert checked >= 5


def test_every_mask_databricks_accepts_runs_on_spark_inside_its_class_branch(spark_engine, seed_tables) -> None:
    """Each strategy of the conformance cases (awkward values: nulls, non-ASCII, pre-1970,
    2.675, zones), folded as Databricks folds it (one class), its mask body run on Spark, equals
    enforce(); a strategy Databricks refuses on a column type is refused by the compiler."""
    from policyengine.enforce.arrow import render_type
    from policyengine.native.compile import DATABRICKS, compile_table
    from tests.engines.test_conformance import MASK_CASES, _allow, _decision, _mask

    table = seed_tables["pe_awkward"]
    types = {f.name: t for f in table.schema if (t := render_type(f.type))}
    ran = refused = 0
    for strategy, args, column in MASK_CASES:
        others = [_allow(c) for c in ("s",) if c != column]
        decision = _decision([_mask(column, strategy, **args), *others])
        compiled = compile_table(decision, DATABRICKS, {}, types)
        if not hasattr(compiled, "columns"):
            refused += 1
            assert strategy == "hash" or types[column] != "string", (strategy, column)
            continue
        fold = fold_plan(type("P", (), {"tables": (compiled,)})())[0]  # one product, one class
        cls = fold.class_of("tester")
        body = column_case(next(c for c in fold.columns if c.name == column), exp.column("val"),
                           exp.Literal.string(cls), "spark", types=types).sql("databricks")
        tree = sqlglot.parse_one(body, read="databricks")
        for col in list(tree.find_all(exp.Column)):
            if col.name == "val":
                col.replace(exp.column(column, quoted=True))
        names, got = spark_engine.run(f"SELECT {tree.sql('spark')} AS `{column}` FROM pe_awkward", None, "UTC")
        want = enforce(table, decision).column(column).to_pylist()
        assert sorted(map(_key, (r[0] for r in got))) == sorted(map(_key, want)), (strategy, args, column)
        ran += 1
    assert ran >= 25 and refused >= 9
