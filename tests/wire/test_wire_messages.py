"""The message layer's decoders on arbitrary bytes: a ProtocolViolation or a value, never any
other exception (which would end the connection without an error for the client); and the text
forms of result values as PostgreSQL prints them."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.wire import messages as m

DECODERS = [m.decode_parse, m.decode_bind, m.decode_target, m.decode_execute, m.decode_query,
            m.startup_parameters]


@pytest.mark.parametrize("decode", DECODERS, ids=lambda f: f.__name__)
@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200))
def test_decoders_raise_only_protocol_violations(decode, body: bytes) -> None:
    try:
        decode(body)
    except m.ProtocolViolation:
        pass


@given(statement=st.text(max_size=20), query=st.text(max_size=50),
       types=st.lists(st.integers(-2**31, 2**31 - 1), max_size=5))
def test_parse_round_trip(statement: str, query: str, types: list[int]) -> None:
    import struct

    statement, query = statement.replace("\x00", ""), query.replace("\x00", "")
    body = m.cstr(statement) + m.cstr(query) + struct.pack("!h", len(types)) + b"".join(
        struct.pack("!i", t) for t in types)
    assert m.decode_parse(body) == m.Parse(statement, query, tuple(types))


@pytest.mark.parametrize(("value", "arrow_type", "oid", "text"), [
    (True, pa.bool_(), m.OID_BOOL, "t"),
    (7, pa.int64(), m.OID_INT8, "7"),
    (7, pa.int32(), m.OID_INT4, "7"),
    (0.1, pa.float64(), m.OID_FLOAT8, "0.1"),
    (float("nan"), pa.float64(), m.OID_FLOAT8, "NaN"),
    (float("-inf"), pa.float32(), m.OID_FLOAT4, "-Infinity"),
    (decimal.Decimal("1.50"), pa.decimal128(5, 2), m.OID_NUMERIC, "1.50"),
    (dt.date(2024, 2, 29), pa.date32(), m.OID_DATE, "2024-02-29"),
    (dt.datetime(2024, 1, 2, 3, 4, 5), pa.timestamp("us"), m.OID_TIMESTAMP, "2024-01-02 03:04:05"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), pa.timestamp("us", "UTC"), m.OID_TIMESTAMPTZ,
     "2024-01-02 03:04:05.000006+00"),
    (b"\x00\xff", pa.binary(), m.OID_BYTEA, "\\x00ff"),
    ("a\x00b", pa.string(), m.OID_TEXT, "a\x00b"),
])
def test_text_forms(value, arrow_type, oid: int, text: str) -> None:
    assert m.type_oid(arrow_type) == oid
    assert m.text_value(value, oid) == text.encode()


def test_null_is_minus_one_length() -> None:
    assert m.data_row([None, b"x"]) == b"D" + bytes.fromhex("0000000f" "0002" "ffffffff" "00000001") + b"x"


def _slow_rows(table: pa.Table, columns) -> list[bytes]:
    """DataRows value by value with `text_value`: what the column-wise encoder must equal."""
    values = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [m.data_row([m.text_value(v[r], c.oid) for v, c in zip(values, columns, strict=True)])
            for r in range(table.num_rows)]


_COLUMNS = {
    "s": (pa.string(), st.text()), "ls": (pa.large_string(), st.text()),
    "i8": (pa.int8(), st.integers(-128, 127)), "i16": (pa.int16(), st.integers(-2**15, 2**15 - 1)),
    "i32": (pa.int32(), st.integers(-2**31, 2**31 - 1)), "i64": (pa.int64(), st.integers(-2**63, 2**63 - 1)),
    "u32": (pa.uint32(), st.integers(0, 2**32 - 1)), "u64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "b": (pa.bool_(), st.booleans()), "f": (pa.float64(), st.floats()),
    "d": (pa.date32(), st.dates()), "dec": (pa.decimal128(12, 3), st.decimals(min_value=-10**8, max_value=10**8,
                                                                            places=3, allow_nan=False)),
    "bin": (pa.binary(), st.binary()),
    "ts": (pa.timestamp("us"), st.datetimes()),
    "tz": (pa.timestamp("us", "UTC"), st.datetimes(timezones=st.just(dt.UTC))),
    "berlin": (pa.timestamp("us", "Europe/Berlin"), st.datetimes(min_value=dt.datetime(1900, 1, 1),
                                                                  timezones=st.just(dt.UTC))),
    "ms": (pa.timestamp("ms"), st.datetimes().map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))),
}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), rows=st.integers(0, 12))
def test_column_wise_rows_equal_value_by_value_text(data, rows: int) -> None:
    """The column-wise encoder gives byte for byte the DataRows of `text_value`, NULLs included."""
    arrays = {}
    for name, (arrow_type, values) in _COLUMNS.items():
        arrays[name] = pa.array(data.draw(st.lists(st.none() | values, min_size=rows, max_size=rows)), arrow_type)
    table = pa.table(arrays)
    if rows:  # several chunks too, as DuckDB hands them over
        table = pa.concat_tables([table.slice(0, rows // 2), table.slice(rows // 2)])
    columns = m.result_columns(table)
    assert m.result_rows(table, columns) == _slow_rows(table, columns)
