"""The gateway as a PostgreSQL server: asyncio connections speaking protocol v3, every statement
run through the reference gateway's rewrite (`policyengine.enforce.gateway.Gateway`) as the
consumer the login names.

One `WireServer` owns the `Gateway` and the limits; one `_Connection` per client runs the
start-up (SSLRequest answered 'N', StartupMessage, authentication) and then the simple and the
extended query protocol. Anything the server cannot parse or enforce is an ErrorResponse with a
SQLSTATE, never passed through; the engine's own text is never shown (it may quote a value).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from policyengine.enforce.bound import Placeheld, placehold
from policyengine.enforce.gateway import (
    DeniedColumn,
    EngineError,
    Gateway,
    GatewayError,
    RejectedStatement,
    UnkeyedHash,
    UnknownSource,
    typed_name,
)
from policyengine.wire import binary, introspection
from policyengine.wire import messages as m
from policyengine.wire.copy import CopyRefused, copy_messages, parse_copy
from policyengine.wire.credentials import ITERATIONS, ScramExchange, ScramFailure, Verifier
from policyengine.wire.cursors import CursorError, parse_close, parse_declare, parse_fetch
from policyengine.wire.params import column_lookup, parameter_types
from policyengine.wire.tls import (
    TlsError,
    TlsSettings,
    certificate_login,
    server_context,
    tls_settings,
)

log = logging.getLogger("policyengine.wire")

SERVER_VERSION = "16.0"
AUTH_METHODS = ("refuse", "trust", "scram-sha-256")
SASL_OK, SASL, SASL_CONTINUE, SASL_FINAL = 0, 10, 11, 12


@dataclass(frozen=True)
class WireSettings:
    """The `gateway:` section of policyengine.yaml: where to listen, how logins are checked, limits."""

    host: str = "127.0.0.1"
    port: int = 5433
    # refuse every login; trust: a known consumer's name, from loopback only; scram-sha-256: a
    # password checked against the credential store (`credentials`, `policyengine gateway passwd`)
    auth: str = "refuse"
    credentials: str = ""  # the credential store's path (scram-sha-256)
    auth_failure_delay: float = 1.0  # seconds before a failed login is answered (slows guessing)
    max_message: int = 1 << 20  # bytes; a larger message is an error and the connection is closed
    max_connections: int = 64
    idle_timeout: float = 300.0  # seconds without a message before the connection is closed
    statement_timeout: float = 30.0  # seconds a statement may run before the client gets 57014
    workers: int = 4  # threads running statements on the engine, each with its own DuckDB cursor
    startup_timeout: float = 10.0  # seconds to finish the start-up
    tls: TlsSettings | None = None  # `gateway: tls:` (tls.py): SSLRequest answered 'S' when set
    backend: str = "duckdb"  # duckdb: the catalog's samples embedded; postgres: a PostgreSQL server (`dsn`)
    dsn: str = ""  # the PostgreSQL backend's libpq connection string (a password: PGPASSWORD or ~/.pgpass)
    table: str = "{domain}.{name}"  # the PostgreSQL table each product is read from


_SETTING_TYPES: dict[str, type] = {"host": str, "port": int, "auth": str, "credentials": str,
                                   "auth_failure_delay": float, "max_message": int,
                                   "max_connections": int, "idle_timeout": float,
                                   "statement_timeout": float, "startup_timeout": float, "backend": str,
                                   "dsn": str, "table": str, "workers": int}


def settings_from(section: Mapping[str, Any], **overrides: Any) -> WireSettings:
    """WireSettings from the `gateway:` section (ValueError naming the key on a bad value)."""
    values: dict[str, Any] = {}
    for key, value in {**section, **{k: v for k, v in overrides.items() if v is not None}}.items():
        if key == "tls":
            try:
                values["tls"] = value if isinstance(value, TlsSettings) else tls_settings(value)
            except TlsError as exc:
                raise ValueError(str(exc)) from None
            continue
        kind = _SETTING_TYPES.get(key)
        if kind is None:
            raise ValueError(f"unknown key 'gateway.{key}' (known: {', '.join(_SETTING_TYPES)}, tls)")
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
            raise ValueError(f"'gateway.{key}' must be a {kind.__name__}")
        if kind is not str and value <= 0:
            raise ValueError(f"'gateway.{key}' must be positive")
        values[key] = kind(value)
    if values.get("auth", "refuse") not in AUTH_METHODS:
        raise ValueError(f"'gateway.auth' must be one of {', '.join(AUTH_METHODS)}")
    if values.get("auth") == "scram-sha-256" and not values.get("credentials"):
        raise ValueError("'gateway.auth: scram-sha-256' needs 'gateway.credentials', the credential file "
                         "(`policyengine gateway passwd LOGIN` writes it)")
    if values.get("backend", "duckdb") not in ("duckdb", "postgres"):
        raise ValueError("'gateway.backend' must be duckdb or postgres")
    if values.get("backend") == "postgres" and not values.get("dsn"):
        raise ValueError("'gateway.backend: postgres' needs 'gateway.dsn', a libpq connection string")
    if "{domain}" not in values.get("table", "{domain}") and "{name}" not in values.get("table", "{name}"):
        raise ValueError("'gateway.table' must name {domain} or {name}")
    if values.get("port", 1) > 65535:
        raise ValueError("'gateway.port' must be at most 65535")
    return WireSettings(**values)


class WireError(Exception):
    """An error for the client: its SQLSTATE and a message that quotes no data value."""

    def __init__(self, sqlstate: str, text: str, *, fatal: bool = False) -> None:
        super().__init__(text)
        self.sqlstate, self.text, self.fatal = sqlstate, text, fatal


def client_error(exc: BaseException) -> WireError:
    """The ErrorResponse for a failure running a statement. Gateway refusals carry their own
    message (written for the user: it names the column and the rule, never a value); anything
    else is named by its class only."""
    if isinstance(exc, WireError):
        return exc
    if isinstance(exc, (binary.ValueProblem, CopyRefused, CursorError)):
        return WireError(exc.sqlstate, str(exc))
    if isinstance(exc, TimeoutError):
        return WireError("57014", "canceling statement due to statement timeout")
    if isinstance(exc, DeniedColumn):
        return WireError("42501", str(exc))
    if isinstance(exc, RejectedStatement):
        return WireError("42601" if str(exc).startswith("cannot parse") else "42501", str(exc))
    if isinstance(exc, UnknownSource) and exc.name is not None:  # PostgreSQL's words, no list of products
        return WireError("42P01", f'relation "{exc.name[:128]}" does not exist')
    if isinstance(exc, UnknownSource):  # without the library's list of every product: \dt lists the consumer's
        text = str(exc)
        cut = text.find(" (known: ")
        return WireError("42P01", text if cut < 0 else text[:cut] + " (\\dt lists the products you can read)")
    if isinstance(exc, UnkeyedHash):
        return WireError("55000", str(exc))
    if isinstance(exc, EngineError) and "InterruptException" in str(exc):  # a timeout stopped it
        return WireError("57014", "canceling statement due to statement timeout")
    if isinstance(exc, EngineError):  # a binder error is a name the engine cannot resolve
        return WireError("42703" if "BinderException" in str(exc) else "XX000", str(exc))
    if isinstance(exc, GatewayError):
        return WireError("42501", str(exc))
    return WireError("XX000", f"internal error ({type(exc).__name__}); nothing is shown of it")


@dataclass
class _Result:
    """A statement's outcome: its command tag, its columns (None: no rows) and encoded rows."""

    tag: str
    columns: list[m.Column] | None = None
    rows: list[bytes] = field(default_factory=list)
    empty: bool = False  # an empty query string (EmptyQueryResponse instead of CommandComplete)
    table: pa.Table | None = None  # the rows as the engine returned them (for binary formats)
    copy: bool = False  # rows are COPY messages: sent whole, whatever Execute's row limit


