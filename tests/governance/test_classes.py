"""The equivalence classes lose nothing: on generated policy sets, the coverage gate's class-based
search finds exactly the gaps that brute force finds over every consumer of a small concrete
universe (every group subset, users, attribute values, purposes and instants), and every gap's
representative really reads the column unmasked."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.catalog.consumers import Consumer
from policyengine.engine.loading import load
from policyengine.governance.classes import (
    AttributeUse,
    attribute_candidates,
    instant_classes,
    product_rules,
)
from policyengine.governance.coverage import check_coverage, privileges, sensitive_columns

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
PRODUCT = "shop.orders"
COLUMNS = ("order_id", "email", "name", "ssn", "amount")

# the concrete universe: it holds a member of every class the rules below can tell apart
USERS = ("u1", "u2", "someone-else")
GROUPS = ("g1", "g2", "g3", "g4")  # g4: named by no rule
LEVELS = (None, 1, 2, 2.5, 3, 4)
REGIONS = (None, "eu", "uk", "us")
PURPOSES = (None, "reporting", "billing", "unnamed")
INSTANTS = tuple(dt.datetime(*d, tzinfo=dt.UTC) for d in [
    (2026, 6, 30, 23, 59), (2026, 7, 1), (2026, 12, 31, 12), (2027, 1, 1), (2027, 6, 1)])

subject = st.sampled_from(["everyone", "group:g1", "group:g2", "group:g3", "user:u1", "group:g1, user:u2"])
exception = st.sampled_from(["", "", " except group:g2", " except group:g3", " except user:u1",
                             " except group:g1, group:g3"])
targets = st.one_of(
    st.sampled_from(["shop.orders", "tagged pii", "tagged pii.email", "tagged pii.name, pii.national_id"]),
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=3, unique=True).map(
        lambda cols: "shop.orders.{" + ", ".join(cols) + "}"),
)
clauses = st.tuples(
    st.sampled_from(["", "", " for purpose reporting", " for purpose billing, reporting"]),
    st.sampled_from(["", "", " when consumer.level >= 2", ' when consumer.region == "eu"',
                     " when not consumer.level < 3", " when consumer.level > 2",
                     ' when consumer.region in ["eu", "uk"] and consumer.level >= 2']),
    st.sampled_from(["", "", " until 2026-12-31", " from 2026-07-01", " from 2026-07-01 until 2026-12-31"]),
).map("".join)


@st.composite
def rule(draw, kinds: tuple[str, ...] = ("allow", "allow", "deny", "mask", "mask")) -> str:
    kind = draw(st.sampled_from(kinds))
    tail = f" to {draw(subject)}{draw(exception)}{draw(clauses)};"
    target = draw(targets)
    if kind == "mask":
        return f"mask {target} using {draw(st.sampled_from(['hash', 'null']))}{tail}"
    return f"{kind} read {target}{tail}"


privileged = st.sampled_from([[], [("group:g3", ())], [("group:g2", ("pii.email",))], [("user:u1", ())]])


def _engine(rules: list[str]):
    folder = Path(tempfile.mkdtemp(prefix="pe-classes-"))
    (folder / "shop.policy").write_text("scope domain shop\n" + "\n".join(rules) + "\n", encoding="utf-8")
    return load(folder, CATALOG)


def _brute_force(engine, privs) -> set[tuple]:
    sensitive = {c.column: c.tags for c in sensitive_columns(engine.catalog) if c.product == PRODUCT}
    names = sorted(sensitive)
    # a purpose no rule covering these columns names is one class with no purpose
    named = set().union(*(r.purposes for r in product_rules(engine, PRODUCT, names)))
    found = set()
    for user, level, region in itertools.product(USERS, LEVELS, REGIONS):
        attrs = {k: v for k, v in (("level", level), ("region", region)) if v is not None}
        for k in range(len(GROUPS) + 1):
            for groups in map(frozenset, itertools.combinations(GROUPS, k)):
                held = [p for p in privs if p.held_by(user, groups)]
                consumer = Consumer(user, groups, attrs)
                for purpose, at in itertools.product(PURPOSES, INSTANTS):
                    d = engine.evaluate(consumer, PRODUCT, names, purpose, at, use_cache=False)
                    for col in names:
                        cd = d.columns[col]
                        if cd.effect == "allow" and not all(any(p.covers(t) for p in held) for t in sensitive[col]):
                            label = purpose if purpose in named else None
                            found.add((col, cd.rule.name, label, at))
    return found


def _by_classes(engine, privs) -> tuple[set[tuple], object]:
    found = set()

    def hit(product, column, subject, attrs, purpose, interval, allowed_by):
        assert product == PRODUCT
        # the representative itself is a gap, by the engine
        d = engine.evaluate(Consumer(subject.user, subject.groups, attrs.values), product, [column],
                            purpose.value, interval.at, use_cache=False)
        assert d.columns[column].effect == "allow"
        for at in INSTANTS:
            if interval.contains(at):
                found.add((column, allowed_by.name, purpose.value, at))

    report = check_coverage(engine, privileged=privs, products=[PRODUCT], on_hit=hit)
    return found, report


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule(), min_size=1, max_size=6), privileged)
def test_classes_find_exactly_what_brute_force_finds(rules: list[str], privileged_subjects) -> None:
    engine = _engine(rules)
    privs = privileges(privileged_subjects)
    brute = _brute_force(engine, privs)
    classes, report = _by_classes(engine, privs)
    assert classes == brute
    assert report.ok == (not brute)
    assert report.evaluations < len(USERS) * len(LEVELS) * len(REGIONS) * 2 ** len(GROUPS) * 20


def test_the_brute_force_universe_is_not_trivially_empty() -> None:
    """A policy set with a known gap: brute force and classes both see it (so the property test
    compares something)."""
    engine = _engine(["allow read shop.orders to group:g1 for purpose reporting when consumer.level >= 2;",
                      "mask tagged pii using hash to everyone except group:g3 until 2026-12-31;"])
    privs = privileges([])
    brute = _brute_force(engine, privs)
    classes, report = _by_classes(engine, privs)
    assert brute and classes == brute
    assert {(c, p) for c, _, p, _ in brute} == {(c, "reporting") for c in ("email", "name", "ssn")}
    assert not report.ok


def test_attribute_candidates_cover_every_region_between_literals() -> None:
    use = AttributeUse(scalars={2, 3}, ordered=True)
    assert attribute_candidates("level", use, set(), None) == [None, 2, 3, 1, 4, 2.5]
    assert attribute_candidates("level", use, set(), "integer") == [None, 2, 3, 1, 4]
    text = attribute_candidates("region", AttributeUse(scalars={"eu"}), set(), "string")
    assert text == [None, "eu", "other"]
    lists = attribute_candidates("tags", AttributeUse(items={"a", "b"}), set(), "list")
    assert lists == [None, [], ["a"], ["b"], ["a", "b"]]


def test_instant_classes_are_the_stretches_between_boundaries() -> None:
    engine = _engine(["allow read shop.orders to everyone from 2026-07-01 until 2026-12-31;"])
    intervals = instant_classes(engine.compiled.products[PRODUCT].rules)
    assert [i.label for i in intervals] == [
        "before 2026-07-01T00:00:00Z", "from 2026-07-01T00:00:00Z until 2027-01-01T00:00:00Z",
        "from 2027-01-01T00:00:00Z on"]


def test_too_many_excepted_groups_is_a_usage_error_not_a_hang() -> None:
    import pytest

    from policyengine.governance.classes import ClassesError

    # one mask per group: groups with the same role in every rule would be one class
    engine = _engine(["allow read shop.orders to everyone;",
                      *(f"mask tagged pii using hash to everyone except group:x{i};" for i in range(17))])
    with pytest.raises(ClassesError, match="except 17 different groups"):
        check_coverage(engine)
    privileged_ones = [(f"group:x{i}", ()) for i in range(17)]
    assert check_coverage(engine, privileged=privileged_ones).ok
