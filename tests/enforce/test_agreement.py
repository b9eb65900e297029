"""Masks agree everywhere: DuckDB(to_sql) == enforce(Arrow) == apply_mask, value by value.

Random columns come from hypothesis; every strategy runs on every type it fits, with nulls.
Timestamps with a time zone (values in several zones, Arrow columns in UTC and in New York) are
masked as their UTC instant: text without offset, `year` of the UTC instant.
Also: a masked value equals its raw input only where the documented definition says it can.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.enforce import enforce, render
from policyengine.enforce.arrow import connect
from policyengine.language.masks import MaskStrategy, apply_mask
from tests.enforce.conftest import col, decision

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = b"k3y with \x00 bytes and more than nothing"

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
emails = st.one_of(texts, st.builds(lambda a, b: f"{a}@{b}", texts, texts))
ints = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=True, width=64),
                   st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False,
                               allow_infinity=False).map(float))
dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
timestamps = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))
ZONES = [dt.UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Lord_Howe"),
         dt.timezone(-dt.timedelta(hours=9, minutes=30))]
# aware values in several zones (a day inside the range so the UTC instant stays in years 1..9999)
aware_timestamps = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                                timezones=st.sampled_from(ZONES))

ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "date": pa.date32(),
               "timestamp": pa.timestamp("us"), "boolean": pa.bool_(),
               "timestamptz": pa.timestamp("us", tz="UTC"), "timestamptz_ny": pa.timestamp("us", tz="America/New_York")}
VALUES = {"string": texts, "integer": ints, "number": floats, "date": dates, "timestamp": timestamps,
          "boolean": st.booleans(), "timestamptz": aware_timestamps, "timestamptz_ny": aware_timestamps}
# the type rendering is told: tz-aware columns as `timestamptz` (what enforce() reads from Arrow)
RENDER_TYPES = {"timestamptz_ny": "timestamptz"}

CASES: list[tuple[MaskStrategy, str]] = [
    (MaskStrategy("null"), "string"),
    (MaskStrategy("redact", (("text", "***"),)), "integer"),
    (MaskStrategy("redact", (("text", "n/a 'quoted'"),)), "string"),
    (MaskStrategy("last4"), "string"),
    (MaskStrategy("last4"), "integer"),
    (MaskStrategy("first4"), "string"),
    (MaskStrategy("first4"), "integer"),
    (MaskStrategy("partial", (("first", 1), ("last", 2))), "string"),
    (MaskStrategy("partial", (("first", 0), ("last", 0))), "string"),
    (MaskStrategy("partial", (("first", 3), ("last", 0))), "integer"),
    (MaskStrategy("email_domain"), "string"),
    (MaskStrategy("year"), "date"),
    (MaskStrategy("year"), "timestamp"),
    (MaskStrategy("year"), "timestamptz"),
    (MaskStrategy("year"), "timestamptz_ny"),
    (MaskStrategy("last4"), "timestamptz_ny"),
    (MaskStrategy("partial", (("first", 2), ("last", 3))), "timestamptz"),
    (MaskStrategy("first4"), "timestamp"),
    (MaskStrategy("round", (("digits", 0),)), "number"),
    (MaskStrategy("round", (("digits", 2),)), "number"),
    (MaskStrategy("round", (("digits", -3),)), "number"),
    (MaskStrategy("round", (("digits", 0),)), "integer"),
    (MaskStrategy("round", (("digits", -2),)), "integer"),
    (MaskStrategy("mask_alphanum"), "string"),
    (MaskStrategy("show_first4"), "string"),
    (MaskStrategy("show_last4"), "string"),
    (MaskStrategy("month"), "date"),
    (MaskStrategy("month"), "timestamp"),
    (MaskStrategy("month"), "timestamptz"),
    (MaskStrategy("month"), "timestamptz_ny"),
    *((MaskStrategy("fixed_value"), kind) for kind in ("string", "integer", "number", "boolean", "date", "timestamp",
                                                        "timestamptz", "timestamptz_ny")),
]
HASH_TYPES = ["string", "integer", "number", "date", "timestamp", "boolean", "timestamptz", "timestamptz_ny"]


def _values(kind: str, strategy: MaskStrategy) -> st.SearchStrategy[list[Any]]:
    base = emails if strategy.name == "email_domain" else VALUES[kind]
    if strategy.name == "round" and kind == "integer":  # BIGINT arithmetic must not overflow
        base = st.integers(min_value=-(2**62), max_value=2**62)
    if strategy.name == "round" and kind == "number":
        # apply_mask raises decimal.InvalidOperation beyond ~1e26 and on inf (see docs/enforcement.md)
        base = st.one_of(st.floats(min_value=-1e25, max_value=1e25, allow_nan=False),
                         st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False,
                                     allow_infinity=False).map(float))
    return st.lists(st.one_of(st.none(), base), min_size=1, max_size=40)


def _run_three_ways(strategy: MaskStrategy, kind: str, values: list[Any], key: bytes | None) -> None:
    args = dict(strategy.args)
    d = decision([col("id"), col("v", "mask", strategy.name, **args)])
    table = pa.table({"id": pa.array(range(len(values)), pa.int64()), "v": pa.array(values, ARROW_TYPES[kind])})
    expected = [apply_mask(strategy, v, key, RENDER_TYPES.get(kind, kind)) for v in values]

    through_arrow = enforce(table, d, hash_key=key, allow_unkeyed_hash=True).sort_by("id").column("v").to_pylist()
    con = connect()
    con.register("input_rows", table)
    # the SQL as rendered from the precise type, and from the catalog's type (the gateway's case:
    # a catalog says `timestamp` for a timestamp with a time zone too)
    catalog_type = kind.removesuffix("_ny").removesuffix("tz")
    if strategy.name == "fixed_value":  # a constant: its type is the one rendering is told (docs/enforcement.md)
        catalog_type = RENDER_TYPES.get(kind, kind)
    for render_type in dict.fromkeys([RENDER_TYPES.get(kind, kind), catalog_type]):
        rendered = render(d, "input_rows", "duckdb", types={"v": render_type}, hash_key=key, allow_unkeyed_hash=True)
        through_sql = [r[1] for r in sorted(con.execute(rendered.sql, rendered.bind).fetchall())]
        for raw, want, s in zip(values, expected, through_sql, strict=True):
            assert _same(s, want), f"{strategy} on {raw!r}: DuckDB SQL ({render_type}) gave {s!r}, reference {want!r}"
    for raw, want, a in zip(values, expected, through_arrow, strict=True):
        assert _same(a, want), f"{strategy} on {raw!r}: Arrow gave {a!r}, reference {want!r}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b) or (a is None and b is None)


@pytest.mark.parametrize(("strategy", "kind"), CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_strategy_agrees_everywhere(strategy: MaskStrategy, kind: str) -> None:
    @SETTINGS
    @given(values=_values(kind, strategy))
    def check(values: list[Any]) -> None:
        _run_three_ways(strategy, kind, values, None)

    check()


@pytest.mark.parametrize("key", [None, KEY], ids=["sha256", "hmac"])
@pytest.mark.parametrize("kind", HASH_TYPES)
def test_hash_agrees_everywhere(kind: str, key: bytes | None) -> None:
    @settings(max_examples=12, deadline=None)
    @given(values=_values(kind, MaskStrategy("hash")))
    def check(values: list[Any]) -> None:
        _run_three_ways(MaskStrategy("hash"), kind, values, key)

    check()


def _fixed_point(strategy: MaskStrategy, value: Any) -> bool:
    """Where the documented definition lets a mask leave a value unchanged."""
    name = strategy.name
    if name == "redact":
        return value == strategy.arg("text")
    if name in ("last4", "first4", "partial"):
        first, last = {"last4": (0, 4), "first4": (4, 0)}.get(name, (None, None))
        if first is None:
            first, last = strategy.arg("first"), strategy.arg("last")
        text = str(value)
        hidden = text if first + last >= len(text) else text[first:len(text) - last]
        return set(hidden) <= {"*"}
    if name == "email_domain":
        return str(value).startswith("***") and str(value).count("@") <= 1 and (
            "@" not in str(value) and value == "***" or str(value)[3:4] == "@")
    if name in ("mask_alphanum", "show_first4", "show_last4"):
        points = list(value)  # unchanged: 4 or fewer kept, the masked part already x and ( ) , . - @
        masked = points if name == "mask_alphanum" else [] if len(points) <= 4 else \
            points[4:] if name == "show_first4" else points[:-4]
        return set(masked) <= set("x(),.-@")
    if name == "fixed_value":
        return value == apply_mask(strategy, value)  # already the type's fixed value
    if name == "month":
        return value.day == 1 and (not isinstance(value, dt.datetime) or value == apply_mask(strategy, value))
    if name == "year":
        return value == apply_mask(strategy, value)
    if name == "round":
        return value == apply_mask(strategy, value)
    return False


@pytest.mark.parametrize(("strategy", "kind"), [c for c in CASES if c[0].name != "null"],
                         ids=[f"{s}-{k}" for s, k in CASES if s.name != "null"])
def test_masked_value_differs_unless_documented(strategy: MaskStrategy, kind: str) -> None:
    @settings(max_examples=12, deadline=None)
    @given(values=_values(kind, strategy))
    def check(values: list[Any]) -> None:
        d = decision([col("v", "mask", strategy.name, **dict(strategy.args))])
        table = pa.table({"v": pa.array(values, ARROW_TYPES[kind])})
        out = enforce(table, d, hash_key=None, allow_unkeyed_hash=True).column("v").to_pylist()
        for raw, masked in zip(values, out, strict=True):
            if raw is not None and masked == raw and type(masked) is type(raw):
                assert _fixed_point(strategy, raw), f"{strategy} left {raw!r} unchanged"

    check()


def test_hash_key_never_in_sql_text() -> None:
    d = decision([col("v", "mask", "hash")])
    rendered = render(d, "t", "duckdb", hash_key=KEY)
    assert KEY.decode("latin-1") not in rendered.sql and "k3y" not in rendered.sql
    assert rendered.params and all(isinstance(v, bytes) for v in rendered.params.values())
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'x' AS v")
    explain = " ".join(str(r) for r in con.execute("EXPLAIN " + rendered.sql, dict(rendered.params)).fetchall())
    assert "k3y" not in explain


def test_timezone_aware_timestamps_are_masked_in_utc() -> None:
    """The example data's sales.orders.created_at is timestamp[us, tz=UTC]; New York values too."""
    ny = dt.datetime(2019, 12, 31, 19, 30, 3, 120000, tzinfo=ZoneInfo("America/New_York"))
    table = pa.table({"h": pa.array([ny], pa.timestamp("us", tz="UTC")),
                      "p": pa.array([ny], pa.timestamp("us", tz="UTC")),
                      "y": pa.array([ny], pa.timestamp("us", tz="America/New_York"))})
    d = decision([col("h", "mask", "hash"), col("p", "mask", "partial", first=4, last=5), col("y", "mask", "year")])
    row = enforce(table, d, hash_key=None, allow_unkeyed_hash=True).to_pylist()[0]
    import hashlib

    assert row["h"] == hashlib.sha256(b"2020-01-01 00:30:03.12").hexdigest()
    assert row["p"] == "2020*************03.12"
    assert row["y"] == dt.datetime(2020, 1, 1, tzinfo=dt.UTC) and row["y"].utcoffset() == dt.timedelta(0)
    assert apply_mask(MaskStrategy("year"), ny) == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_rendered_timestamptz_sql_does_not_depend_on_the_session_time_zone(zone: str) -> None:
    ny = dt.datetime(2019, 12, 31, 19, 30, 3, 120000, tzinfo=ZoneInfo("America/New_York"))
    table = pa.table({"h": pa.array([ny, None], pa.timestamp("us", tz="UTC")),
                      "y": pa.array([ny, None], pa.timestamp("us", tz="UTC"))})
    d = decision([col("h", "mask", "last4"), col("y", "mask", "year")])
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.register("t", table)
    for h_type in ("timestamp", "timestamptz"):  # the text of either is the UTC wall clock
        rendered = render(d, "t", "duckdb", types={"h": h_type, "y": "timestamptz"}, hash_key=None, allow_unkeyed_hash=True)
        assert con.execute(rendered.sql).fetchall() == [
            ("******************3.12", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)), (None, None)]