@dataclass
class _Statement:
    query: str
    param_types: tuple[int, ...]  # as the client declared them (0: not declared)
    held: Placeheld  # the query with its $n parameters as sentinels, and their count
    described: tuple[int, ...] | None = None  # every parameter's type, once inferred


@dataclass
class _Portal:
    query: str
    values: list[Any] | None = None  # the bound parameter values (None: a statement without any)
    formats: tuple[int, ...] = ()  # Bind's result-format codes
    result: _Result | None = None
    rows: list[bytes] | None = None  # the result's rows in the portal's formats
    sent: int = 0


def core_text(sql: str) -> str:
    """`sql` without the blanks, comments and semicolons before it and the blanks and semicolons
    after it (one pass over the text: a message of many comments must not cost its square)."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] == ";":
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            break
    return sql[i:].rstrip().rstrip(";").rstrip()


def first_word(text: str) -> str:
    """The leading keyword of a statement's core text, lower-cased ('' if it starts otherwise)."""
    end = 0
    while end < len(text) and (text[end].isascii() and (text[end].isalpha() or text[end] == "_")):
        end += 1
    return text[:end].lower()
_BEGIN = ("begin", "start")
_NAME = r'("(?:[^"]|"")+"|[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)'
_SAVEPOINT = re.compile(r"(?is)(savepoint)\s+" + _NAME + r"|(release)\s+(?:savepoint\s+)?" + _NAME
                        + r"|(rollback|abort)\s+(?:(?:work|transaction)\s+)?to\s+(?:savepoint\s+)?" + _NAME)


def parse_savepoint(core: str) -> tuple[str, str] | None:
    """`SAVEPOINT n`, `RELEASE [SAVEPOINT] n`, `ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] n` as
    (savepoint|release|rollback, the name as PostgreSQL folds it); None for anything else."""
    found = _SAVEPOINT.fullmatch(core)
    if found is None:
        return None
    groups = found.groups()
    verb = next(g for g in (groups[0], groups[2], groups[4]) if g is not None).lower()
    raw = next(g for g in (groups[1], groups[3], groups[5]) if g is not None)
    name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()
    return ("rollback" if verb == "abort" else verb), name
_COMMIT = ("commit", "end")
_ROLLBACK = ("rollback", "abort")


def split_statements(sql: str) -> list[str]:
    """The statements of a simple query, cut at the top-level semicolons DuckDB's tokenizer (the
    dialect the gateway reads) finds, so a ';' in a string or comment does not cut. Pieces holding
    only comments are dropped; no statement at all is one empty statement. Text the tokenizer
    cannot read is one piece: the gateway refuses it with its own message. Each piece is checked
    and rewritten by the gateway on its own, so a cut in the wrong place can only make a refusal."""
    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    except SqlglotError:
        return [sql]
    pieces: list[str] = []
    start, seen = 0, False
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if seen:
                pieces.append(sql[start:token.end + 1])
            start, seen = token.end + 1, False
        else:
            seen = True
    if seen:
        pieces.append(sql[start:])
    return pieces or [""]


def statement_entry(consumer: str, decisions: Mapping[str, Any], sqlstate: str, rows: int | None,
                    duration_s: float) -> dict[str, Any]:
    """The decision-log line of one statement: names, effects and counts only, never a value."""
    from policyengine.engine.decision_log import log_columns

    return {
        "time": dt.datetime.now(dt.UTC), "source": "gateway", "consumer": consumer,
        "products": {name: {"columns": log_columns(d), "row_filter": d.row_filter is not None,
                            "filter_rules": [r.name for r in d.filter_rules], "error": d.error is not None,
                            "policy_version": d.policy_version}
                     for name, d in decisions.items()},
        "sqlstate": sqlstate, "rows": rows, "duration_us": int(duration_s * 1e7) / 10,
    }


