"""Apply a Decision to Arrow data through DuckDB's Arrow scan, returning Arrow.

DuckDB reads the Arrow buffers in place (no copy into DuckDB storage), runs the same SQL that
`to_sql(..., dialect="duckdb")` renders, and hands the result back as Arrow. The connection is
private to the call, runs with TimeZone=UTC (timestamps are compared and truncated in UTC) and
with external access disabled, so the enforcement query can read nothing but the given data.
Timestamp columns with a time zone are rendered as `timestamptz`: masked in UTC whatever the zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from policyengine.catalog.arrow_kinds import logical_type as arrow_logical_type
from policyengine.enforce.sql import RenderError, render
from policyengine.engine.decision import Decision
from policyengine.language.masks import STRATEGIES

_SOURCE = "__pe_input"


def render_type(t: pa.DataType) -> str | None:
    """The type enforcement renders a column of Arrow type `t` as: its logical type, but
    `timestamptz` for a timestamp with a time zone (masked as its UTC instant)."""
    if pa.types.is_timestamp(t) and t.tz is not None:
        return "timestamptz"
    return arrow_logical_type(t)


# Run once a connection holds what it may read: no files, no extensions, no setting changes after.
LOCK_DOWN = ("SET enable_external_access = false", "SET autoinstall_known_extensions = false",
             "SET autoload_known_extensions = false", "SET lock_configuration = true")


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """Disable external access and extension loading, then lock the configuration."""
    for statement in LOCK_DOWN:
        con.execute(statement)


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection for enforcement: UTC, no external access, locked."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    lock_down(con)
    return con


def _check_columns(decision: Decision, schema: pa.Schema) -> None:
    missing = [c for c in decision.readable_columns if c not in schema.names]
    if missing:
        raise RenderError(f"the data has no column {', '.join(repr(m) for m in missing)} that the decision "
                          f"for {decision.product} reads (fail closed: nothing returned)")


def _check_masks_fit(decision: Decision, schema: pa.Schema) -> None:
    """Every mask must know the data's actual type (the catalog may have drifted from the data):
    `email_domain` over a struct would print the struct's other fields. Only `null` and `redact`,
    which never read the value, apply to types masks do not know (structs, binary, maps)."""
    for name, cd in decision.columns.items():
        if cd.effect != "mask" or not cd.strategy or name not in schema.names:
            continue
        arrow_type = schema.field(name).type
        logical = arrow_logical_type(arrow_type)
        if not STRATEGIES[cd.strategy].reads_value:
            continue
        if logical is None:
            raise RenderError(f"mask '{cd.strategy}' does not fit column '{name}' of type {arrow_type} in the "
                              f"data for {decision.product} (fail closed: nothing returned)")


def enforce(table: pa.Table | pa.RecordBatchReader, decision: Decision, *,
            hash_key: bytes | str | None = None, allow_unkeyed_hash: bool = False,
            types: Mapping[str, str] | None = None) -> pa.Table | pa.RecordBatchReader:
    """`table` with `decision` applied: masked columns, denied ones dropped, rows filtered.

    A `pyarrow.Table` gives a Table; a `RecordBatchReader` gives a reader streaming the result
    batch by batch. Columns the decision does not mention are left out (not decided = not
    readable). `types` overrides the logical types read from the Arrow schema (a timestamp with a
    time zone reads as `timestamptz`). `hash_key` is the HMAC key of `hash` masks; without one a
    `hash` column is refused (UnkeyedHash) unless `allow_unkeyed_hash` (plain SHA-256).
    """
    schema = table.schema
    _check_columns(decision, schema)
    _check_masks_fit(decision, schema)
    logical = {f.name: render_type(f.type) for f in schema}
    logical.update(types or {})
    rendered = render(decision, _SOURCE, "duckdb", types={k: v for k, v in logical.items() if v},
                      hash_key=hash_key, allow_unkeyed_hash=allow_unkeyed_hash)
    con = connect()
    con.register(_SOURCE, table)
    params: Any = rendered.bind
    relation = con.sql(rendered.sql, params=params)
    if isinstance(table, pa.RecordBatchReader):
        return relation.to_arrow_reader(batch_size=1 << 17)
    return relation.to_arrow_table()
