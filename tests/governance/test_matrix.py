"""The access-matrix diff (a start): on generated pairs of policy versions, the changed cells the
class search reports are exactly those brute force finds over a concrete universe."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.catalog.consumers import Consumer
from policyengine.engine.loading import load
from policyengine.governance.matrix import cell_direction, diff_engines

from .test_classes import GROUPS, INSTANTS, LEVELS, PRODUCT, PURPOSES, REGIONS, USERS, rule

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"


def _engine(rules: list[str]):
    folder = Path(tempfile.mkdtemp(prefix="pe-matrix-"))
    (folder / "shop.policy").write_text("scope domain shop\n" + "\n".join(rules) + "\n", encoding="utf-8")
    return load(folder, CATALOG)


def _named(*engines) -> set[str]:
    return {p for e in engines for r in (*e.compiled.products[PRODUCT].rules, *e.compiled.products[PRODUCT].filters)
            for p in r.purposes}


def _brute(base, head) -> set[tuple]:
    named = _named(base, head)
    columns = list(base.catalog.products[PRODUCT].column_names)
    found = set()
    for user, level, region in itertools.product(USERS, LEVELS, REGIONS):
        attrs = {k: v for k, v in (("level", level), ("region", region)) if v is not None}
        for k in range(len(GROUPS) + 1):
            for groups in map(frozenset, itertools.combinations(GROUPS, k)):
                consumer = Consumer(user, groups, attrs)
                for purpose, at in itertools.product(PURPOSES, INSTANTS):
                    a = base.evaluate(consumer, PRODUCT, columns, purpose, at, use_cache=False)
                    b = head.evaluate(consumer, PRODUCT, columns, purpose, at, use_cache=False)
                    label = purpose if purpose in named else None
                    for col in columns:
                        d = cell_direction(a.columns[col], b.columns[col])
                        if d:
                            found.add((col, d, label, at))
    return found


def _classes(base, head) -> set[tuple]:
    found = set()
    for c in diff_engines(base, head, [PRODUCT]):
        if c.column is None:
            continue
        for at in INSTANTS:
            if c.interval.contains(at):
                found.add((c.column, c.direction, c.purpose.value, at))
    return found


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule(), min_size=1, max_size=5), st.integers(0, 4), rule())
def test_diff_classes_find_exactly_what_brute_force_finds(rules: list[str], position: int, changed: str) -> None:
    base = _engine(rules)
    head_rules = list(rules)
    head_rules[position % len(rules)] = changed  # one rule changed
    head = _engine(head_rules)
    assert _classes(base, head) == _brute(base, head)


def test_a_removed_mask_is_looser_and_an_added_filter_tighter() -> None:
    base = _engine(["allow read shop.orders to group:g1;", "mask shop.orders.email using hash to everyone;"])
    head = _engine(["allow read shop.orders to group:g1;",
                    "filter shop.orders rows where region == \"eu\" to group:g1;"])
    changes = diff_engines(base, head, [PRODUCT])
    assert {c.direction for c in changes if c.column == "email"} == {"looser"}
    assert all(c.subject.groups >= {"g1"} for c in changes if c.column == "email")
    rows = [c for c in changes if c.column is None]
    assert rows and {c.direction for c in rows} == {"tighter"}
    assert rows[0].after == 'rows where region == "eu"'
