"""A real PostgreSQL as the gateway's backend: the rewritten SQL runs there, the key and other
parameters bound server-side by psycopg (never spliced into the text).

`PostgresGateway` has the interface the protocol server and the introspection use from the
embedded `Gateway` (`engine`, `rewrite`, `query`), so `WireServer(PostgresGateway(...))` serves
PostgreSQL's tables through the same enforcement. Each product is read from a table named by
`table` (a template over `{domain}` and `{name}`; by default `{domain}.{name}`). Every
connection is read-only (`default_transaction_read_only`) and in UTC; a failure in PostgreSQL is
named by its class and SQLSTATE only (its text can quote a value).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pyarrow as pa

from policyengine.enforce.gateway import EngineError, Rewritten, rewrite_query
from policyengine.enforce.sql import resolve_key

# result type OIDs -> Arrow types (anything else is read as text)
_ARROW = {16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 26: pa.int64(), 700: pa.float32(),
          701: pa.float64(), 1082: pa.date32(), 1083: pa.time64("us"), 1114: pa.timestamp("us"),
          1184: pa.timestamp("us", tz="UTC"), 17: pa.binary()}


class PostgresGateway:
    """Rewrite and run queries for consumers on a PostgreSQL server (`dsn`, libpq form)."""

    backend_name = "PostgreSQL"  # what version() says

    def __init__(self, engine: Any, dsn: str, *, table: str = "{domain}.{name}", hash_key: bytes | str | None = None,
                 allow_unkeyed_hash: bool = False, hash_key_env: str = "POLICYENGINE_HASH_KEY") -> None:
        import psycopg  # noqa: F401  (the `postgres` extra; fail at start-up, not at the first query)

        self.engine = engine
        self.dsn = dsn
        self.table = table
        self.hash_key = resolve_key(hash_key)
        self.allow_unkeyed_hash = allow_unkeyed_hash
        self.hash_key_env = hash_key_env
        self._local = threading.local()  # one connection per worker thread
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._connection()  # connect now: a bad DSN is an error at start-up

    def source(self, product: str) -> str:
        domain, _, name = product.partition(".")
        return self.table.format(domain=domain, name=name)

    def _connection(self) -> Any:
        import psycopg

        con = getattr(self._local, "con", None)
        if con is None or con.closed:
            con = psycopg.connect(self.dsn, autocommit=True, options="-c default_transaction_read_only=on "
                                                                    "-c TimeZone=UTC")
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def rewrite(self, sql: str, consumer: Any, purpose: str | None = None, at: dt.datetime | None = None) -> Rewritten:
        return rewrite_query(sql, consumer, self.engine, purpose, "postgres", read="postgres", sources=self.source,
                             hash_key=self.hash_key, at=at, allow_unkeyed_hash=self.allow_unkeyed_hash,
                             hash_key_env=self.hash_key_env)

    def cursor(self) -> _Cancellable:
        """The calling worker thread's connection as a handle the server's worker pool can
        interrupt (a PostgreSQL cancel request): what a DuckDB cursor is for the embedded backend."""
        return _Cancellable(self._connection())

    def query(self, sql: str, consumer: Any, purpose: str | None = None, at: dt.datetime | None = None,
              *, cursor: Any = None) -> pa.Table:
        """Rewrite `sql` for `consumer` and run it on PostgreSQL with its parameters bound by the
        server; the result as an Arrow table. `cursor` is accepted for the worker pool's sake:
        each worker thread runs on its own connection anyway."""
        import psycopg

        rewritten = self.rewrite(sql, consumer, purpose, at)
        try:
            with self._connection().cursor() as cursor:
                cursor.execute(rewritten.sql, rewritten.bind)
                description = cursor.description or []
                rows = cursor.fetchall() if description else []
        except psycopg.Error as exc:
            state = getattr(exc, "sqlstate", None) or "?"
            raise EngineError(f"the query failed in PostgreSQL: {type(exc).__name__} (SQLSTATE {state}; the "
                              "server's message is not shown: it may quote a value)") from None
        names = [d.name for d in description]
        columns = [[row[i] for row in rows] for i in range(len(names))]
        arrays = [_array(values, d.type_code) for values, d in zip(columns, description, strict=True)]
        return pa.Table.from_arrays(arrays, names=names) if names else pa.table({})

    def close(self) -> None:
        with self._lock:
            for con in self._connections:
                con.close()
            self._connections.clear()


class _Cancellable:
    """One worker's PostgreSQL connection, interruptible from another thread."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def interrupt(self) -> None:
        cancel = getattr(self.con, "cancel_safe", None) or self.con.cancel
        try:
            cancel()
        except Exception:  # noqa: BLE001 - the statement may have ended meanwhile: nothing to stop
            pass

    def close(self) -> None:
        """Nothing: the connection stays the thread's (closed with the gateway)."""


def _array(values: list[Any], oid: int) -> pa.Array:
    import decimal

    kind = _ARROW.get(oid)
    if kind is not None:
        return pa.array(values, kind)
    if oid == 1700:
        exponents = [v.as_tuple().exponent for v in values if isinstance(v, decimal.Decimal)]
        scale = max((-e for e in exponents if isinstance(e, int)), default=0)
        return pa.array(values, pa.decimal128(38, max(0, min(scale, 37))))
    return pa.array([None if v is None else v if isinstance(v, str) else str(v) for v in values], pa.string())
