"""Our masks against Apache Iceberg's read-restriction actions, byte for byte, on golden vectors
(tests/enforce/iceberg_golden.json: copied from Iceberg's Java tests and spec, or derived from its
Java reference; the file names the paths and commits).

Every strategy that declares an Iceberg action must reproduce that action's golden outputs on
every type it maps, in the Python reference and through Arrow enforcement; a strategy without a
faithful action is refused on every type (so a future strategy cannot slip through unchecked).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from policyengine.enforce import enforce
from policyengine.enforce.iceberg import ACTIONS, IcebergField, IcebergRefused, column_action
from policyengine.language.masks import STRATEGIES, MaskStrategy, Strategy, apply_mask
from tests.enforce.conftest import col, decision

GOLDEN = json.loads((Path(__file__).parent / "iceberg_golden.json").read_text(encoding="utf-8"))["vectors"]
# Iceberg type of a vector -> (the catalog's logical type, the Arrow type data of it arrives as)
TYPES: dict[str, tuple[str, pa.DataType]] = {
    "string": ("string", pa.string()), "int": ("integer", pa.int32()), "long": ("integer", pa.int64()),
    "double": ("number", pa.float64()), "boolean": ("boolean", pa.bool_()), "date": ("date", pa.date32()),
    "timestamp": ("timestamp", pa.timestamp("us")), "timestamptz": ("timestamp", pa.timestamp("us", tz="UTC")),
}
ICEBERG_TYPES = ("string", "int", "long", "float", "double", "decimal", "boolean", "date", "time", "timestamp",
                 "timestamptz", "timestamp_ns", "timestamptz_ns", "uuid", "binary", "fixed", "struct", "list", "map")


def _value(kind: str, text: Any) -> Any:
    if text is None:
        return None
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind in ("timestamp", "timestamptz"):
        return dt.datetime.fromisoformat(text)
    return text


def _default(name: str) -> MaskStrategy:
    return MaskStrategy(name, tuple((p.name, p.default) for p in STRATEGIES[name].params))


def _maps(definition: Strategy, kind: str) -> bool:
    """Whether the strategy claims its action on vectors of this Iceberg type."""
    logical = TYPES[kind][0]
    return logical in definition.fits and (definition.iceberg_types is None or kind in definition.iceberg_types)


MAPPED = sorted(name for name, d in STRATEGIES.items() if d.iceberg is not None)
REFUSED = sorted(name for name, d in STRATEGIES.items() if d.iceberg is None)
CASES = [(name, i) for name in MAPPED for i, case in enumerate(GOLDEN[STRATEGIES[name].iceberg])
         if _maps(STRATEGIES[name], case["type"])]


def test_the_golden_file_covers_exactly_iceberg_actions() -> None:
    assert set(GOLDEN) <= set(ACTIONS)
    assert len(ACTIONS) == 9 and "mask-to-default" not in ACTIONS and "apply-expression" not in ACTIONS
    assert all(any(c["from"].startswith("java-test") for c in cases) for cases in GOLDEN.values())


@pytest.mark.parametrize("name", MAPPED)
def test_every_mapped_strategy_has_golden_vectors_for_every_type_it_maps(name: str) -> None:
    """A strategy declaring an Iceberg action must be checked against it on each type it maps."""
    definition = STRATEGIES[name]
    assert definition.iceberg in ACTIONS, f"{name} declares an action Iceberg does not have"
    cases = GOLDEN.get(definition.iceberg, [])
    kinds = {c["type"] for c in cases if _maps(definition, c["type"])}
    assert kinds, f"{name} ({definition.iceberg}) has no golden vectors"
    fitting = {k for k in TYPES if _maps(definition, k)}
    assert fitting <= kinds, f"{name}: no golden vector on {sorted(fitting - kinds)}"
    assert any(c["in"] is None for c in cases if c["type"] in kinds), f"{name}: no null vector"


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_reference_equals_iceberg(name: str, index: int) -> None:
    case = GOLDEN[STRATEGIES[name].iceberg][index]
    kind = case["type"]
    render = "timestamptz" if kind == "timestamptz" else TYPES[kind][0]  # what a null needs (fixed_value)
    got = apply_mask(_default(name), _value(kind, case["in"]), None, render)
    want = _value(case["type"], case["out"])
    assert got == want and type(got) is type(want), f"{name} on {case['in']!r}: {got!r}, Iceberg {want!r}"
    if isinstance(want, dt.datetime):  # the same instant and, with a time zone, in UTC as Iceberg's
        assert got.utcoffset() == want.utcoffset()


@pytest.mark.parametrize("name", MAPPED)
def test_arrow_enforcement_equals_iceberg(name: str) -> None:
    """DuckDB over Arrow gives Iceberg's outputs (strings that are valid UTF-8: Arrow holds no
    lone surrogate)."""
    definition = STRATEGIES[name]
    for kind in TYPES:
        cases = [c for c in GOLDEN[definition.iceberg] if c["type"] == kind and _maps(definition, kind)]
        cases = [c for c in cases if not (isinstance(c["in"], str) and _has_lone_surrogate(c["in"]))]
        if not cases:
            continue
        values = [_value(kind, c["in"]) for c in cases]
        table = pa.table({"v": pa.array(values, TYPES[kind][1])})
        out = enforce(table, decision([col("v", "mask", name)]), hash_key=None, allow_unkeyed_hash=True).column("v").to_pylist()
        assert out == [_value(kind, c["out"]) for c in cases], f"{name} on {kind}"


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("kind", ICEBERG_TYPES)
def test_a_strategy_without_a_faithful_action_is_refused_on_every_type(name: str, kind: str) -> None:
    cd = col("v", "mask", name)
    with pytest.raises(IcebergRefused, match=f"mask '{name}' on column 'v' has no faithful Iceberg action"):
        column_action(cd, IcebergField("v", 1, kind), keyed=False)


@pytest.mark.parametrize("name", MAPPED)
def test_a_mapped_strategy_is_refused_on_types_outside_its_action(name: str) -> None:
    definition = STRATEGIES[name]
    applicable = ACTIONS[definition.iceberg]
    for kind in ICEBERG_TYPES:
        maps = (applicable is None or kind in applicable) and (
            definition.iceberg_types is None or kind in definition.iceberg_types)
        field = IcebergField("v", 1, kind)
        if maps:
            assert column_action(col("v", "mask", name), field, keyed=False,
                                 allow_unkeyed_hash=True) == definition.iceberg
        else:
            with pytest.raises(IcebergRefused, match="refused"):
                column_action(col("v", "mask", name), field, keyed=False, allow_unkeyed_hash=True)


def test_last4_is_not_show_last4() -> None:
    """Why `last4`/`first4` are refused: they differ from Iceberg's show-last-4/show-first-4."""
    assert apply_mask(MaskStrategy("last4"), "4111-1111-1111-4444") == "***************4444"
    assert apply_mask(MaskStrategy("show_last4"), "4111-1111-1111-4444") == "nnnn-nnnn-nnnn-4444"
    assert apply_mask(MaskStrategy("first4"), "abcd") == "****"
    assert apply_mask(MaskStrategy("show_first4"), "abcd") == "abcd"


