"""Values in PostgreSQL's binary format (result columns a client asks for in binary, and
parameters it sends in binary), and parameters in text format read as the type they are sent
as. Pure functions over bytes, no I/O.

A value that does not fit its type is a `ValueProblem` naming the type, never the value (the
client's own value, but it may be a secret guessed at, and errors are logged).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from policyengine.wire import messages as m

OID_NAME, OID_CHAR, OID_JSON, OID_BPCHAR, OID_VARCHAR, OID_UUID, OID_JSONB = 19, 18, 114, 1042, 1043, 2950, 3802
OID_OID, OID_UNKNOWN = 26, 705

_EPOCH_DATE = dt.date(2000, 1, 1)
_EPOCH = dt.datetime(2000, 1, 1)
_EPOCH_TZ = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_NUMERIC_POS, _NUMERIC_NEG, _NUMERIC_NAN = 0x0000, 0x4000, 0xC000


class ValueProblem(ValueError):
    """A parameter value that does not fit its type, or a value a result type cannot carry."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


_TYPE_NAMES = {m.OID_BOOL: "boolean", m.OID_INT2: "smallint", m.OID_INT4: "integer", m.OID_INT8: "bigint",
               m.OID_FLOAT4: "real", m.OID_FLOAT8: "double precision", m.OID_NUMERIC: "numeric",
               m.OID_DATE: "date", m.OID_TIME: "time", m.OID_TIMESTAMP: "timestamp",
               m.OID_TIMESTAMPTZ: "timestamp with time zone", m.OID_BYTEA: "bytea"}
TEXT_OIDS = frozenset({0, m.OID_TEXT, OID_VARCHAR, OID_BPCHAR, OID_NAME, OID_CHAR, OID_UNKNOWN, OID_JSON,
                       OID_JSONB, OID_UUID})


def _bad(oid: int) -> ValueProblem:
    return ValueProblem("22P02", f"invalid input syntax for type {_TYPE_NAMES.get(oid, str(oid))} "
                                 "(the value is not shown)")


# ---------------------------------------------------------------- numeric


