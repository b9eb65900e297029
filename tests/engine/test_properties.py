"""Invariants of evaluation over random policy sets (hypothesis)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.engine.evaluator import Engine
from policyengine.engine.loading import load
from policyengine.language.masks import MaskStrategy, reveals_no_more, strictest

CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "catalog"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
COLUMNS = ("order_id", "email", "name", "ssn", "amount", "region", "created", "notes")
GROUPS = ("g1", "g2", "g3")
USERS = ("u1", "u2")
CONSUMERS = (
    {"id": "u1", "groups": ["g1"], "attributes": {"level": 1, "region": "eu"}},
    {"id": "u2", "groups": ["g2", "g3"], "attributes": {"level": 3}},
    {"id": "u3", "groups": [], "attributes": {"region": "us", "level": 2}},
)
PURPOSES = (None, "reporting", "billing")

subject = st.sampled_from(["everyone"] + [f"group:{g}" for g in GROUPS] + [f"user:{u}" for u in USERS])
targets = st.one_of(
    st.sampled_from(["shop.orders", "shop.*", "tagged pii", "tagged pii.email in shop.orders"]),
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4, unique=True).map(
        lambda cols: "shop.orders.{" + ", ".join(cols) + "}"),
)
clauses = st.tuples(
    st.sampled_from(["", " for purpose reporting", " for purpose billing, reporting"]),
    st.sampled_from(["", " when consumer.level >= 2", " when consumer.region == \"eu\"",
                     " when not consumer.level < 3"]),
    st.sampled_from(["", " until 2026-12-31", " from 2026-07-01"]),
).map("".join)


@st.composite
def rule(draw, kinds=("allow", "deny", "mask", "filter")) -> str:
    kind = draw(st.sampled_from(kinds))
    who = draw(subject)
    exclude = draw(st.sampled_from(["", " except group:g2", " except user:u1"]))
    tail = f" to {who}{exclude}{draw(clauses)};"
    if kind == "filter":
        where = draw(st.sampled_from(["region == consumer.region", "amount > 10", "region in [\"eu\", \"uk\"]"]))
        return f"filter shop.orders rows where {where}{tail}"
    target = draw(targets)
    if kind == "mask":
        strategy = draw(st.sampled_from(["hash", "null", "redact", "redact(\"x\")"]))
        return f"mask {target} using {strategy}{tail}"
    return f"{kind} read {target}{tail}"


def _engine(rules: list[str]) -> Engine:
    folder = Path(tempfile.mkdtemp(prefix="pe-prop-"))
    (folder / "shop.policy").write_text("scope domain shop\n" + "\n".join(rules) + "\n", encoding="utf-8")
    return load(folder, CATALOG)


def _outcomes(engine: Engine, use_cache: bool = False, at: dt.datetime = AT) -> dict:
    out = {}
    for consumer in CONSUMERS:
        for purpose in PURPOSES:
            d = engine.evaluate(consumer, "shop.orders", purpose=purpose, at=at, use_cache=use_cache)
            conjuncts = () if d.row_filter is None else tuple(sorted(
                str(p) for p in getattr(d.row_filter, "operands", (d.row_filter,))))
            out[(consumer["id"], purpose)] = (
                {c: (cd.effect, cd.strategy, tuple(sorted(cd.args.items()))) for c, cd in d.columns.items()},
                conjuncts,
            )
    return out


RANK = {"deny": 0, "mask": 1, "allow": 2}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(rule(), min_size=1, max_size=8), rule(kinds=("deny",)))
def test_adding_a_deny_never_makes_a_column_more_visible(rules: list[str], deny: str) -> None:
    before = _outcomes(_engine(rules))
    after = _outcomes(_engine(rules + [deny]))
    for key, (cols, _) in before.items():
        for col, (effect, *_rest) in cols.items():
            assert RANK[after[key][0][col][0]] <= RANK[effect], (key, col, deny)


@SETTINGS
@given(st.lists(rule(), min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_rule_order_never_changes_a_decision(rules: list[str], rnd) -> None:
    shuffled = list(rules)
    rnd.shuffle(shuffled)
    assert _outcomes(_engine(rules)) == _outcomes(_engine(shuffled))


# Instants on both sides of every window boundary the generated rules use, visited in an order
# that moves back and forth so cached entries are probed outside the interval they were made in.
INSTANTS = tuple(dt.datetime.fromisoformat(t) for t in (
    "2026-06-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00", "2026-06-30T23:59:59+00:00",
    "2027-01-01T00:00:00+00:00", "2026-12-31T23:59:59+00:00", "2026-07-15T00:00:00+00:00",
    "2026-06-01T00:00:00+00:00"))


@SETTINGS
@given(st.lists(rule(), min_size=1, max_size=8))
def test_cached_and_uncached_decisions_are_equal(rules: list[str]) -> None:
    engine = _engine(rules)
    for at in INSTANTS:
        uncached = _outcomes(engine, use_cache=False, at=at)
        assert _outcomes(engine, use_cache=True, at=at) == uncached, at
        assert _outcomes(engine, use_cache=True, at=at) == uncached, at  # served from the cache
    assert engine.cache_hits > 0


_TEXT_MASKS = st.one_of(
    st.sampled_from([MaskStrategy("last4"), MaskStrategy("first4"), MaskStrategy("email_domain"),
                     MaskStrategy("hash"), MaskStrategy("null")]),
    st.builds(lambda f, la: MaskStrategy("partial", (("first", f), ("last", la))),
              st.integers(0, 30), st.integers(0, 30)),
    st.builds(lambda t: MaskStrategy("redact", (("text", t),)), st.sampled_from(["***", "x", ""])),
)
_NUMBER_MASKS = st.builds(lambda d: MaskStrategy("round", (("digits", d),)), st.integers(-6, 6))


@given(st.one_of(st.lists(_TEXT_MASKS, min_size=1, max_size=5), st.lists(_NUMBER_MASKS, min_size=1, max_size=5)))
def test_the_strictest_mask_reveals_no_more_than_any_applicable_one(masks: list[MaskStrategy]) -> None:
    """Combining masks never shows more than any one of them, whatever their order."""
    winner = strictest(masks)
    assert all(reveals_no_more(winner, m) for m in masks)
    assert strictest(list(reversed(masks))) == winner