def test_keyed_hash_and_required_null_are_refused() -> None:
    with pytest.raises(IcebergRefused, match="HMAC-SHA-256"):
        column_action(col("v", "mask", "hash"), IcebergField("v", 1, "string"), keyed=True, allow_unkeyed_hash=True)
    with pytest.raises(IcebergRefused, match="confirmed by hashing a guess"):
        column_action(col("v", "mask", "hash"), IcebergField("v", 1, "string"), keyed=False)
    assert column_action(col("v", "mask", "hash"), IcebergField("v", 1, "string"), keyed=False,
                         allow_unkeyed_hash=True) == "sha-256-global"
    with pytest.raises(IcebergRefused, match="required"):
        column_action(col("v", "mask", "null"), IcebergField("v", 1, "string", required=True), keyed=False)
    with pytest.raises(IcebergRefused, match="type is needed"):
        column_action(col("v", "mask", "hash"), IcebergField("v", 1, None), keyed=False, allow_unkeyed_hash=True)


def test_fixed_value_reveals_nothing_so_it_wins_over_redact_but_not_null() -> None:
    """It replaces nulls too (Iceberg's mask-to-fixed-value): not even nullness shows."""
    from policyengine.language.masks import strictest

    fixed, redact, null = MaskStrategy("fixed_value"), MaskStrategy("redact", (("text", "***"),)), MaskStrategy("null")
    assert strictest([redact, fixed]) == strictest([fixed, redact]) == fixed
    assert strictest([fixed, null]) == null
    assert apply_mask(fixed, None, None, "integer") == 0 and apply_mask(redact, None) is None
    with pytest.raises(ValueError, match="needs the column's type"):
        apply_mask(fixed, None)