def test_masks_refuse_types_they_do_not_know() -> None:
    """A struct column where the catalog said string: `email_domain` would print the struct's other
    fields; enforcement refuses instead (only null and redact, which never read a value, apply)."""
    import pyarrow as pa
    import pytest

    from policyengine.enforce import RenderError, enforce
    from policyengine.engine.decision import ColumnDecision, Decision, RuleRef

    rule = RuleRef("r", "p.policy", 1, "mask")
    table = pa.table({"v": pa.array([{"e": "a@x.com", "n": 123456789}])})
    for strategy, ok in (("email_domain", False), ("hash", False), ("null", True), ("redact", True)):
        args = {"text": "***"} if strategy == "redact" else {}
        decision = Decision("p.q", "c", {"v": ColumnDecision("v", "mask", strategy, args, rule)})
        if ok:
            assert "123456789" not in str(enforce(table, decision, hash_key=None, allow_unkeyed_hash=True).to_pylist())
        else:
            with pytest.raises(RenderError, match="fail closed"):
                enforce(table, decision, hash_key=None, allow_unkeyed_hash=True)
    words = pa.array(["a@x.com", "b@y.org"]).dictionary_encode()
    masked = enforce(pa.table({"v": words}), Decision("p.q", "c", {"v": ColumnDecision("v", "mask", "email_domain", {}, rule)}),
                     hash_key=None, allow_unkeyed_hash=True)
    assert masked.column("v").to_pylist() == ["***@x.com", "***@y.org"]
