"""One classification of Arrow types (catalog/arrow_kinds.py): the logical type enforcement masks
by and the scanner's kind, for every Arrow type family, dictionary-encoded ones as their values."""

from __future__ import annotations

import pyarrow as pa
import pytest

from policyengine.catalog.arrow_kinds import arrow_kind, logical_type, scan_kind
from policyengine.enforce.arrow import render_type

# (type, kind, logical type, scanner's kind)
CASES = [
    (pa.string(), "string", "string", "string"),
    (pa.large_string(), "string", "string", "string"),
    (pa.string_view(), "string_view", None, "string"),  # masks do not read views; the scanner does
    (pa.bool_(), "boolean", "boolean", "boolean"),
    (pa.int8(), "integer", "integer", "integer"),
    (pa.uint64(), "integer", "integer", "integer"),
    (pa.float16(), "number", "number", "float"),
    (pa.float64(), "number", "number", "float"),
    (pa.decimal128(10, 2), "number", "number", "float"),
    (pa.timestamp("us", "UTC"), "timestamp", "timestamp", "temporal"),
    (pa.date32(), "date", "date", "temporal"),
    (pa.date64(), "date", "date", "temporal"),
    (pa.time64("ns"), "time", None, "temporal"),
    (pa.duration("ms"), "time", None, "temporal"),
    (pa.binary(), "binary", None, "binary"),
    (pa.binary(4), "binary", None, "binary"),
    (pa.large_binary(), "binary", None, "binary"),
    (pa.null(), "null", None, "null"),
    (pa.list_(pa.int32()), "array", "array", "nested"),
    (pa.large_list(pa.string()), "array", "array", "nested"),
    (pa.list_(pa.int8(), 3), "nested", None, "nested"),
    (pa.struct([("a", pa.int32())]), "nested", None, "nested"),
    (pa.map_(pa.string(), pa.int32()), "nested", None, "nested"),
    (pa.month_day_nano_interval(), "time", None, "temporal"),
    (pa.dense_union([pa.field("a", pa.int32())]), "nested", None, "nested"),
    (pa.dictionary(pa.int32(), pa.string()), "string", "string", "string"),
    (pa.dictionary(pa.int8(), pa.float32()), "number", "number", "float"),
]


@pytest.mark.parametrize(("t", "kind", "logical", "scanned"), CASES, ids=[str(c[0]) for c in CASES])
def test_one_classification_two_projections(t: pa.DataType, kind: str, logical: str | None, scanned: str) -> None:
    assert (arrow_kind(t), logical_type(t), scan_kind(t)) == (kind, logical, scanned)


def test_a_zoned_timestamp_renders_as_timestamptz_a_naive_one_as_its_logical_type() -> None:
    assert render_type(pa.timestamp("us", "UTC")) == "timestamptz"
    assert render_type(pa.timestamp("us")) == "timestamp"
    assert render_type(pa.binary()) is None
