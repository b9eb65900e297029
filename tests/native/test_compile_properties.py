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
