"""The PostgreSQL frontend/backend protocol v3 message layer: encoders for what the server sends,
decoders for what a client sends, and the mapping of Arrow result types to PostgreSQL types.

Pure functions over bytes, no I/O: `server.py` reads frames and writes what these build. Every
decoder checks lengths and terminators and raises `ProtocolViolation` on anything malformed, so a
bad message becomes an error and a closed connection, never an exception escaping the server.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

# type OIDs (pg_type.oid) and their typlen, for RowDescription
OID_BOOL, OID_BYTEA, OID_INT8, OID_INT2, OID_INT4, OID_TEXT = 16, 17, 20, 21, 23, 25
OID_FLOAT4, OID_FLOAT8, OID_DATE, OID_TIME, OID_TIMESTAMP, OID_TIMESTAMPTZ = 700, 701, 1082, 1083, 1114, 1184
OID_NUMERIC = 1700
_TYPLEN = {OID_BOOL: 1, OID_INT2: 2, OID_INT4: 4, OID_INT8: 8, OID_FLOAT4: 4, OID_FLOAT8: 8,
           OID_DATE: 4, OID_TIME: 8, OID_TIMESTAMP: 8, OID_TIMESTAMPTZ: 8}


class ProtocolViolation(Exception):
    """A message that breaks the protocol (bad length, missing terminator, unknown code): the
    connection gets an 08P01 error and is closed."""


# ---------------------------------------------------------------- encoding


def message(kind: bytes, body: bytes = b"") -> bytes:
    """One backend message: its type byte, its length (counting itself) and its body."""
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str) -> bytes:
    """A NUL-terminated UTF-8 string (a NUL inside is dropped: it would end the field early)."""
    return text.replace("\x00", "").encode("utf-8") + b"\x00"


def authentication_ok() -> bytes:
    return message(b"R", struct.pack("!i", 0))


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!ii", pid, secret))


def ready_for_query(status: str) -> bytes:
    """`status` is I (idle), T (in a transaction block) or E (in a failed transaction block)."""
    return message(b"Z", status.encode("ascii"))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def error_response(sqlstate: str, text: str, severity: str = "ERROR", detail: str | None = None,
                   hint: str | None = None) -> bytes:
    """An ErrorResponse: severity (localised and not), SQLSTATE, message, optional detail/hint."""
    body = b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(sqlstate) + b"M" + cstr(text)
    if detail:
        body += b"D" + cstr(detail)
    if hint:
        body += b"H" + cstr(hint)
    return message(b"E", body + b"\x00")


def empty_query_response() -> bytes:
    return message(b"I")


def no_data() -> bytes:
    return message(b"n")


def parse_complete() -> bytes:
    return message(b"1")


def bind_complete() -> bytes:
    return message(b"2")


def close_complete() -> bytes:
    return message(b"3")


def portal_suspended() -> bytes:
    return message(b"s")


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!i", o) for o in oids))


@dataclass(frozen=True)
class Column:
    """One result column as RowDescription announces it, with how its values become text."""

    name: str
    oid: int


def row_description(columns: Sequence[Column], formats: Sequence[int] = ()) -> bytes:
    """The columns' names and types; `formats` the format code of each (text when empty)."""
    body = struct.pack("!h", len(columns))
    for i, column in enumerate(columns):
        # table oid 0, attribute 0, type oid, typlen, typmod -1, format (0 text, 1 binary)
        body += cstr(column.name) + struct.pack("!ihihih", 0, 0, column.oid, _TYPLEN.get(column.oid, -1), -1,
                                                 formats[i] if formats else 0)
    return message(b"T", body)


def data_row(values: Sequence[bytes | None]) -> bytes:
    parts = [struct.pack("!h", len(values))]
    for value in values:
        parts.append(struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value)
    return message(b"D", b"".join(parts))


# ---------------------------------------------------------------- result types and text forms


