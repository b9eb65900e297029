"""Seed data for the cross-engine conformance tests: the example mesh plus awkward rows.

Every product of examples/mesh is loaded from its sample (through DuckDB, as the gateway loads
it), cut to a compact head, and extended with awkward rows: nulls, non-ASCII text, values shorter
than what masks keep, several `@`, `%` and quotes, pre-1970 and year-boundary instants (in UTC and
in New York), 2.675 and 1e-7. Columns with few distinct values (regions, statuses: what row
filters test) keep sample values, with a null now and then, so awkward rows stay visible.

`awkward_table()` is one hand-made table with a column of every type masks fit (and a time-zone
column in America/New_York), for the hand-made decisions that cover every mask strategy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

MESH = Path(__file__).resolve().parents[2] / "examples" / "mesh"
HEAD = 12  # sample rows kept per product (compact: every engine runs every decision on them)
NY = ZoneInfo("America/New_York")
UTC = dt.UTC

TEXTS = [None, "Zoë Ångström 名前 😀", "ab", "a@b@c.example", "", "O'Brien \\ %s %(pe_hash_key)s",
         "x", "ünï@cödé.example", "1234567"]
INTEGERS = [None, 0, -7, 12, 1234567, -(2**40), 99999]
FLOATS = [None, 2.675, 1e-7, 107000.0, -2.5, 123456.789, 0.5, -0.0, 1e-300, 12345678901234.5]
DATES = [None, dt.date(1969, 12, 31), dt.date(1899, 12, 31), dt.date(2024, 12, 31), dt.date(2025, 1, 1),
         dt.date(2000, 2, 29), dt.date(1, 1, 1)]
INSTANTS = [None, dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(1900, 1, 1, 0, 0, tzinfo=UTC),
            dt.datetime(2024, 12, 31, 23, 30, tzinfo=NY),  # 2025-01-01 04:30 UTC
            dt.datetime(2025, 1, 1, 3, 0, tzinfo=UTC),  # still 2024 in New York
            dt.datetime(2024, 1, 1, 0, 0, tzinfo=UTC), dt.datetime(2024, 3, 10, 7, 30, 0, 120000, tzinfo=UTC),
            dt.datetime(2025, 11, 2, 5, 30, tzinfo=UTC)]  # 01:30 in New York, an ambiguous wall clock
WALL_CLOCKS = [None if v is None else v.astimezone(UTC).replace(tzinfo=None) for v in INSTANTS]
BOOLS = [None, True, False]
CATEGORICAL = 12  # a string column with at most this many distinct values keeps sample values


def _awkward(t: pa.DataType, i: int, sample: pa.ChunkedArray) -> object:
    """The i-th awkward value for a column of type `t` (its sample `sample`)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        distinct = [v for v in sample.unique().to_pylist() if v is not None]
        if len(distinct) <= CATEGORICAL:
            return None if i % 4 == 3 else distinct[i % len(distinct)]
        return TEXTS[i % len(TEXTS)]
    if pa.types.is_boolean(t):
        return BOOLS[i % len(BOOLS)] if i % 2 else True
    if pa.types.is_integer(t):
        return INTEGERS[i % len(INTEGERS)]
    if pa.types.is_floating(t):
        return FLOATS[i % len(FLOATS)]
    if pa.types.is_date(t):
        return DATES[i % len(DATES)]
    if pa.types.is_timestamp(t):
        return (INSTANTS if t.tz else WALL_CLOCKS)[i % len(INSTANTS)]
    raise TypeError(f"no awkward values for {t}")


AWKWARD_ROWS = 10


def _read_sample(path: Path) -> pa.Table:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    return con.sql(f"SELECT * FROM {reader}(?)", params=[str(path)]).to_arrow_table()


def mesh_tables() -> dict[str, pa.Table]:
    """product name -> its seed table (sample head + awkward rows)."""
    tables: dict[str, pa.Table] = {}
    for path in sorted((MESH / "samples").iterdir()):
        product = path.stem
        sample = _read_sample(path)
        head = sample.slice(0, HEAD)
        extra = {f.name: pa.array([_awkward(f.type, i, sample.column(f.name)) for i in range(AWKWARD_ROWS)],
                                  f.type) for f in sample.schema}
        tables[product] = pa.concat_tables([head, pa.table(extra, schema=sample.schema)])
    return tables


def awkward_table() -> pa.Table:
    """A hand-made table: one column per type masks fit, awkward values, a row id."""
    n = max(len(TEXTS), len(FLOATS), len(INSTANTS))
    emails = [None, "alice@example.com", "a@b@c.example", "no-at-sign", "@", "ünï@cödé.example", "x@", "",
              "O'Brien@ex%ample.com", "a@@b"]
    columns = {
        "id": pa.array(range(n), pa.int64()),
        "region": pa.array([["uk", "eu", "us", None][i % 4] for i in range(n)], pa.string()),
        "s": pa.array([TEXTS[i % len(TEXTS)] for i in range(n)], pa.string()),
        "email": pa.array([emails[i % len(emails)] for i in range(n)], pa.string()),
        "i": pa.array([INTEGERS[i % len(INTEGERS)] for i in range(n)], pa.int64()),
        "f": pa.array([FLOATS[i % len(FLOATS)] for i in range(n)], pa.float64()),
        "d": pa.array([DATES[i % len(DATES)] for i in range(n)], pa.date32()),
        "ts": pa.array([WALL_CLOCKS[i % len(WALL_CLOCKS)] for i in range(n)], pa.timestamp("us")),
        "tsz": pa.array([INSTANTS[i % len(INSTANTS)] for i in range(n)], pa.timestamp("us", tz="UTC")),
        "tsny": pa.array([INSTANTS[(i + 3) % len(INSTANTS)] for i in range(n)],
                         pa.timestamp("us", tz="America/New_York")),
        "b": pa.array([BOOLS[i % len(BOOLS)] for i in range(n)], pa.bool_()),
    }
    return pa.table(columns)
