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
import struct
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from policyengine.enforce.gateway import (
    DeniedColumn,
    EngineError,
    Gateway,
    GatewayError,
    RejectedStatement,
    UnkeyedHash,
    UnknownSource,
)
from policyengine.wire import messages as m
from policyengine.wire.credentials import ITERATIONS, ScramExchange, ScramFailure, Verifier

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


_SETTING_TYPES: dict[str, type] = {"host": str, "port": int, "auth": str, "credentials": str,
                                   "auth_failure_delay": float, "max_message": int,
                                   "max_connections": int, "idle_timeout": float,
                                   "statement_timeout": float, "startup_timeout": float,
                                   "workers": int}


def settings_from(section: Mapping[str, Any], **overrides: Any) -> WireSettings:
    """WireSettings from the `gateway:` section (ValueError naming the key on a bad value)."""
    values: dict[str, Any] = {}
    for key, value in {**section, **{k: v for k, v in overrides.items() if v is not None}}.items():
        kind = _SETTING_TYPES.get(key)
        if kind is None:
            raise ValueError(f"unknown key 'gateway.{key}' (known: {', '.join(_SETTING_TYPES)})")
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
    if isinstance(exc, TimeoutError):
        return WireError("57014", "canceling statement due to statement timeout")
    if isinstance(exc, DeniedColumn):
        return WireError("42501", str(exc))
    if isinstance(exc, RejectedStatement):
        return WireError("42601" if str(exc).startswith("cannot parse") else "42501", str(exc))
    if isinstance(exc, UnknownSource):
        return WireError("42P01", str(exc))
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


@dataclass
class _Statement:
    query: str
    param_types: tuple[int, ...]


@dataclass
class _Portal:
    query: str
    result: _Result | None = None
    sent: int = 0


# matched against the statement stripped of blanks, comments and semicolons at its ends, with
# fullmatch and no two quantifiers side by side (a 1 MiB message must not make them backtrack)
_VERSION = re.compile(r"select\s+(?:pg_catalog\s*\.\s*)?version\s*\(\s*\)", re.I)
_SHOW = re.compile(r"show\s+([A-Za-z_][A-Za-z0-9_.]*)", re.I)


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
_COMMIT = ("commit", "end")
_ROLLBACK = ("rollback", "abort")