def type_oid(arrow_type: pa.DataType) -> int:
    """The PostgreSQL type a result column is announced as (text for anything without one)."""
    if pa.types.is_boolean(arrow_type):
        return OID_BOOL
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type) or pa.types.is_uint8(arrow_type):
        return OID_INT2
    if pa.types.is_int32(arrow_type) or pa.types.is_uint16(arrow_type):
        return OID_INT4
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return OID_INT8
    if pa.types.is_uint64(arrow_type) or pa.types.is_decimal(arrow_type):
        return OID_NUMERIC
    if pa.types.is_float16(arrow_type) or pa.types.is_float32(arrow_type):
        return OID_FLOAT4
    if pa.types.is_floating(arrow_type):
        return OID_FLOAT8
    if pa.types.is_date(arrow_type):
        return OID_DATE
    if pa.types.is_time(arrow_type):
        return OID_TIME
    if pa.types.is_timestamp(arrow_type):
        return OID_TIMESTAMPTZ if arrow_type.tz else OID_TIMESTAMP
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type) \
            or pa.types.is_fixed_size_binary(arrow_type):
        return OID_BYTEA
    return OID_TEXT


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def text_value(value: Any, oid: int) -> bytes | None:
    """A Python value (from Arrow) in PostgreSQL's text format for its announced type."""
    if value is None:
        return None
    if oid == OID_BOOL:
        text = "t" if value else "f"
    elif oid in (OID_FLOAT4, OID_FLOAT8):
        text = _float_text(float(value))
    elif oid == OID_BYTEA:
        text = "\\x" + bytes(value).hex()
    elif oid == OID_TIMESTAMPTZ and isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        text = utc.isoformat(sep=" ").removesuffix("+00:00") + "+00"
    elif oid == OID_TIMESTAMP and isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, decimal.Decimal):
        text = format(value, "f")
    elif oid == OID_TEXT and not isinstance(value, str):
        text = str(value)
    else:
        text = str(value)
    return text.encode("utf-8")


def result_columns(table: pa.Table) -> list[Column]:
    return [Column(field.name, type_oid(field.type)) for field in table.schema]


def column_text(column: pa.ChunkedArray | pa.Array, oid: int) -> list[bytes | None]:
    """Each value of a result column in its text format (None for NULL): exactly what
    `text_value` gives, computed by Arrow for whole columns where its text is the same (strings
    as their UTF-8 bytes, integers in decimal, booleans as t/f), value by value otherwise
    (floats, decimals, times and the rest, whose Arrow text differs from PostgreSQL's)."""
    kind = column.type
    if oid == OID_TEXT and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return column.cast(pa.binary() if pa.types.is_string(kind) else pa.large_binary()).to_pylist()
    if oid in (OID_INT2, OID_INT4, OID_INT8, OID_NUMERIC) and pa.types.is_integer(kind):
        return column.cast(pa.string()).cast(pa.binary()).to_pylist()
    if oid == OID_BOOL and pa.types.is_boolean(kind):
        return [None if v is None else (b"t" if v else b"f") for v in column.to_pylist()]
    if oid == OID_DATE and pa.types.is_date32(kind) and _within(column, pa.int32(), _DAYS):
        return column.cast(pa.string()).cast(pa.binary()).to_pylist()
    if (oid in (OID_TIMESTAMP, OID_TIMESTAMPTZ) and pa.types.is_timestamp(kind) and kind.unit == "us"
            and (kind.tz is not None) == (oid == OID_TIMESTAMPTZ) and _within(column, pa.int64(), _MICROS)):
        # the UTC wall clock, fractions only when not zero (isoformat), "+00" for an instant
        text = pc.replace_substring_regex(column.cast(pa.timestamp("us")).cast(pa.string()), r"\.000000$", "")
        if oid == OID_TIMESTAMPTZ:
            text = pc.binary_join_element_wise(text, pa.scalar("+00"), "")
        return text.cast(pa.binary()).to_pylist()
    return [text_value(v, oid) for v in column.to_pylist()]


# what Python's date and datetime hold (days and microseconds from 1970-01-01): Arrow prints the
# same text inside, value by value keeps what happens outside
_DAYS = (-719_162, 2_932_896)
_MICROS = (-62_135_596_800_000_000, 253_402_300_799_999_999)