def encode_numeric(value: decimal.Decimal) -> bytes:
    """PostgreSQL's binary numeric: base-10000 digits with a weight, a sign and a display scale."""
    if value.is_nan():
        return struct.pack("!hhHh", 0, 0, _NUMERIC_NAN, 0)
    if value.is_infinite():
        raise ValueProblem("22003", "an infinite numeric has no binary form in protocol 3.0")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent)
    text = "".join(map(str, digits))
    # place the decimal point: integer part and fraction, each padded to groups of four
    if exponent >= 0:
        whole, frac = text + "0" * exponent, ""
    else:
        cut = len(text) + exponent
        whole, frac = (text[:cut], text[cut:]) if cut > 0 else ("", "0" * -cut + text)
    whole = whole.lstrip("0")
    whole = "0" * (-len(whole) % 4) + whole
    frac = frac + "0" * (-len(frac) % 4)
    groups = [int(whole[i:i + 4]) for i in range(0, len(whole), 4)] + \
             [int(frac[i:i + 4]) for i in range(0, len(frac), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:  # leading zero groups move the weight
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = struct.pack("!hhHh", len(groups), weight, _NUMERIC_NEG if sign else _NUMERIC_POS, dscale)
    return head + b"".join(struct.pack("!H", g) for g in groups)


def decode_numeric(raw: bytes) -> decimal.Decimal:
    if len(raw) < 8:
        raise _bad(m.OID_NUMERIC)
    count, weight, sign, dscale = struct.unpack_from("!hhHh", raw)
    if count < 0 or len(raw) != 8 + 2 * count or dscale < 0:
        raise _bad(m.OID_NUMERIC)
    if sign == _NUMERIC_NAN:
        return decimal.Decimal("NaN")
    if sign not in (_NUMERIC_POS, _NUMERIC_NEG):
        raise _bad(m.OID_NUMERIC)
    groups = struct.unpack_from(f"!{count}H", raw, 8)
    if any(g > 9999 for g in groups):
        raise _bad(m.OID_NUMERIC)
    value = decimal.Decimal(0)
    with decimal.localcontext() as ctx:
        ctx.prec = max(28, 4 * (count + abs(weight)) + 8)
        for i, group in enumerate(groups):
            value += decimal.Decimal(group).scaleb(4 * (weight - i))
        value = value.quantize(decimal.Decimal(1).scaleb(-dscale)) if dscale or count else value
        return -value if sign == _NUMERIC_NEG else value


# ---------------------------------------------------------------- results in binary


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _encode_float(value: Any, fmt: str) -> bytes:
    return struct.pack(fmt, float(value))


def _encode_time(value: dt.time) -> bytes:
    return struct.pack("!q", ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000
                       + value.microsecond)


def _encode_timestamp(value: dt.datetime) -> bytes:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return struct.pack("!q", _micros(value - _EPOCH))


def _encode_text(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


_ENCODERS: dict[int, Callable[[Any], bytes]] = {
    m.OID_BOOL: lambda v: b"\x01" if v else b"\x00",
    m.OID_INT2: lambda v: struct.pack("!h", int(v)),
    m.OID_INT4: lambda v: struct.pack("!i", int(v)),
    m.OID_INT8: lambda v: struct.pack("!q", int(v)),
    m.OID_FLOAT4: lambda v: _encode_float(v, "!f"),
    m.OID_FLOAT8: lambda v: _encode_float(v, "!d"),
    m.OID_NUMERIC: lambda v: encode_numeric(v if isinstance(v, decimal.Decimal) else decimal.Decimal(v)),
    m.OID_DATE: lambda v: struct.pack("!i", (v - _EPOCH_DATE).days),
    m.OID_TIME: _encode_time,
    m.OID_TIMESTAMP: _encode_timestamp,
    m.OID_TIMESTAMPTZ: _encode_timestamp,
    m.OID_BYTEA: bytes,
}


def binary_value(value: Any, oid: int) -> bytes | None:
    """A Python value (from Arrow) in PostgreSQL's binary format for its announced type."""
    if value is None:
        return None
    encode = _ENCODERS.get(oid, _encode_text)
    try:
        return encode(value)
    except (struct.error, OverflowError, TypeError, ValueError, decimal.InvalidOperation):
        raise ValueProblem("22003", f"a result value does not fit {_TYPE_NAMES.get(oid, 'its type')} "
                                    "in binary format") from None


def result_formats(codes: Sequence[int], width: int) -> tuple[int, ...]:
    """Bind's result-format codes for `width` columns: none (all text), one (all), or one each.
    ValueProblem (08P01) for another count or a code other than 0 and 1."""
    if any(code not in (0, 1) for code in codes):
        raise ValueProblem("08P01", "result format codes must be 0 (text) or 1 (binary)")
    if len(codes) == 0:
        return (0,) * width
    if len(codes) == 1:
        return (codes[0],) * width
    if len(codes) != width:
        raise ValueProblem("08P01", f"bind message has {len(codes)} result formats but the query has "
                                    f"{width} columns")
    return tuple(codes)


def result_rows(table: pa.Table, columns: Sequence[m.Column], formats: Sequence[int]) -> list[bytes]:
    """Every row of `table` as a DataRow, each column in its format (0 text, 1 binary)."""
    oids = [c.oid for c in columns]
    values = [table.column(i).to_pylist() for i in range(table.num_columns)]
    encoders = [binary_value if f else m.text_value for f in formats]
    return [m.data_row([enc(v[r], oid) for v, oid, enc in zip(values, oids, encoders, strict=True)])
            for r in range(table.num_rows)]


# ---------------------------------------------------------------- parameters


def _decode_date(raw: bytes) -> dt.date:
    return _EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", raw)[0])


_DECODERS: dict[int, Callable[[bytes], Any]] = {
    m.OID_BOOL: lambda raw: {b"\x01": True, b"\x00": False}[raw],
    m.OID_INT2: lambda raw: struct.unpack("!h", raw)[0],
    m.OID_INT4: lambda raw: struct.unpack("!i", raw)[0],
    m.OID_INT8: lambda raw: struct.unpack("!q", raw)[0],
    OID_OID: lambda raw: struct.unpack("!I", raw)[0],
    m.OID_FLOAT4: lambda raw: struct.unpack("!f", raw)[0],
    m.OID_FLOAT8: lambda raw: struct.unpack("!d", raw)[0],
    m.OID_NUMERIC: decode_numeric,
    m.OID_DATE: _decode_date,
    m.OID_TIME: lambda raw: (dt.datetime.min + dt.timedelta(microseconds=struct.unpack("!q", raw)[0])).time(),
    m.OID_TIMESTAMP: lambda raw: _EPOCH + dt.timedelta(microseconds=struct.unpack("!q", raw)[0]),
    m.OID_TIMESTAMPTZ: lambda raw: _EPOCH_TZ + dt.timedelta(microseconds=struct.unpack("!q", raw)[0]),
    m.OID_BYTEA: bytes,
}

_TRUE = {"t", "true", "y", "yes", "on", "1"}
_FALSE = {"f", "false", "n", "no", "off", "0"}


def _text_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(word)


def _text_float(text: str) -> float:
    value = float(text)
    if math.isnan(value) and text.strip().lower() != "nan":
        raise ValueError(text)
    return value


def _text_bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    out, i = bytearray(), 0
    raw = text.encode("latin-1")
    while i < len(raw):  # the escape format: \\ and \ooo
        if raw[i:i + 1] == b"\\":
            if raw[i + 1:i + 2] == b"\\":
                out.append(92)
                i += 2
                continue
            out.append(int(raw[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _text_timestamptz(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


_TEXT_DECODERS: dict[int, Callable[[str], Any]] = {
    m.OID_BOOL: _text_bool,
    m.OID_INT2: int, m.OID_INT4: int, m.OID_INT8: int, OID_OID: int,
    m.OID_FLOAT4: _text_float, m.OID_FLOAT8: _text_float,
    m.OID_NUMERIC: decimal.Decimal,
    m.OID_DATE: lambda t: dt.date.fromisoformat(t.strip()),
    m.OID_TIME: lambda t: dt.time.fromisoformat(t.strip()),
    m.OID_TIMESTAMP: lambda t: dt.datetime.fromisoformat(t.strip()).replace(tzinfo=None),
    m.OID_TIMESTAMPTZ: _text_timestamptz,
    m.OID_BYTEA: _text_bytea,
}


def parameter_value(raw: bytes | None, oid: int, binary: bool) -> Any:
    """One Bind parameter as the Python value DuckDB binds: decoded from its format as the type
    `oid` (the client's or the one the server described); text types and an unspecified type
    stay a string, which the engine casts where the query needs another type."""
    if raw is None:
        return None
    try:
        if binary and oid == OID_UUID:
            return str(uuid.UUID(bytes=raw))
        if binary and oid == OID_JSONB:  # a version byte, then the text
            if raw[:1] != b"\x01":
                raise ValueError("jsonb version")
            return raw[1:].decode("utf-8")
        if oid in TEXT_OIDS:
            return raw.decode("utf-8")
        if binary:
            decoder = _DECODERS.get(oid)
            if decoder is None:
                raise ValueProblem("0A000", f"parameters of type {oid} in binary format are not supported "
                                            "by the gateway; send them as text")
            return decoder(raw)
        text = raw.decode("utf-8")
        text_decoder = _TEXT_DECODERS.get(oid)
        if text_decoder is None:
            return text
        if oid == m.OID_NUMERIC and text.strip().lower() == "nan":
            return decimal.Decimal("NaN")
        return text_decoder(text)
    except ValueProblem:
        raise
    except (ValueError, KeyError, struct.error, OverflowError, UnicodeDecodeError, decimal.InvalidOperation):
        raise _bad(oid) from None


def parameter_values(raws: Sequence[bytes | None], formats: Sequence[int], oids: Sequence[int]) -> list[Any]:
    """Bind's parameters decoded: `formats` none (all text), one (all) or one each; `oids` the
    statement's parameter types (0 where unspecified)."""
    if any(code not in (0, 1) for code in formats):
        raise ValueProblem("08P01", "parameter format codes must be 0 (text) or 1 (binary)")
    codes = list(formats) * len(raws) if len(formats) == 1 else list(formats) or [0] * len(raws)
    return [parameter_value(raw, oids[i] if i < len(oids) else 0, bool(codes[i]))
            for i, raw in enumerate(raws)]


# DuckDB's type names (DESCRIBE) as the PostgreSQL type a parameter compared with them is described as
_DUCKDB_OIDS = {"BOOLEAN": m.OID_BOOL, "TINYINT": m.OID_INT2, "SMALLINT": m.OID_INT2, "UTINYINT": m.OID_INT2,
                "INTEGER": m.OID_INT4, "USMALLINT": m.OID_INT4, "BIGINT": m.OID_INT8, "UINTEGER": m.OID_INT8,
                "UBIGINT": m.OID_NUMERIC, "HUGEINT": m.OID_NUMERIC, "FLOAT": m.OID_FLOAT4,
                "DOUBLE": m.OID_FLOAT8, "DATE": m.OID_DATE, "TIME": m.OID_TIME, "TIMESTAMP": m.OID_TIMESTAMP,
                "TIMESTAMP WITH TIME ZONE": m.OID_TIMESTAMPTZ, "BLOB": m.OID_BYTEA, "VARCHAR": m.OID_TEXT,
                # the names sqlglot writes for a cast's target in DuckDB SQL
                "INT": m.OID_INT4, "REAL": m.OID_FLOAT4, "TIMESTAMPTZ": m.OID_TIMESTAMPTZ, "TEXT": m.OID_TEXT}


def duckdb_type_oid(name: str) -> int:
    """The PostgreSQL type of a DuckDB type name (DESCRIBE's column_type); text if none fits."""
    upper = name.upper()
    if upper.startswith("DECIMAL"):
        return m.OID_NUMERIC
    return _DUCKDB_OIDS.get(upper, m.OID_TEXT)
