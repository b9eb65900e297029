"""What kind of values an Arrow type holds: one classification for every stage that reads Arrow
data. Enforcement asks for the catalog's logical type (what a mask may read), the scanner for its
coarser kinds (which recognizers may apply, what is skipped); both are projections of
`arrow_kind`, so a type is classified in one place."""

from __future__ import annotations

import pyarrow as pa

# The catalog's logical types an Arrow kind is (the rest have none: masks cannot read them).
LOGICAL_KINDS = frozenset({"string", "boolean", "integer", "number", "timestamp", "date", "array"})
# The scanner's words where they differ from the kinds.
_SCAN_KINDS = {"number": "float", "timestamp": "temporal", "date": "temporal", "time": "temporal",
               "string_view": "string", "array": "nested"}


def arrow_kind(t: pa.DataType) -> str:
    """The kind of `t`: string, string_view, boolean, integer, number (floating point and
    decimal), timestamp, date, time (times of day, durations, intervals), binary, null, array (a list or
    large list), nested (other lists, structs, maps, unions), or other. A dictionary-encoded type
    is the kind of its values."""
    if pa.types.is_dictionary(t):
        return arrow_kind(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_string_view(t):
        return "string_view"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_temporal(t):
        return "time"
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_binary_view(t)):
        return "binary"
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    if pa.types.is_nested(t):
        return "nested"
    return "other"


def logical_type(t: pa.DataType) -> str | None:
    """The catalog's logical type of `t` (what mask rendering needs to know); None for a type
    masks cannot read (binary, structs, string views, ...)."""
    kind = arrow_kind(t)
    return kind if kind in LOGICAL_KINDS else None


def scan_kind(t: pa.DataType) -> str:
    """The scanner's kind of `t`: string (views too), boolean, integer, float, temporal, binary,
    null, nested or other."""
    kind = arrow_kind(t)
    return _SCAN_KINDS.get(kind, kind)