class WireServer:
    """The PostgreSQL-protocol front of a `Gateway`: `await start()` listens, `close()` stops."""

    def __init__(self, gateway: Gateway, settings: WireSettings | None = None, *, version: str = "",
                 credentials: Mapping[str, Verifier] | None = None, decision_log: Any = None,
                 tls_context: ssl.SSLContext | None = None) -> None:
        """`tls_context`: the server's SSL context, else one built from `settings.tls` (its paths
        as they are; the command resolves them against policyengine.yaml's folder)."""
        self.gateway = gateway
        self.decision_log = decision_log  # an engine DecisionLog: one line per statement run or refused
        self.settings = settings or WireSettings()
        if self.settings.auth == "scram-sha-256" and credentials is None:
            raise ValueError("scram-sha-256 authentication needs a credential store")
        self.credentials: Mapping[str, Verifier] = credentials or {}
        self.tls_context = tls_context
        if self.tls_context is None and self.settings.tls is not None:
            self.tls_context = server_context(self.settings.tls)
        self.backends: dict[int, _Connection] = {}  # BackendKeyData's process id -> its connection
        self.secret = secrets.token_bytes(32)  # the salts of mock exchanges for unknown logins
        self.version = version
        self.parameters = {
            "server_version": SERVER_VERSION, "server_encoding": "UTF8", "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY", "TimeZone": "UTC", "integer_datetimes": "on",
            "standard_conforming_strings": "on", "is_superuser": "off", "IntervalStyle": "postgres",
            "application_name": "",
        }
        self._types: dict[str, dict[str, str]] = {}  # product -> column -> DuckDB type
        self.active = 0
        self.workers = Workers(gateway, self.settings.workers)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.server: asyncio.Server | None = None

    def register(self, connection: _Connection) -> int:
        """A fresh process id for `connection`'s BackendKeyData (forgotten when it closes)."""
        while True:
            pid = secrets.randbelow(1 << 30) + 1
            if pid not in self.backends:
                self.backends[pid] = connection
                return pid

    def cancel(self, pid: int, secret: int) -> None:
        """A CancelRequest: the statement running on the connection with this process id and
        secret is cancelled; a wrong secret or an unknown id does nothing (and says nothing)."""
        connection = self.backends.get(pid)
        if connection is not None and hmac.compare_digest(struct.pack("!i", connection.secret),
                                                          struct.pack("!i", secret)):
            connection.cancel()
        else:
            log.info("cancel request matched no connection")

    def column_types(self, sql: str, consumer: Any) -> dict[str, dict[str, str]]:
        """Per product `sql` reads (for `consumer`), its columns' DuckDB types (to describe the
        parameters compared with them); products that cannot be read are left out."""
        products = self.gateway.rewrite(sql, consumer).decisions
        out: dict[str, dict[str, str]] = {}
        for product in products:
            if product not in self._types:
                try:
                    source = self.gateway.source(product).sql(dialect="duckdb")
                except GatewayError:
                    continue
                cursor = self.gateway.con.cursor()
                try:
                    self._types[product] = {str(name): str(kind) for name, kind, *_ in
                                            cursor.execute(f"DESCRIBE {source}").fetchall()}
                finally:
                    cursor.close()
            out[product] = self._types[product]
        return out

    async def start(self) -> asyncio.Server:
        self.server = await asyncio.start_server(self._serve, self.settings.host, self.settings.port,
                                                 limit=64 * 1024)
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None and self.server.sockets
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)
        if self.server is not None:
            await self.server.wait_closed()
        self.workers.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        over = self.active >= self.settings.max_connections  # refused after its startup packet
        self.active += 1
        connection = _Connection(self, reader, writer, over_limit=over)
        try:
            await connection.run()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, asyncio.CancelledError):
            pass  # the client went away, was too slow, or the server is closing: nothing to answer
        except Exception as exc:  # never a crash of the server; the class only (no data)
            log.warning("connection ended by %s", type(exc).__name__)
        finally:
            self.backends.pop(connection.pid, None)
            self.active -= 1
            self.tasks.discard(task)  # type: ignore[arg-type]
            await _close(writer)