def _within(column: pa.ChunkedArray | pa.Array, as_type: pa.DataType, bounds: tuple[int, int]) -> bool:
    found = pc.min_max(column.cast(as_type))
    low, high = found["min"].as_py(), found["max"].as_py()
    return low is None or (bounds[0] <= low and high <= bounds[1])


_NULL = struct.pack("!i", -1)


def result_rows(table: pa.Table, columns: Sequence[Column]) -> list[bytes]:
    """Every row of `table` as an encoded DataRow message (the same bytes as `data_row` of the
    `text_value`s, built column by column: see `column_text`)."""
    texts = [column_text(table.column(i), c.oid) for i, c in enumerate(columns)]
    count = struct.pack("!h", len(columns))
    rows: list[bytes] = []
    for values in zip(*texts, strict=True):
        body = count + b"".join(_NULL if v is None else len(v).to_bytes(4, "big") + v for v in values)
        rows.append(b"D" + (len(body) + 4).to_bytes(4, "big") + body)
    return rows


# ---------------------------------------------------------------- decoding


class Reader:
    """Reads the fields of one message body, checking every length against what is left."""

    def __init__(self, body: bytes) -> None:
        self.body, self.pos = body, 0

    def int16(self) -> int:
        return self._unpack("!h", 2)

    def int32(self) -> int:
        return self._unpack("!i", 4)

    def _unpack(self, fmt: str, size: int) -> int:
        if self.pos + size > len(self.body):
            raise ProtocolViolation("message shorter than its fields")
        (value,) = struct.unpack_from(fmt, self.body, self.pos)
        self.pos += size
        return int(value)

    def cstr(self) -> str:
        end = self.body.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolViolation("string field without its terminator")
        raw = self.body[self.pos:end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation("string field is not UTF-8") from None

    def bytes_(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.body):
            raise ProtocolViolation("field length beyond the message")
        raw = self.body[self.pos:self.pos + size]
        self.pos += size
        return raw

    def count(self) -> int:
        value = self.int16()
        if value < 0:
            raise ProtocolViolation("negative count")
        return value

    def done(self) -> None:
        if self.pos != len(self.body):
            raise ProtocolViolation("trailing bytes after the message's fields")


def startup_parameters(body: bytes) -> dict[str, str]:
    """The name/value pairs of a StartupMessage body (after the protocol version)."""
    reader = Reader(body)
    found: dict[str, str] = {}
    while True:
        name = reader.cstr()
        if not name:
            break
        found[name] = reader.cstr()
    reader.done()
    return found


@dataclass(frozen=True)
class Parse:
    statement: str
    query: str
    param_types: tuple[int, ...]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]
    param_formats: tuple[int, ...] = ()


def decode_parse(body: bytes) -> Parse:
    reader = Reader(body)
    statement, query = reader.cstr(), reader.cstr()
    types = tuple(reader.int32() for _ in range(reader.count()))
    reader.done()
    return Parse(statement, query, types)


def decode_bind(body: bytes) -> Bind:
    reader = Reader(body)
    portal, statement = reader.cstr(), reader.cstr()
    formats = [reader.int16() for _ in range(reader.count())]
    params: list[bytes | None] = []
    for _ in range(reader.count()):
        size = reader.int32()
        params.append(None if size == -1 else reader.bytes_(size))
    if len(formats) not in (0, 1, len(params)):
        raise ProtocolViolation("parameter format count does not match the parameters")
    results = tuple(reader.int16() for _ in range(reader.count()))
    reader.done()
    return Bind(portal, statement, tuple(params), results, tuple(formats))


def decode_target(body: bytes) -> tuple[str, str]:
    """Describe and Close: ('S' or 'P', name)."""
    reader = Reader(body)
    kind = reader.bytes_(1).decode("latin-1")
    name = reader.cstr()
    reader.done()
    if kind not in ("S", "P"):
        raise ProtocolViolation("Describe/Close target is neither S nor P")
    return kind, name


def decode_execute(body: bytes) -> tuple[str, int]:
    reader = Reader(body)
    portal, limit = reader.cstr(), reader.int32()
    reader.done()
    return portal, limit


def decode_query(body: bytes) -> str:
    reader = Reader(body)
    text = reader.cstr()
    reader.done()
    return text
