"""The decision service: a bare ASGI application (no framework) over a ReloadingEngine.

Routes: `GET /health`, `GET /metrics` (Prometheus text), `GET /openapi.json`, our JSON API
(`POST /v1/evaluate`, `POST /v1/evaluate/batch`), Iceberg REST read restrictions
(`POST /v1/iceberg/read-restrictions`, see serve/iceberg.py) and Trino's OPA plugin endpoints under
`/v1/trino/` (see serve/trino.py). Fails closed everywhere: a malformed request is a 400, a body
too large a 413, a slow body a 408, an internal error a 500, an overrun batch a 503 — never an
allow, and never the plugin's `{}` where a filter or mask applies. Each JSON API decision is the
engine's own (`Decision.to_dict()`), an error decision denying every column.

Before anything but `/health`, the `Host` header must name this server (a loopback name, the bound host or
`serve.allowed_hosts`): a 421 otherwise, so a web page that rebinds its DNS name to 127.0.0.1
cannot read decisions from a browser (DNS rebinding). Decisions are taken at the server's clock:
a request's `at` is refused unless the server trusts authenticated callers to choose the instant
(`allow_caller_time`, only with a token), since an earlier instant revives an expired grant.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from policyengine.enforce.iceberg import IcebergRefused
from policyengine.engine.decision import ColumnDecision, Decision
from policyengine.engine.reload import ReloadingEngine
from policyengine.language import ast
from policyengine.serve import iceberg, requests
from policyengine.serve.metrics import Metrics
from policyengine.serve.openapi import OPENAPI
from policyengine.serve.replies import DecisionDocuments
from policyengine.serve.trino import (
    BadRequest,
    Limits,
    Overrun,
    Refused,
    TooLarge,
    TrinoPolicy,
    TrinoSettings,
)

log = logging.getLogger("policyengine")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]



_HEALTH_PRIVATE = frozenset({"bundle_source", "last_error"})
"""/health fields shown only to a caller with the token: /health answers anyone (probes), and a
bundle's location or a fetch error's text can name an internal host or bucket."""

class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ServeOptions:
    """Request limits and authentication for the app."""

    token: str | None = None  # a bearer token required on every route but /health
    max_body: int = 1 << 20  # bytes
    body_timeout: float = 5.0  # seconds to receive a request body
    batch_timeout: float = 2.0  # seconds for one batch of evaluations (JSON API and Trino)
    max_batch: int = 1000  # requests of a JSON API batch; resources or columns of a Trino request
    allowed_hosts: tuple[str, ...] = ()  # Host names answered besides the loopback names ("*": any)
    allow_caller_time: bool = False  # may an authenticated caller set `at` (needs a token)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_UNKNOWN_LOGGED = 1000  # distinct unknown consumer ids logged (then one line saying so)


def host_name(value: str) -> str:
    """A Host header's (or an allow-list entry's) name: lower case, no port, no brackets around an
    IPv6 literal, no trailing dot ("" when it has no name)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else ""
    if value.count(":") == 1:
        value = value.partition(":")[0]
    elif ":" in value:  # an IPv6 literal without brackets is no valid Host
        return value
    return value.rstrip(".")