def _discard(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it as never retrieved


def _buffered(reader: asyncio.StreamReader) -> bool:
    """Whether the client sent bytes the server has not read yet."""
    return bool(getattr(reader, "_buffer", b""))


class _Job:
    """One statement handed to a worker. Its state moves under its lock: queued, then running
    (on `cursor`), then done; a timeout turns queued into cancelled (never run) and running into
    interrupted (the engine is told to stop)."""

    __slots__ = ("fn", "lock", "state", "cursor")

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.lock = threading.Lock()
        self.state = "queued"
        self.cursor: Any = None


class Workers:
    """The threads that run statements on the engine: at most `size` at once (more wait in the
    queue, their wait counting against the statement timeout), each with its own DuckDB cursor,
    kept across statements. A statement that times out, or whose connection goes away, is
    interrupted in the engine (`cursor.interrupt()`), so its worker is free for the next one."""

    def __init__(self, gateway: Gateway, size: int) -> None:
        self.gateway = gateway
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="policyengine-gateway")
        self.local = threading.local()
        self.running = 0  # statements on the engine now
        self._changed = threading.Condition()

    def wait_running(self, count: int, timeout: float) -> bool:
        """Whether `count` statements are running on the engine within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.running >= count, timeout)

    def _count(self, delta: int) -> None:
        with self._changed:
            self.running += delta
            self._changed.notify_all()

    async def run(self, fn: Callable[[Any], Any], timeout: float, gone: Callable[[], bool] | None = None) -> Any:
        """`fn(cursor)` on a worker; TimeoutError after `timeout` seconds, ConnectionError once
        `gone()` says the client went away (checked every quarter second): the engine is
        interrupted either way, as when the caller is cancelled."""
        loop = asyncio.get_running_loop()
        job = _Job(fn)
        future = loop.run_in_executor(self.executor, self._run, job)
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError("statement timeout")
                done, _ = await asyncio.wait((future,), timeout=min(remaining, 0.25))
                if done:
                    return future.result()
                if gone is not None and gone():
                    raise ConnectionError("the client went away")
        except BaseException:
            if not future.done():
                self._stop(job)
                future.cancel()
            raise

    def _run(self, job: _Job) -> Any:
        with job.lock:
            if job.state != "queued":
                raise TimeoutError("the statement timed out before it started")
            cursor = getattr(self.local, "cursor", None)
            if cursor is None:
                cursor = self.local.cursor = self.gateway.cursor()
            job.state, job.cursor = "running", cursor
        self._count(1)
        try:
            return job.fn(cursor)
        finally:
            self._count(-1)
            with job.lock:
                interrupted = job.state == "interrupted"
                job.state = "done"
            if interrupted:  # the interrupt may land after the engine finished: never on the next statement
                self.local.cursor = None
                cursor.close()

    @staticmethod
    def _stop(job: _Job) -> None:
        with job.lock:
            if job.state == "queued":
                job.state = "cancelled"
            elif job.state == "running":
                job.state = "interrupted"
                job.cursor.interrupt()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except (ConnectionError, RuntimeError):
        pass
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, RuntimeError):
        pass


class _Connection:
    def __init__(self, server: WireServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 *, over_limit: bool = False) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.over_limit = over_limit
        self.settings = server.settings
        self.consumer: Any = None
        self.status = "I"
        self.statements: dict[str, _Statement] = {}
        self.portals: dict[str, _Portal] = {}
        self.skipping = False  # after an error in an extended-protocol cycle: discard until Sync
        self.tls = False  # the connection was upgraded to TLS
        self.pid, self.secret = 0, secrets.randbelow(1 << 31)  # BackendKeyData, for CancelRequest
        self.cursors: dict[str, bool] = {}  # DECLAREd cursors (portals by name) -> WITH HOLD
        self.cancel_event: asyncio.Event | None = None  # set while a statement runs; a cancel sets it
        self.savepoints: list[tuple[str, frozenset[str]]] = []  # name, the cursors open when it was set

    # ------------------------------------------------------------ framing

    async def _read(self, size: int, timeout: float) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(size), timeout)

    def _fatal(self, sqlstate: str, text: str) -> None:
        self.writer.write(m.error_response(sqlstate, text, "FATAL"))

    async def run(self) -> None:
        try:
            if not await self._startup():
                return
        except m.ProtocolViolation as exc:
            self._fatal("08P01", f"protocol violation: {exc}")
            return
        while True:
            head = await self._read(5, self.settings.idle_timeout)
            kind, length = head[:1], struct.unpack("!i", head[1:])[0]
            if length < 4 or length - 4 > self.settings.max_message:
                self._fatal("08P01" if length < 4 else "54000",
                            "invalid message length" if length < 4 else
                            f"message larger than the gateway's limit of {self.settings.max_message} bytes")
                return
            body = await self._read(length - 4, self.settings.idle_timeout)
            try:
                if not await self._dispatch(kind, body):
                    return
            except m.ProtocolViolation as exc:
                self._fatal("08P01", f"protocol violation: {exc}")
                return
            await self.writer.drain()

    async def _startup(self) -> bool:
        timeout = self.settings.startup_timeout
        for _ in range(3):  # SSLRequest and GSSENCRequest may come first, once each
            length = struct.unpack("!i", await self._read(4, timeout))[0]
            if length < 8 or length > 10_000:
                self._fatal("08P01", "invalid startup packet length")
                return False
            body = await self._read(length - 4, timeout)
            code = struct.unpack("!i", body[:4])[0]
            if code == m.SSL_REQUEST and self.server.tls_context is not None and not self.tls:
                if _buffered(self.reader):  # bytes sent in clear before the handshake (CVE-2021-23214)
                    self._fatal("08P01", "received unencrypted data after SSL request")
                    return False
                self.writer.write(b"S")
                await self.writer.drain()
                await asyncio.wait_for(self.writer.start_tls(self.server.tls_context), timeout)
                self.tls = True
                continue
            if code in (m.SSL_REQUEST, m.GSSENC_REQUEST):
                self.writer.write(b"N")  # no TLS configured, no GSSAPI: the client may go on in clear
                continue
            if code == m.CANCEL_REQUEST:
                if length == 16:
                    self.server.cancel(*struct.unpack("!ii", body[4:12]))
                return False  # never answered, whether it matched or not (as PostgreSQL)
            if code != m.PROTOCOL_V3:
                self._fatal("0A000", "unsupported frontend protocol: the gateway speaks 3.0")
                return False
            try:
                params = m.startup_parameters(body[4:])
            except m.ProtocolViolation as exc:
                self._fatal("08P01", f"invalid startup packet: {exc}")
                return False
            return await self._login(params)
        self._fatal("08P01", "too many encryption requests")
        return False

    async def _login(self, params: Mapping[str, str]) -> bool:
        user = params.get("user", "")
        if self.over_limit:
            self._fatal("53300", "sorry, too many clients already")
            return False
        if not user:
            self._fatal("28000", "no user name in the startup packet")
            return False
        tls = self.settings.tls
        if tls is not None and tls.required and not self.tls:
            self._fatal("28000", "the gateway requires TLS (connect with sslmode=require or stronger)")
            return False
        named = certificate_login(self.writer.get_extra_info("ssl_object")) \
            if tls is not None and tls.cert_login and self.tls else None
        if named is not None and named != user:
            self._fatal("28000", f'certificate authentication failed for user "{user}" (the certificate '
                                 "names another login)")
            return False
        if named is not None:
            pass  # a client certificate the configured CA signed, naming this login
        elif self.settings.auth == "refuse":
            self._fatal("28000", "no authentication method is configured for the gateway (set gateway: auth: "
                                 "scram-sha-256 or, for loopback logins, trust in policyengine.yaml)")
            return False
        elif self.settings.auth == "trust":
            peer = self.writer.get_extra_info("peername")
            try:
                loopback = ipaddress.ip_address(peer[0]).is_loopback if peer else False
            except ValueError:
                loopback = False
            if not loopback:
                self._fatal("28000", "trust authentication is accepted only from the loopback interface")
                return False
        elif not await self._scram(user):
            log.info("login failed")
            await asyncio.sleep(self.settings.auth_failure_delay)
            self._fatal("28P01", f'password authentication failed for user "{user}"')
            return False
        consumer = self.server.gateway.engine.consumers.get(user)
        if consumer is None:
            self._fatal("28000", f'role "{user}" is not a known consumer')
            log.info("login refused: unknown consumer")
            return False
        self.consumer = consumer
        self.session = introspection.Session(
            self.server.parameters, params.get("database", ""),
            f"PostgreSQL {SERVER_VERSION} (policyengine gateway {self.server.version}, "
            f"{getattr(self.server.gateway, 'backend_name', 'DuckDB')} backend)")
        out = [] if self.settings.auth == "scram-sha-256" and named is None else [m.authentication_ok()]
        parameters = dict(self.server.parameters)
        if "application_name" in params:
            parameters["application_name"] = params["application_name"]
        out += [m.parameter_status(k, v) for k, v in parameters.items()]
        self.pid = self.server.register(self)
        out += [m.backend_key_data(self.pid, self.secret), m.ready_for_query("I")]
        self.writer.write(b"".join(out))
        return True

    async def _auth_message(self) -> bytes:
        head = await self._read(5, self.settings.startup_timeout)
        length = struct.unpack("!i", head[1:])[0]
        if head[:1] != b"p" or length < 4 or length > 10_000:
            raise m.ProtocolViolation("expected a SASL response")
        return await self._read(length - 4, self.settings.startup_timeout)

    async def _scram(self, user: str) -> bool:
        """A SCRAM-SHA-256 exchange (no channel binding: no TLS yet). An unknown login gets the
        same exchange with a stable fake salt, failing only at the end, so a client cannot tell
        unknown logins from wrong passwords."""
        verifier = self.server.credentials.get(user)
        known = verifier is not None
        if verifier is None:
            fake = hmac.new(self.server.secret, user.encode(), hashlib.sha256).digest()
            verifier = Verifier(fake[:16], secrets.token_bytes(32), secrets.token_bytes(32), ITERATIONS)
        exchange = ScramExchange(verifier)
        self.writer.write(m.message(b"R", struct.pack("!i", SASL) + b"SCRAM-SHA-256\x00\x00"))
        await self.writer.drain()
        reader = m.Reader(await self._auth_message())
        mechanism, size = reader.cstr(), reader.int32()
        first = reader.bytes_(size)
        reader.done()
        if mechanism != "SCRAM-SHA-256":
            return False
        try:
            server_first = exchange.server_first_message(first.decode("utf-8"))
            self.writer.write(m.message(b"R", struct.pack("!i", SASL_CONTINUE) + server_first.encode()))
            await self.writer.drain()
            final = exchange.server_final_message((await self._auth_message()).decode("utf-8"))
        except (ScramFailure, UnicodeDecodeError):
            return False
        if not known:
            return False
        self.writer.write(m.message(b"R", struct.pack("!i", SASL_FINAL) + final.encode())
                          + m.message(b"R", struct.pack("!i", SASL_OK)))
        return True

    # ------------------------------------------------------------ messages

    async def _dispatch(self, kind: bytes, body: bytes) -> bool:
        if kind == b"X":
            return False
        if kind == b"Q":
            query = m.decode_query(body)
            if not self.skipping:  # after an extended-protocol error everything waits for Sync
                await self._simple(query)
            return True
        if kind == b"S":
            self.skipping = False
            self._ready()
            return True
        if kind == b"H":
            return True
        if kind in (b"P", b"B", b"D", b"E", b"C"):
            if self.skipping:
                return True
            try:
                await self._extended(kind, body)
            except m.ProtocolViolation:
                raise
            except Exception as exc:
                self._error(client_error(exc))
                self.skipping = True
            return True
        if kind == b"F":
            self._error(WireError("0A000", "the function-call message is not supported by the gateway"))
            self._ready()
            return True
        if kind in (b"d", b"c", b"f"):
            return True  # copy messages outside a copy are ignored, as the protocol says
        raise m.ProtocolViolation(f"unexpected message type {kind!r}")

    def _ready(self) -> None:
        self.writer.write(m.ready_for_query(self.status))

    def _error(self, error: WireError) -> None:
        self.writer.write(m.error_response(error.sqlstate, error.text))
        if self.status == "T":
            self.status = "E"

    async def _simple(self, sql: str) -> None:
        """A simple query: its statements one by one, each enforced on its own; the first error
        ends the message (the rest is not run), as in PostgreSQL."""
        try:  # tokenizing a large text takes a while: in a worker, never on the event loop
            # one statement, at most semicolons at its end (what pgbench and many drivers send):
            # no tokenizing; the rewrite parses it whole
            statements = [sql] if ";" not in sql.rstrip().rstrip(";") else await asyncio.wait_for(
                asyncio.to_thread(split_statements, sql), self.settings.statement_timeout)
        except Exception as exc:
            self._error(client_error(exc))
            statements = []
        for statement in statements:
            try:
                result = await self._statement(statement)
            except Exception as exc:
                self._error(client_error(exc))
                break
            self._send(result, describe=True, limit=0)
        self._ready()

    def _send(self, result: _Result, *, describe: bool, limit: int, portal: _Portal | None = None) -> None:
        if result.empty:
            self.writer.write(m.empty_query_response())
            return
        out: list[bytes] = []
        if describe and result.columns is not None:
            out.append(m.row_description(result.columns))
        rows = portal.rows if portal is not None and portal.rows is not None else result.rows
        start = portal.sent if portal else 0
        end = len(rows) if limit <= 0 or result.copy else min(len(rows), start + limit)
        out += rows[start:end]
        if portal is not None:
            portal.sent = end
        if end < len(rows):
            out.append(m.portal_suspended())
        else:
            out.append(m.command_complete(result.tag))
        self.writer.write(b"".join(out))

    async def _statement(self, sql: str, *, apply: bool = True, values: list[Any] | None = None) -> _Result:
        """Run one statement: the few the gateway answers itself, else the enforced query."""
        core = core_text(sql)
        if not core:
            return _Result("", empty=True)
        word = first_word(core)
        savepoint = parse_savepoint(core) if word in ("savepoint", "release") or word in _ROLLBACK else None
        if savepoint is not None:
            return self._savepoint(*savepoint, apply=apply)
        if word in _ROLLBACK or word in _COMMIT:
            tag = "ROLLBACK" if word in _ROLLBACK or self.status == "E" else "COMMIT"
            if apply:
                self.status = "I"
                self._end_transaction()
            return _Result(tag)
        if self.status == "E":
            raise WireError("25P02", "current transaction is aborted, commands ignored until end of "
                                     "transaction block")
        if word == "copy":
            return await self._copy(core)
        if word in ("declare", "fetch", "move", "close"):
            return await self._cursor(word, core, values, apply)
        if word in _BEGIN:
            if apply and self.status == "I":
                self.savepoints.clear()
            if apply:
                self.status = "T"
            return _Result("BEGIN")
        if introspection.maybe(core):  # SHOW, SET, version(), pg_catalog, information_schema
            start = time.perf_counter()
            try:
                answer = await introspection.answer(self.server.gateway, self.consumer, self.session, core,
                                                    apply=apply, params=values or (),
                                                    timeout=self.settings.statement_timeout)
            except Exception as exc:
                self._log_catalog(exc.sqlstate if isinstance(exc, introspection.Refusal)
                                  else client_error(exc).sqlstate, None, start, apply)
                if isinstance(exc, introspection.Refusal):
                    raise WireError(exc.sqlstate, exc.text) from None
                raise
            if answer is not None:
                self._log_catalog("00000", len(answer.rows), start, apply)
                return _Result(answer.tag, answer.columns, answer.rows)
        table: pa.Table = await self._interruptible(self._on_worker(sql, values))
        columns = m.result_columns(table)
        return _Result(f"SELECT {table.num_rows}", columns, m.result_rows(table, columns), table=table)

    def _savepoint(self, verb: str, name: str, *, apply: bool) -> _Result:
        """SAVEPOINT, RELEASE [SAVEPOINT] and ROLLBACK TO [SAVEPOINT] over the read-only
        snapshot, as PostgreSQL: only in a transaction block (25P01); a name not set is 3B001;
        RELEASE forgets the savepoint and those after it (25P02 in a failed block); ROLLBACK TO
        keeps it, forgets those after it, closes the cursors declared since and ends the failed
        state (E → T). The latest savepoint of a name set twice is the one meant."""
        words = {"savepoint": "SAVEPOINT", "release": "RELEASE SAVEPOINT", "rollback": "ROLLBACK TO SAVEPOINT"}
        if self.status == "I":
            raise WireError("25P01", f"{words[verb]} can only be used in transaction blocks")
        if verb != "rollback" and self.status == "E":
            raise WireError("25P02", "current transaction is aborted, commands ignored until end of "
                                     "transaction block")
        if verb == "savepoint":
            if len(self.savepoints) >= 1024:
                raise WireError("54000", "too many savepoints in this transaction")
            if apply:
                self.savepoints.append((name, frozenset(self.cursors)))
            return _Result("SAVEPOINT")
        at = next((i for i in range(len(self.savepoints) - 1, -1, -1) if self.savepoints[i][0] == name), None)
        if at is None:
            raise WireError("3B001", f'savepoint "{name[:64]}" does not exist')
        if not apply:
            return _Result("RELEASE" if verb == "release" else "ROLLBACK")
        if verb == "release":
            del self.savepoints[at:]
            return _Result("RELEASE")
        before = self.savepoints[at][1]
        del self.savepoints[at + 1:]
        for cursor in [c for c in self.cursors if c not in before]:
            self.cursors.pop(cursor)
            self.portals.pop(cursor, None)
        self.status = "T"
        return _Result("ROLLBACK")

    def _log_catalog(self, sqlstate: str, rows: int | None, start: float, apply: bool) -> None:
        """A catalog query's (or SHOW's, SET's) decision-log line: no product is read, so no
        decision; the consumer, the SQLSTATE and the row count, never the text or a value."""
        if self.server.decision_log is not None and apply:
            entry = statement_entry(self.consumer.id, {}, sqlstate, rows, time.perf_counter() - start)
            entry["catalog"] = True
            self.server.decision_log.record_entry(entry)

    def _end_transaction(self) -> None:
        """COMMIT or ROLLBACK: the cursors declared without HOLD are closed."""
        self.savepoints.clear()
        for name, hold in list(self.cursors.items()):
            if not hold:
                self.cursors.pop(name)
                self.portals.pop(name, None)

    async def _cursor(self, word: str, sql: str, values: list[Any] | None, apply: bool) -> _Result:
        """DECLARE, FETCH, MOVE and CLOSE (cursors.py): a cursor is a portal under its name."""
        if word == "declare":
            declare = parse_declare(sql)
            if declare.binary:
                raise CursorError("0A000", "DECLARE … BINARY is not supported by the gateway; ask for binary "
                                           "results in Bind (e.g. psycopg's binary cursors)")
            if not declare.hold and self.status != "T":
                raise WireError("25P01", "DECLARE CURSOR can only be used in transaction blocks")
            if first_word(core_text(declare.query)) not in ("select", "with", "values", "table"):
                raise WireError("42601", "a cursor is declared for a SELECT")
            if not apply:
                return _Result("DECLARE CURSOR")
            if declare.name in self.portals:
                raise WireError("42P03", f'cursor "{declare.name}" already exists')
            if len(self.portals) >= 256:
                raise WireError("54000", "too many portals on this connection")
            # run and enforced now, so a refusal comes at DECLARE (as PostgreSQL plans it there)
            result = await self._statement(declare.query, values=values)
            self.portals[declare.name] = _Portal(declare.query, values, result=result)
            self.cursors[declare.name] = declare.hold
            return _Result("DECLARE CURSOR")
        if word == "close":
            close = parse_close(sql)
            names = list(self.cursors) if close.name is None else [close.name]
            if close.name is not None and close.name not in self.portals:
                raise WireError("34000", f'cursor "{close.name}" does not exist')
            if apply:
                for name in names:
                    self.cursors.pop(name, None)
                    self.portals.pop(name, None)
            return _Result("CLOSE CURSOR")
        fetch = parse_fetch(sql)
        if fetch.name not in self.portals:
            raise WireError("34000", f'cursor "{fetch.name}" does not exist')
        portal = await self._run_portal(fetch.name)
        ran = portal.result
        assert ran is not None
        start, result = portal.sent, ran
        end = len(result.rows) if fetch.count is None else min(len(result.rows), start + max(fetch.count, 0))
        if not apply:  # Describe of a FETCH: the cursor's columns, nothing moves
            return _Result("FETCH 0", result.columns, [], table=result.table.slice(0, 0)
                           if result.table is not None else None)
        portal.sent = end
        if fetch.move:
            return _Result(f"MOVE {end - start}")
        return _Result(f"FETCH {end - start}", result.columns, result.rows[start:end],
                       table=result.table.slice(start, end - start) if result.table is not None else None)

    async def _copy(self, sql: str) -> _Result:
        """`COPY (SELECT …) TO STDOUT`: the SELECT enforced as any query (copy.py)."""
        copy = parse_copy(sql)
        table: pa.Table = await self._interruptible(self._on_worker(copy.query, None))
        messages = copy_messages(table, m.result_columns(table), copy)
        return _Result(f"COPY {table.num_rows}", None, messages, table=table, copy=True)

    async def _interruptible(self, work: Any) -> Any:
        """Await `work` within the statement timeout, or until a CancelRequest for this
        connection (57014 either way; the engine's worker finishes on its own)."""
        running = asyncio.ensure_future(work)
        self.cancel_event = asyncio.Event()
        waiter = asyncio.ensure_future(self.cancel_event.wait())
        try:
            done, _ = await asyncio.wait({running, waiter}, timeout=self.settings.statement_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            self.cancel_event = None
        if running in done:
            return running.result()
        running.cancel()  # a worker that can stop the engine does (cancelling is how it is told)
        running.add_done_callback(_discard)  # else it finishes in its thread; its outcome is dropped
        if waiter in done:
            raise WireError("57014", "canceling statement due to user request")
        raise TimeoutError

    def cancel(self) -> None:
        """A matching CancelRequest: stop waiting for the running statement, if any."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    def _on_worker(self, sql: str, values: list[Any] | None) -> Any:
        """The statement on the server's bounded worker pool (one engine cursor per worker): a
        statement timeout, a vanished client or a cancel (the awaiting task cancelled by
        `_interruptible`) interrupts it in the engine."""
        return self.server.workers.run(lambda cursor: self._query(sql, values, cursor),
                                       self.settings.statement_timeout, self.reader.at_eof)

    def _query(self, sql: str, values: list[Any] | None = None, cursor: Any = None) -> pa.Table:
        """`_logged_query`, with a refusal that would tell a hidden product from an absent one
        made the absent one's (`_concealed`)."""
        try:
            return self._logged_query(sql, values, cursor)
        except GatewayError as exc:
            raise self._concealed(sql, exc) from None

    def _concealed(self, sql: str, exc: GatewayError) -> Exception:
        """For a statement reading a product the consumer's catalog does not list (no readable
        column, an error decision, no data here), the error a product that does not exist gives:
        42P01 naming the first such table as typed, whatever the refusal was. So neither the
        SQLSTATE nor the message tells a consumer which hidden products exist. `exc` otherwise."""
        import sqlglot
        from sqlglot.errors import SqlglotError

        try:
            tree = sqlglot.parse_one(placehold(sql).text, read="duckdb")
        except (SqlglotError, ValueError):
            return exc
        products = self.server.gateway.engine.catalog.products
        folded = {p.lower(): p for p in products}
        hidden: str | None = None
        visible: frozenset[str] | None = None
        for table in tree.find_all(exp.Table):
            db, name = table.args.get("db"), table.args.get("this")
            if table.args.get("catalog") is not None or db is None or name is None:
                continue
            product = folded.get(f"{table.db}.{table.name}".lower())
            if product is None:
                continue
            if visible is None:
                visible = introspection.visible_products(self.server.gateway, self.consumer, self.session)
            if product not in visible:
                hidden = typed_name(table)
                break
        if hidden is None:
            return exc
        return WireError("42P01", f'relation "{hidden[:128]}" does not exist')

    def _logged_query(self, sql: str, values: list[Any] | None = None, cursor: Any = None) -> pa.Table:
        """Run one statement through the gateway (on a worker, on its cursor); with a decision log, one
        line for it: the consumer, each product's column effects and rule names, the SQLSTATE and
        the row count. Never the query text (its literals may be values) nor a result value."""
        gateway, dlog = self.server.gateway, self.server.decision_log
        on = {} if cursor is None else {"cursor": cursor}
        if values is not None and getattr(gateway, "query_bound", None) is None:
            raise WireError("0A000", "bound parameters are not supported by this backend yet: write values inline")
        if values is not None:  # bound parameters: the engine binds them (enforce/bound.py)
            if dlog is None:
                return gateway.query_bound(sql, self.consumer, values, **on)[0]
        elif dlog is None:
            return gateway.query(sql, self.consumer, **on)
        start = time.perf_counter()
        decisions: Mapping[str, Any] = {}
        try:
            if values is not None:
                table, rewritten = gateway.query_bound(sql, self.consumer, values, **on)
                decisions = rewritten.decisions
            else:
                decisions = gateway.rewrite(sql, self.consumer).decisions  # cached: query reuses it
                table = gateway.query(sql, self.consumer, **on)
        except Exception as exc:
            dlog.record_entry(statement_entry(self.consumer.id, decisions, client_error(exc).sqlstate,
                                              None, time.perf_counter() - start))
            raise
        dlog.record_entry(statement_entry(self.consumer.id, decisions, "00000", table.num_rows,
                                          time.perf_counter() - start))
        return table

    async def _extended(self, kind: bytes, body: bytes) -> None:
        if kind == b"P":
            parse = m.decode_parse(body)
            if parse.statement and parse.statement in self.statements:
                raise WireError("42P05", f'prepared statement "{parse.statement}" already exists')
            if len(self.statements) >= 256:
                raise WireError("54000", "too many prepared statements on this connection")
            held = placehold(parse.query)
            if max(held.count, len(parse.param_types)) > 0xFFFF // 2:
                raise WireError("54000", "too many parameters in one statement")
            self.statements[parse.statement] = _Statement(parse.query, parse.param_types, held)
            self.writer.write(m.parse_complete())
        elif kind == b"B":
            bind = m.decode_bind(body)
            statement = self.statements.get(bind.statement)
            if statement is None:
                raise WireError("26000", f'prepared statement "{bind.statement}" does not exist')
            values: list[Any] | None = None
            if bind.params or statement.held.count:
                needed = max(statement.held.count, len(statement.param_types))
                if len(bind.params) != needed:
                    raise WireError("08P01", f"bind message supplies {len(bind.params)} parameters, but "
                                             f"prepared statement \"{bind.statement}\" requires {needed}")
                # a value in binary needs its type; text is read as the type declared or described
                oids = await self._parameter_types(statement) if any(bind.param_formats) \
                    else statement.described or statement.param_types
                values = binary.parameter_values(bind.params, bind.param_formats, oids)
            binary.result_formats(bind.result_formats, 0 if len(bind.result_formats) < 2
                                  else len(bind.result_formats))  # codes checked; the count at Execute
            if bind.portal and bind.portal in self.portals:
                raise WireError("42P03", f'cursor "{bind.portal}" already exists')
            if len(self.portals) >= 256:
                raise WireError("54000", "too many portals on this connection")
            self.portals[bind.portal] = _Portal(statement.query, values, bind.result_formats)
            self.writer.write(m.bind_complete())
        elif kind == b"D":
            target, name = m.decode_target(body)
            if target == "S":
                statement = self.statements.get(name)
                if statement is None:
                    raise WireError("26000", f'prepared statement "{name}" does not exist')
                types = await self._parameter_types(statement)
                # the columns, run with every parameter NULL (no value is needed to name them)
                result = await self._statement(statement.query, apply=False,
                                               values=[None] * len(types) if types else None)
                self.writer.write(m.parameter_description(types))
                formats: tuple[int, ...] = ()
            else:
                portal = await self._run_portal(name)
                assert portal.result is not None
                result, formats = portal.result, portal.formats
            self.writer.write(m.row_description(result.columns, self._formats(result, formats))
                              if result.columns is not None else m.no_data())
        elif kind == b"E":
            name, limit = m.decode_execute(body)
            portal = await self._run_portal(name)
            assert portal.result is not None
            self._send(portal.result, describe=False, limit=limit, portal=portal)
            if not name and portal.sent >= len(portal.result.rows):
                self.portals.pop(name, None)
        else:
            target, name = m.decode_target(body)
            (self.statements if target == "S" else self.portals).pop(name, None)
            self.writer.write(m.close_complete())

    async def _parameter_types(self, statement: _Statement) -> tuple[int, ...]:
        """Every parameter's type: the client's, else inferred from the query (params.py)."""
        if statement.described is None:
            held, declared = statement.held, statement.param_types
            # a catalog query's parameters are compared with no product column: nothing to look up
            if held.count and not all(declared[i:i + 1] not in ((), (0,)) for i in range(held.count)) \
                    and not introspection.maybe(core_text(held.text)):
                try:
                    lookup = column_lookup(await asyncio.wait_for(
                        asyncio.to_thread(self.server.column_types, held.text, self.consumer),
                        self.settings.statement_timeout))
                except GatewayError as exc:  # (the consumer's catalog may be built: not on the event loop)
                    raise await asyncio.to_thread(self._concealed, statement.query, exc) from None
            else:
                lookup = column_lookup({})
            statement.described = parameter_types(held, declared, lookup)
        return statement.described

    @staticmethod
    def _formats(result: _Result, codes: tuple[int, ...]) -> tuple[int, ...]:
        formats = binary.result_formats(codes, len(result.columns or ())) if codes else ()
        if any(formats) and result.table is None and result.rows:
            raise WireError("0A000", "binary format is not available for this statement's result; use text")
        return formats if any(formats) else ()

    async def _run_portal(self, name: str) -> _Portal:
        """The portal with its result, run on first use, with its rows in its formats."""
        portal = self._portal(name)
        if portal.result is None:
            portal.result = await self._statement(portal.query, values=portal.values)
            formats = self._formats(portal.result, portal.formats)
            if any(formats) and portal.result.table is not None and portal.result.columns is not None:
                portal.rows = binary.result_rows(portal.result.table, portal.result.columns, formats)
        return portal

    def _portal(self, name: str) -> _Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise WireError("34000", f'portal "{name}" does not exist')
        return portal


async def serve_forever(server: WireServer) -> None:
    """Listen until SIGTERM or SIGINT (also when a shell started it in the background with SIGINT
    ignored), then close the listener and the open connections."""
    import signal

    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    try:
        await stop.wait()
    finally:
        await server.close()