def text_result(name: str, value: str) -> _Result:
    columns = [m.Column(name, m.OID_TEXT)]
    return _Result("SHOW" if name != "version" else "SELECT 1", columns, [m.data_row([value.encode()])])


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
                 credentials: Mapping[str, Verifier] | None = None, decision_log: Any = None) -> None:
        self.gateway = gateway
        self.decision_log = decision_log  # an engine DecisionLog: one line per statement run or refused
        self.settings = settings or WireSettings()
        if self.settings.auth == "scram-sha-256" and credentials is None:
            raise ValueError("scram-sha-256 authentication needs a credential store")
        self.credentials: Mapping[str, Verifier] = credentials or {}
        self.secret = secrets.token_bytes(32)  # the salts of mock exchanges for unknown logins
        self.version = version
        self.parameters = {
            "server_version": SERVER_VERSION, "server_encoding": "UTF8", "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY", "TimeZone": "UTC", "integer_datetimes": "on",
            "standard_conforming_strings": "on", "is_superuser": "off", "IntervalStyle": "postgres",
            "application_name": "",
        }
        self.active = 0
        self.workers = Workers(gateway, self.settings.workers)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.server: asyncio.Server | None = None

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
        try:
            await _Connection(self, reader, writer, over_limit=over).run()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, asyncio.CancelledError):
            pass  # the client went away, was too slow, or the server is closing: nothing to answer
        except Exception as exc:  # never a crash of the server; the class only (no data)
            log.warning("connection ended by %s", type(exc).__name__)
        finally:
            self.active -= 1
            self.tasks.discard(task)  # type: ignore[arg-type]
            await _close(writer)


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
            if code in (m.SSL_REQUEST, m.GSSENC_REQUEST):
                self.writer.write(b"N")  # no TLS in this version: the client may go on in clear
                continue
            if code == m.CANCEL_REQUEST:
                return False  # cancel is not supported: the connection is closed without a reply
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
        if self.settings.auth == "refuse":
            self._fatal("28000", "no authentication method is configured for the gateway (set gateway: auth: "
                                 "scram-sha-256 or, for loopback logins, trust in policyengine.yaml)")
            return False
        if self.settings.auth == "trust":
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
        out = [] if self.settings.auth == "scram-sha-256" else [m.authentication_ok()]
        parameters = dict(self.server.parameters)
        if "application_name" in params:
            parameters["application_name"] = params["application_name"]
        out += [m.parameter_status(k, v) for k, v in parameters.items()]
        out += [m.backend_key_data(secrets.randbelow(1 << 30) + 1, secrets.randbelow(1 << 31)),
                m.ready_for_query("I")]
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
            await self._simple(m.decode_query(body))
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
        start = portal.sent if portal else 0
        end = len(result.rows) if limit <= 0 else min(len(result.rows), start + limit)
        out += result.rows[start:end]
        if portal is not None:
            portal.sent = end
        if end < len(result.rows):
            out.append(m.portal_suspended())
        else:
            out.append(m.command_complete(result.tag))
        self.writer.write(b"".join(out))

    async def _statement(self, sql: str, *, apply: bool = True) -> _Result:
        """Run one statement: the few the gateway answers itself, else the enforced query."""
        core = core_text(sql)
        if not core:
            return _Result("", empty=True)
        word = first_word(core)
        if word in _ROLLBACK or word in _COMMIT:
            tag = "ROLLBACK" if word in _ROLLBACK or self.status == "E" else "COMMIT"
            if apply:
                self.status = "I"
            return _Result(tag)
        if self.status == "E":
            raise WireError("25P02", "current transaction is aborted, commands ignored until end of "
                                     "transaction block")
        if word in _BEGIN:
            if apply:
                self.status = "T"
            return _Result("BEGIN")
        if _VERSION.fullmatch(core):
            return text_result("version", f"PostgreSQL {SERVER_VERSION} (policyengine gateway "
                                          f"{self.server.version}, DuckDB backend)".replace(" ,", ","))
        shown = _SHOW.fullmatch(core)
        if shown:
            name = shown.group(1)
            known = {k.lower(): (k, v) for k, v in self.server.parameters.items()}
            if name.lower() not in known:
                raise WireError("42704", f'unrecognized configuration parameter "{name}"')
            key, value = known[name.lower()]
            return text_result(key, value)
        if word == "set":
            raise WireError("0A000", "SET is not supported by the gateway (its settings are fixed)")
        table: pa.Table = await self.server.workers.run(lambda cursor: self._query(sql, cursor),
                                                        self.settings.statement_timeout, self.reader.at_eof)
        columns = m.result_columns(table)
        return _Result(f"SELECT {table.num_rows}", columns, m.result_rows(table, columns))

    def _query(self, sql: str, cursor: Any) -> pa.Table:
        """Run one statement through the gateway (on a worker, on its cursor); with a decision log, one
        line for it: the consumer, each product's column effects and rule names, the SQLSTATE and
        the row count. Never the query text (its literals may be values) nor a result value."""
        gateway, dlog = self.server.gateway, self.server.decision_log
        if dlog is None:
            return gateway.query(sql, self.consumer, cursor=cursor)
        start = time.perf_counter()
        decisions: Mapping[str, Any] = {}
        try:
            decisions = gateway.rewrite(sql, self.consumer).decisions  # cached: query reuses it
            table = gateway.query(sql, self.consumer, cursor=cursor)
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
            self.statements[parse.statement] = _Statement(parse.query, parse.param_types)
            self.writer.write(m.parse_complete())
        elif kind == b"B":
            bind = m.decode_bind(body)
            statement = self.statements.get(bind.statement)
            if statement is None:
                raise WireError("26000", f'prepared statement "{bind.statement}" does not exist')
            if bind.params:
                raise WireError("0A000", "query parameters are not supported by the gateway yet (values are "
                                         "never spliced into SQL text); write the values inline")
            if any(code != 0 for code in bind.result_formats):
                raise WireError("0A000", "binary result format is not supported by the gateway; use text")
            if bind.portal and bind.portal in self.portals:
                raise WireError("42P03", f'cursor "{bind.portal}" already exists')
            if len(self.portals) >= 256:
                raise WireError("54000", "too many portals on this connection")
            self.portals[bind.portal] = _Portal(statement.query)
            self.writer.write(m.bind_complete())
        elif kind == b"D":
            target, name = m.decode_target(body)
            if target == "S":
                statement = self.statements.get(name)
                if statement is None:
                    raise WireError("26000", f'prepared statement "{name}" does not exist')
                result = await self._statement(statement.query, apply=False)
                self.writer.write(m.parameter_description(statement.param_types))
            else:
                portal = self._portal(name)
                if portal.result is None:
                    portal.result = await self._statement(portal.query)
                result = portal.result
            self.writer.write(m.row_description(result.columns) if result.columns is not None else m.no_data())
        elif kind == b"E":
            name, limit = m.decode_execute(body)
            portal = self._portal(name)
            if portal.result is None:
                portal.result = await self._statement(portal.query)
            self._send(portal.result, describe=False, limit=limit, portal=portal)
            if not name and portal.sent >= len(portal.result.rows):
                self.portals.pop(name, None)
        else:
            target, name = m.decode_target(body)
            (self.statements if target == "S" else self.portals).pop(name, None)
            self.writer.write(m.close_complete())

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