class App:
    """The ASGI callable. `holder` owns the engine (hot reload swaps it between requests)."""

    def __init__(self, holder: ReloadingEngine, trino: TrinoSettings | None = None,
                 options: ServeOptions | None = None, hash_key: bytes | None = None,
                 allow_unkeyed_hash: bool = False) -> None:
        self.holder = holder
        self.allow_unkeyed_hash = allow_unkeyed_hash  # Iceberg's sha-256-global for `hash` (serve/iceberg.py)
        self.trino_settings = trino or TrinoSettings()
        self.options = options or ServeOptions()
        self.hash_key = hash_key
        self.metrics = Metrics()
        self._documents = DecisionDocuments()
        self._trino: tuple[Any, TrinoPolicy] | None = None
        self._token = self.options.token.encode() if self.options.token else None
        names = {host_name(h) for h in self.options.allowed_hosts}
        self._any_host = "*" in names
        if (self._any_host or self.options.allow_caller_time) and self._token is None:
            raise ValueError("serve.allow_caller_time and serve.allowed_hosts: ['*'] need a bearer token "
                             "(token_env): without one any local web page could use them")
        self._hosts = frozenset(LOOPBACK_HOSTS | names - {"*", ""})
        self._host_seen: dict[bytes, bool] = {}
        self._unknown_consumers: set[str] = set()
        limits = Limits(self.options.max_batch, self.options.batch_timeout)
        self._routes: dict[tuple[str, str], Callable[[Any], Any]] = {
            ("POST", "/v1/evaluate"): self._evaluate,
            ("POST", "/v1/evaluate/batch"): self._evaluate_batch,
            ("POST", "/v1/iceberg/read-restrictions"): self._read_restrictions,
            ("POST", "/v1/trino/allow"): lambda doc: {"result": self._policy().allow(doc, limits)},
            ("POST", "/v1/trino/batch"): lambda doc: {"result": self._policy().batch(doc, limits)},
            ("POST", "/v1/trino/row-filters"): lambda doc: {"result": self._policy().row_filters(doc, limits)},
            ("POST", "/v1/trino/column-mask"): lambda doc: {"result": self._policy().column_mask(doc, limits)},
            ("POST", "/v1/trino/batch-column-masks"):
                lambda doc: {"result": self._policy().batch_column_masks(doc, limits)},
        }

    # ---------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        t0 = time.perf_counter()
        path, method = scope["path"], scope["method"]
        status = 500
        try:
            if method == "GET" and path == "/health":  # for probes, which name a pod's address: any Host
                status_of = self.holder.status  # a bundle poller's, when there is one
                source = status_of() if status_of is not None else {}
                if source and not self._vouched(scope):  # where bundles come from, and why a fetch
                    source = {k: v for k, v in source.items() if k not in _HEALTH_PRIVATE}  # failed: callers with the token
                status, body = 200, orjson.dumps({"status": "ok", "bundle_version": self.holder.bundle_version,
                                                  "reload_errors": self.holder.reload_errors, **source})
                await _reply(send, status, body)
                return
            self._check_host(scope)
            self._authenticate(scope)
            if method == "GET" and path == "/metrics":
                status = 200
                await _reply(send, 200, self.metrics.render(self.holder).encode(),
                             [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")])
                return
            if method == "GET" and path == "/openapi.json":
                status = 200
                await _reply(send, 200, orjson.dumps(OPENAPI))
                return
            handler = self._routes.get((method, path))
            if handler is None:
                known = any(p == path for _, p in self._routes)
                raise HttpError(405 if known else 404, "method not allowed" if known else "no such route")
            body = await self._body(scope, receive)
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise HttpError(400, "the body is not JSON") from None
            try:
                reply = handler(document)
            except IcebergRefused as exc:  # no faithful Iceberg form: refused, never weakened
                raise HttpError(403, _safe(exc)) from None
            except TooLarge as exc:
                raise HttpError(413, _safe(exc)) from None
            except Overrun as exc:
                raise HttpError(503, _safe(exc)) from None
            except (BadRequest, ValueError, TypeError, KeyError) as exc:
                raise HttpError(400, _safe(exc)) from None
            except Refused as exc:
                raise HttpError(500, _safe(exc)) from None
            status = 200
            await _reply(send, 200, orjson.dumps(reply))
        except HttpError as exc:
            status = exc.status
            await _reply(send, status, orjson.dumps({"error": exc.message}),
                         [(b"www-authenticate", b"Bearer")] if status == 401 else None)
        except Exception as exc:  # fail closed: an internal error is an HTTP error, never an allow
            log.exception("policyengine serve: internal error on %s", path)
            status = 500
            await _reply(send, 500, orjson.dumps({"error": f"internal error: {exc.__class__.__name__}"}))
        finally:
            self.metrics.observe_request(path if (method, path) in self._routes else "other", status,
                                         time.perf_counter() - t0)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if hasattr(self.holder, "close"):
                    self.holder.close()  # stop the watcher or bundle poller thread
                if self.holder.decision_log is not None and hasattr(self.holder.decision_log, "close"):
                    self.holder.decision_log.close()  # flush on graceful shutdown
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _check_host(self, scope: Scope) -> None:
        """421 unless the Host header names this server (DNS rebinding: a browser sends the
        attacker's name there even once it resolves to 127.0.0.1)."""
        if self._any_host:
            return
        raw = b""
        for name, value in scope.get("headers", ()):
            if name == b"host":
                raw = value
                break
        ok = self._host_seen.get(raw)
        if ok is None:
            ok = host_name(raw.decode("latin-1")) in self._hosts
            if len(self._host_seen) >= 256:
                self._host_seen.clear()
            self._host_seen[raw] = ok
        if not ok:
            raise HttpError(421, "the Host header does not name this server; a name it may be reached by "
                                 "belongs in serve.allowed_hosts")

    def _vouched(self, scope: Scope) -> bool:
        """Whether the caller presents the configured bearer token (never true without one)."""
        if self._token is None:
            return False
        try:
            self._authenticate(scope)
        except HttpError:
            return False
        return True

    def _authenticate(self, scope: Scope) -> None:
        if self._token is None:
            return
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._token):
                    return
                break
        raise HttpError(401, "a valid bearer token is required")

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.options.max_body
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise HttpError(413, f"the body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0

        async def read() -> None:
            nonlocal size
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise HttpError(400, "the client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise HttpError(413, f"the body exceeds {limit} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return

        try:
            async with asyncio.timeout(self.options.body_timeout):  # a timer, not a task per request
                await read()
        except TimeoutError:
            raise HttpError(408, "the request body did not arrive in time") from None
        return b"".join(chunks)

    # ---------------------------------------------------------------- handlers

    def _policy(self) -> TrinoPolicy:
        engine = self.holder.engine
        cached = self._trino
        if cached is None or cached[0] is not engine:  # a reload: names are rebuilt for the new bundle
            cached = (engine, TrinoPolicy(engine, self.trino_settings, self.hash_key, self.holder.decision_log,
                                          allow_unkeyed_hash=self.allow_unkeyed_hash))
            self._trino = cached
        self.metrics.decisions += 1
        return cached[1]

    def _one(self, request: Any) -> dict[str, Any]:
        consumer, product, columns, purpose, at = _request(request, self.options.allow_caller_time)
        if type(consumer) is str and consumer not in self.holder.engine.consumers:
            decision = self._unknown_consumer(consumer, product, columns, purpose)
        else:
            decision = self.holder.evaluate(consumer, product, columns, purpose, at)
        self.metrics.decisions += 1
        return self._documents.document(decision)  # Decision.to_dict(), its bulk encoded once

    def _unknown_consumer(self, consumer: str, product: str, columns: list[str] | None,
                          purpose: str | None) -> Decision:
        """A consumer id the consumers file does not list: every column denied with that reason,
        no rows (the engine would answer an error decision and log a traceback per request).
        Logged once per id (up to _UNKNOWN_LOGGED ids)."""
        seen = self._unknown_consumers
        if consumer not in seen and len(seen) <= _UNKNOWN_LOGGED:
            seen.add(consumer)
            if len(seen) > _UNKNOWN_LOGGED:
                log.warning("policyengine serve: more than %d unknown consumer ids; no more are logged",
                            _UNKNOWN_LOGGED)
            else:
                log.warning("policyengine serve: unknown consumer %s (not in the consumers file): everything "
                            "denied; logged once", repr(consumer[:100]))
        engine = self.holder.engine
        if columns is None:
            known = engine.catalog.products.get(product)
            columns = list(known.column_names) if known is not None else []
        why = f"unknown consumer '{consumer}'"
        decision = Decision(product, consumer,
                            MappingProxyType({c: ColumnDecision(c, "deny", reason=why) for c in columns}),
                            ast.Literal(False), purpose, dt.datetime.now(dt.UTC), engine.policy_version,
                            reason=why + ": not in the consumers file; everything is denied",
                            bundle_version=engine.bundle_version)
        if self.holder.decision_log is not None:
            self.holder.decision_log.record(decision, 0.0)
        return decision

    def _evaluate(self, document: Any) -> dict[str, Any]:
        return self._one(document)

    def _read_restrictions(self, document: Any) -> dict[str, Any]:
        """Iceberg read restrictions for one consumer reading one table (serve/iceberg.py)."""
        evaluate, fields = iceberg.split_request(document)
        consumer, product, _, purpose, at = _request(evaluate, self.options.allow_caller_time)
        if self.holder.engine.catalog.get(product) is None:
            raise HttpError(404, f"unknown product '{product}'")
        if isinstance(consumer, str) and consumer not in self.holder.engine.consumers:
            self._unknown_consumer(consumer, product, None, purpose)
            raise HttpError(403, f"unknown consumer '{consumer}': not in the consumers file; nothing is readable")
        decision = self.holder.evaluate(consumer, product, None, purpose, at)
        self.metrics.decisions += 1
        if decision.error:
            raise HttpError(500, "evaluation failed: everything is denied")
        return iceberg.reply(decision, fields, self.hash_key, self.allow_unkeyed_hash)

    def _evaluate_batch(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, Mapping) or not isinstance(document.get("requests"), list):
            raise BadRequest("a batch is {\"requests\": [request, ...]}")
        requests = document["requests"]
        if len(requests) > self.options.max_batch:
            raise HttpError(413, f"a batch holds at most {self.options.max_batch} requests")
        deadline = time.perf_counter() + self.options.batch_timeout
        out = []
        for r in requests:
            if time.perf_counter() > deadline:
                raise HttpError(503, "the batch took too long; nothing is allowed")
            out.append(self._one(r))
        return {"decisions": out}


def _request(doc: Any, caller_time: bool = False) -> tuple[str | requests.Consumer, str, list[str] | None,
                                                            str | None, dt.datetime | None]:
    """Validate one evaluate request against `requests.Request` (the OpenAPI document's `Request`
    too); `at` only when the server lets callers choose the instant (`caller_time`), else a
    BadRequest."""
    try:
        return requests.read_request(doc, caller_time)
    except requests.RequestError as exc:
        raise BadRequest(str(exc)) from None


def _safe(exc: BaseException) -> str:
    """An error message for a reply: one line, bounded (never a traceback)."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:300]


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": (headers if headers and headers[0][0] == b"content-type" else _JSON + (headers or []))
                + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
