"""Trino's OPA access-control plugin, answered by the engine.

The request and reply shapes follow Trino's `plugin/trino-opa` (OpaHighLevelClient,
OpaBatchAccessControl, OpaHttpClient and the `schema/` records): every request is
`{"input": {"context": {...}, "action": {"operation": ..., "resource" | "filterResources": ...}}}`.

* allow (`opa.policy.uri`): `{"result": true|false}` — always an explicit boolean, never `{}`;
* batch (`opa.policy.batched-uri`): `{"result": [indices into filterResources]}`; for
  `FilterColumns` one table per request, the indices pointing into that table's `columns`;
* row filters (`opa.policy.row-filters-uri`): `{"result": [{"expression": "<Trino SQL>"}]}`;
* one column mask (`opa.policy.column-masking-uri`): `{"result": {"expression": ...}}` or
  `{"result": null}` for an allowed column;
* batch column masks (`opa.policy.batch-column-masking-uri`):
  `{"result": [{"index": i, "viewExpression": {"expression": ...}}]}`.

The plugin reads an undefined result (`{}` or a missing list) as *deny* for allow requests but as
*no filter* / *no mask* for the others, so this module never answers that way where a filter or
mask applies: an error there raises, and the server answers with an HTTP error, which fails the
statement. Denied columns fail `SelectFromColumns`; were a mask asked for one anyway, it is
`CAST(NULL AS <type>)`, or an untyped `NULL` (which Trino coerces to the column's type) for a type
sqlglot cannot read (`setdigest`, `qdigest(bigint)`, very long or deeply nested types).

Bounds (issue 19): a request names at most `Limits.max_items` resources (or columns of one
table), else TooLarge (HTTP 413); its decisions must be taken within `Limits.timeout`, else
Overrun (HTTP 503), never a partial answer. A request evaluates each (product, columns) once and
writes one bounded summary line to the decision log, however many resources it names.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from policyengine.bounded import BoundedCache
from policyengine.catalog.consumers import Consumer
from policyengine.enforce.sql import RenderError, filter_expression, mask_expression
from policyengine.engine.decision import ColumnDecision, Decision
from policyengine.engine.decision_log import DecisionLog, log_columns
from policyengine.native.trino import template_regex

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine
    from policyengine.engine.reload import DecisionSink

log = logging.getLogger("policyengine")


class BadRequest(ValueError):
    """The request does not have the plugin's shape (answered with HTTP 400)."""


class TooLarge(BadRequest):
    """The request names more resources or columns than `Limits.max_items` (HTTP 413)."""


class Overrun(RuntimeError):
    """The request's decisions took longer than `Limits.timeout` (HTTP 503: nothing allowed)."""


class Refused(RuntimeError):
    """A filter or mask applies but cannot be expressed safely (answered with HTTP 500)."""


@dataclass(frozen=True)
class Limits:
    """Per request: at most `max_items` filter resources or columns of a table, decided within
    `timeout` seconds (the server's `max_batch` and `batch_timeout`)."""

    max_items: int = 1000
    timeout: float = 2.0


UNMAPPED = ("drop", "passthrough")


@dataclass(frozen=True)
class TrinoSettings:
    """How Trino names map to ours (the `serve: trino:` section of policyengine.yaml).

    users: Trino user → consumer id (default: the same name). groups: Trino group → group name
    in policies (default: the same name). tables: `catalog.schema.table` → product. product:
    a template (`{catalog}`, `{schema}`, `{table}`) naming the product of any other table of the
    governed `catalogs` (empty: none by template). open_catalogs: catalogs every known consumer
    may see and read without masks (e.g. `system` for JDBC metadata). purpose_credential: the
    extra credential carrying the purpose (Trino ≥ 484, forwarded through
    `opa.identity.extra-credentials-keys`); default_purpose otherwise. require_known_consumer:
    a Trino user who is not in the consumers file is denied everything. accept_key_in_query_text:
    allow a keyed `hash` mask to carry the HMAC key inside the mask's SQL text (it then appears in
    query plans and history); off by default, so such masks are refused. unmapped_users,
    unmapped_groups: once `users` (`groups`) maps any name, a name it does not map is `drop`ped
    (the user is unknown, the group ignored), unless `passthrough` keeps it as our name: a Trino
    group that happens to be called `pii-cleared` must not grant what the mapping did not.
    """

    users: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    product: str | None = "{schema}.{table}"
    catalogs: tuple[str, ...] = ()
    open_catalogs: tuple[str, ...] = ()
    purpose_credential: str | None = "purpose"
    default_purpose: str | None = None
    require_known_consumer: bool = True
    accept_key_in_query_text: bool = False
    unmapped_users: str = "drop"
    unmapped_groups: str = "drop"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "serve.trino") -> TrinoSettings:
        """Validate the configuration section; raise ValueError with a one-line message."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")

        def mapping(key: str) -> dict[str, str]:
            value = data.get(key) or {}
            if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                         for k, v in value.items()):
                raise ValueError(f"{where}.{key} must map names to names")
            return {k.lower() if key == "tables" else k: v for k, v in value.items()}

        def names(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{where}.{key} must be a list of names")
            return tuple(value)

        def optional_text(key: str, default: str | None) -> str | None:
            value = data.get(key, default)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{where}.{key} must be a string")
            return value

        def flag(key: str, default: bool) -> bool:
            value = data.get(key, default)
            if not isinstance(value, bool):
                raise ValueError(f"{where}.{key} must be true or false")
            return value

        def unmapped(key: str) -> str:
            value = data.get(key, "drop")
            if value not in UNMAPPED:
                raise ValueError(f"{where}.{key} must be 'drop' or 'passthrough'")
            return value

        template = optional_text("product", "{schema}.{table}")
        if template is not None and "{table}" not in template:
            raise ValueError(f"{where}.product must contain {{table}}")
        return cls(mapping("users"), mapping("groups"), mapping("tables"), template, names("catalogs"),
                   names("open_catalogs"), optional_text("purpose_credential", "purpose"),
                   optional_text("default_purpose", None), flag("require_known_consumer", True),
                   flag("accept_key_in_query_text", False), unmapped("unmapped_users"),
                   unmapped("unmapped_groups"))


# ---------------------------------------------------------------- request parsing


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON gives: skip the abstract-class check
        return value
    if not isinstance(value, Mapping):
        raise BadRequest(f"{what} must be an object")
    return value


def _text(value: Any, what: str) -> str:
    if type(value) is str:
        return value
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a string")
    return value


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{what} must be a list of strings")
    return value


@dataclass(frozen=True)
class Request:
    """One plugin request: who asks (already mapped to a consumer, or None when unknown), the
    purpose, the operation and its resource(s)."""

    user: str
    consumer: Consumer | None
    purpose: str | None
    operation: str
    resource: Mapping[str, Any] | None
    filter_resources: tuple[Mapping[str, Any], ...] | None
    trace: Trace | None = field(default=None, compare=False)


class Trace:
    """One plugin request's budget and its decisions, each (product, columns) taken once."""

    __slots__ = ("limits", "started", "deadline", "decisions")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.started = time.perf_counter()
        self.deadline = self.started + limits.timeout
        self.decisions: dict[tuple[str, tuple[str, ...] | None], Decision] = {}

    def check(self) -> None:
        if time.perf_counter() > self.deadline:
            raise Overrun("the request took longer than batch_timeout; nothing is allowed")

    def count(self, n: int, what: str) -> None:
        if n > self.limits.max_items:
            raise TooLarge(f"the request names {n} {what}, more than max_batch ({self.limits.max_items})")


def parse(document: Any, settings: TrinoSettings, consumers: Mapping[str, Consumer],
          limits: Limits | None = None) -> Request:
    """The plugin's `{"input": {"context", "action"}}` document → a Request (BadRequest if
    malformed, TooLarge beyond `limits.max_items` resources)."""
    limits = limits or Limits()
    doc = _obj(document, "the request")
    inp = _obj(doc.get("input"), "'input'")
    context = _obj(inp.get("context"), "'input.context'")
    identity = _obj(context.get("identity"), "'input.context.identity'")
    user = _text(identity.get("user"), "'identity.user'")
    groups = _names(identity.get("groups", []), "'identity.groups'")
    extra = identity.get("extraCredentials") or {}
    if not isinstance(extra, Mapping):
        raise BadRequest("'identity.extraCredentials' must be an object")
    action = _obj(inp.get("action"), "'input.action'")
    operation = _text(action.get("operation"), "'action.operation'")
    resource = action.get("resource")
    if resource is not None:
        resource = _obj(resource, "'action.resource'")
    filter_resources = action.get("filterResources")
    if filter_resources is not None:
        if not isinstance(filter_resources, list):
            raise BadRequest("'action.filterResources' must be a list")
        if len(filter_resources) > limits.max_items:
            raise TooLarge(f"the request names {len(filter_resources)} resources, more than max_batch "
                           f"({limits.max_items})")
        filter_resources = tuple(_obj(r, "each of 'action.filterResources'") for r in filter_resources)
    purpose = settings.default_purpose
    if settings.purpose_credential and isinstance(extra.get(settings.purpose_credential), str):
        purpose = extra[settings.purpose_credential]
    return Request(user, _consumer(user, groups, settings, consumers), purpose, operation, resource,
                   filter_resources, Trace(limits))


def _consumer(user: str, groups: Sequence[str], settings: TrinoSettings,
              consumers: Mapping[str, Consumer]) -> Consumer | None:
    """The consumer a Trino identity maps to: attributes and groups from the consumers file, plus
    Trino's groups (mapped); None when the user is unknown and known consumers are required."""
    if settings.users and settings.unmapped_users == "drop":
        cid = settings.users.get(user)
        if cid is None:  # the mapping is exclusive: a Trino user it does not name is nobody of ours
            return None
    else:
        cid = settings.users.get(user, user)
    known = consumers.get(cid)
    if settings.groups and settings.unmapped_groups == "drop":
        mapped = frozenset(settings.groups[g] for g in groups if g in settings.groups)
    else:
        mapped = frozenset(settings.groups.get(g, g) for g in groups)
    if known is None:
        return None if settings.require_known_consumer or not cid else Consumer(cid, mapped)
    return Consumer(known.id, known.groups | mapped, known.attributes)


# ---------------------------------------------------------------- names → products


class Names:
    """Trino's catalog.schema.table → product, for one engine's catalog (built once per bundle)."""

    def __init__(self, settings: TrinoSettings, products: Sequence[str]) -> None:
        self.settings = settings
        known = set(products)
        self.explicit: dict[tuple[str, str, str], str] = {}
        for key, product in settings.tables.items():
            parts = key.split(".")
            if len(parts) == 3 and product in known:
                self.explicit[(parts[0], parts[1], parts[2])] = product
        self.templated: dict[tuple[str | None, str, str], str] = {}
        if settings.product and settings.catalogs:
            rx = template_regex(settings.product)
            for product in products:
                m = rx.fullmatch(product)
                if m is not None:
                    g = m.groupdict()
                    self.templated[(g.get("catalog"), g.get("schema") or "", g["table"])] = product
        self.templated_has_catalog = bool(settings.product and "{catalog}" in settings.product)
        self.governed = frozenset(settings.catalogs) | {k[0] for k in self.explicit}

    def product(self, catalog: str, schema: str, table: str) -> str | None:
        catalog, schema, table = catalog.lower(), schema.lower(), table.lower()
        found = self.explicit.get((catalog, schema, table))
        if found is not None or catalog not in self.settings.catalogs:
            return found
        return self.templated.get((catalog if self.templated_has_catalog else None, schema, table))

    def tables(self, catalog: str) -> list[tuple[str, str, str]]:
        """Every (schema, table, product) of a catalog."""
        catalog = catalog.lower()
        out = [(s, t, p) for (c, s, t), p in self.explicit.items() if c == catalog]
        if catalog in self.settings.catalogs:
            out += [(s, t, p) for (c, s, t), p in self.templated.items()
                    if (c == catalog if self.templated_has_catalog else True)
                    and (catalog, s, t) not in self.explicit]
        return out


# ---------------------------------------------------------------- answers


METADATA_SCHEMA = "information_schema"
MAX_TYPE_LENGTH = 1024  # a longer Trino column type is not parsed (nor kept in a cache key)
MAX_TYPE_DEPTH = 32  # nor one nested deeper (sqlglot recurses per level)
_FAILED = object()  # a request that raised: its log line says "failed"
LOG_DECISIONS = 16  # decisions written in full in a request's decision-log line
LOG_COLUMNS = 64  # columns per decision written there
_LOGGED_TYPES = 256  # distinct unreadable column types logged


def _null_of(column_type: str | None) -> str:
    """`CAST(NULL AS <type>)` in Trino SQL, or an untyped `NULL` (Trino coerces it to any column
    type) when the type is missing, too long or deep, or one sqlglot cannot parse; raises
    ValueError in that last case, after which the caller answers "NULL" (see _render_mask)."""
    if not column_type:
        return "NULL"
    depth = deepest = 0
    for ch in column_type:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    if len(column_type) > MAX_TYPE_LENGTH or deepest > MAX_TYPE_DEPTH:
        raise ValueError("too long or too deeply nested")
    try:
        target = exp.DataType.build(column_type, dialect="trino")
    except (SqlglotError, RecursionError, ValueError, TypeError) as exc:
        raise ValueError(exc.__class__.__name__) from None
    return exp.cast(exp.null(), target).sql("trino")


class TrinoPolicy:
    """The plugin's five endpoints over one engine (a new one per bundle: cheap to build)."""

    def __init__(self, engine: Engine, settings: TrinoSettings, hash_key: bytes | None = None,
                 decision_log: DecisionSink | None = None, allow_unkeyed_hash: bool = False) -> None:
        self.engine = engine
        self.allow_unkeyed_hash = allow_unkeyed_hash  # plain SHA-256 for `hash` without a key
        # the Trino lines are whole entries, which the DecisionLog records; a sink taking only
        # Decisions (DecisionSink.record) has no place for them
        self.decision_log = decision_log if isinstance(decision_log, DecisionLog) else None
        self.settings = settings
        self.hash_key = hash_key
        self.names = Names(settings, list(engine.catalog.products))
        self._types = {name: {c.name: c.logical_type for c in p.columns}
                       for name, p in engine.catalog.products.items()}
        # rendered SQL by outcome (sqlglot rendering costs far more than a decision); bounded,
        # per engine (a reload builds a new TrinoPolicy), holding results and refusals alike
        self._sql: BoundedCache[tuple, str | None | Refused] = BoundedCache(65536)
        self._filters: BoundedCache[tuple, str | Refused] = BoundedCache(65536)
        self._logged_types: set[str] = set()

    # -- helpers

    def parse(self, document: Any, limits: Limits | None = None) -> Request:
        return parse(document, self.settings, self.engine.consumers, limits)

    def decide(self, req: Request, product: str, columns: Sequence[str] | None = None) -> Decision:
        """The engine's decision, taken once per (product, columns) in a request, within its
        time budget (Overrun past it)."""
        assert req.consumer is not None
        trace = req.trace
        if trace is None:
            return self.engine.evaluate(req.consumer, product, columns, req.purpose)
        key = (product, None if columns is None else tuple(columns))
        found = trace.decisions.get(key)
        if found is None:
            trace.check()
            found = trace.decisions[key] = self.engine.evaluate(req.consumer, product, columns, req.purpose)
        return found

    def _answer(self, document: Any, limits: Limits | None, kind: str, answer: Any) -> Any:
        """Parse, answer with `answer(req)`, and write the request's decision-log line (one per
        request that took a decision, whether it was answered or failed)."""
        req = self.parse(document, limits)
        result: Any = _FAILED
        try:
            result = answer(req)
            return result
        finally:
            if self.decision_log is not None and req.trace is not None and req.trace.decisions:
                self.decision_log.record_entry(self._log_line(req, kind, result))

    def _log_line(self, req: Request, kind: str, result: Any) -> dict[str, Any]:
        """One bounded line for a request: who, what, how many resources and how many were
        allowed or masked, the first LOG_DECISIONS decisions (LOG_COLUMNS columns each) as in a
        decision line, and how much was left out. Like decision lines: names only, no values."""
        assert req.trace is not None and req.consumer is not None
        decisions = list(req.trace.decisions.values())
        shown, columns_omitted = [], 0
        for d in decisions[:LOG_DECISIONS]:
            cols = log_columns(d)
            if len(cols) > LOG_COLUMNS:
                columns_omitted += len(cols) - LOG_COLUMNS
                cols = dict(itertools.islice(cols.items(), LOG_COLUMNS))
            shown.append({"product": d.product, "columns": cols, "row_filter": d.row_filter is not None,
                          "filter_rules": [r.name for r in d.filter_rules], "error": d.error is not None})
        line: dict[str, Any] = {
            "time": dt.datetime.now(dt.UTC), "source": "trino", "operation": req.operation,
            "consumer": req.consumer.id, "purpose": req.purpose,
            "items": len(req.filter_resources) if req.filter_resources is not None else 1}
        if result is _FAILED:
            line["failed"] = True
        elif kind == "allow":
            line["allowed"] = int(bool(result))
        elif kind == "batch":
            line["allowed"] = len(result)
        elif kind == "masks":
            line["masked"] = len(result) if isinstance(result, list) else int(result is not None)
        else:
            line["filtered"] = int(bool(result))
        line.update({"decisions": shown, "decisions_omitted": len(decisions) - len(shown),
                     "columns_omitted": columns_omitted, "bundle_version": self.engine.bundle_version,
                     "policy_version": self.engine.policy_version,
                     "error": any(d.error is not None for d in decisions),
                     "duration_us": int((time.perf_counter() - req.trace.started) * 1e7) / 10})
        return line

    def _mask_sql(self, product: str, cd: ColumnDecision, column_type: str | None = None) -> str | None:
        """The Trino SQL of a column's outcome: None (allowed as is), the mask, or NULL (denied).
        Raises Refused when the mask has no safe Trino form: a keyed hash without
        `accept_key_in_query_text`, or a hash with no key without `allow_unkeyed_hash` (a plain
        SHA-256 of a guessable value is confirmed by hashing a guess, as the gateway refuses)."""
        if cd.effect == "allow":
            return None
        try:
            key = (product, cd.column, cd.effect, cd.strategy, tuple(cd.args.items()), column_type)
            hash(key)
        except TypeError:
            return self._render_mask(product, cd, column_type)
        found = self._sql.get(key, self)
        if found is self:
            try:
                found = self._render_mask(product, cd, column_type)
            except Refused as exc:
                found = exc
            self._sql.put(key, found)
        if isinstance(found, Refused):
            raise Refused(str(found))
        return found  # type: ignore[return-value]

    def _render_mask(self, product: str, cd: ColumnDecision, column_type: str | None) -> str | None:
        col = exp.column(cd.column, quoted=True)
        if cd.effect == "deny" or cd.mask is None:
            try:
                return _null_of(column_type)
            except ValueError as exc:  # fail closed: NULL of any type, logged once per type
                assert column_type is not None
                if column_type not in self._logged_types and len(self._logged_types) < _LOGGED_TYPES:
                    self._logged_types.add(column_type)
                    log.warning("policyengine serve: Trino column type %s cannot be read (%s); a denied column "
                                "of that type is masked as an untyped NULL", repr(column_type[:80]), exc)
                return "NULL"
        keyed = cd.strategy == "hash" and self.hash_key is not None
        if cd.strategy == "hash" and not keyed and not self.allow_unkeyed_hash:
            raise Refused(f"column '{cd.column}' of {product} is masked with 'hash' but no HMAC key is set; "
                          "a plain SHA-256 can be confirmed by hashing a guess: set the key "
                          "(hash_key_env) or allow_unkeyed_hash: true in policyengine.yaml")
        if keyed and not self.settings.accept_key_in_query_text:
            raise Refused(f"column '{cd.column}' of {product} is masked with a keyed hash, which over Trino "
                          "would put the key into query text and history; set serve.trino."
                          "accept_key_in_query_text: true to accept that, or unset the hash key")
        try:
            tree = mask_expression(cd.mask, col, "trino", logical_type=self._types.get(product, {}).get(cd.column),
                                   keyed=keyed, column=cd.column)
        except RenderError as exc:
            raise Refused(str(exc)) from None
        if keyed and self.hash_key is not None:  # keyed says it is set; narrowed again for the checker
            key_literal = exp.Anonymous(this="FROM_HEX", expressions=[exp.Literal.string(self.hash_key.hex())])
            tree = tree.transform(lambda n: key_literal.copy() if isinstance(n, exp.Placeholder) else n)
        return tree.sql("trino")

    def _readable(self, product: str, cd: ColumnDecision) -> bool:
        if cd.effect == "deny":
            return False
        if cd.effect == "mask":
            try:
                self._mask_sql(product, cd)
            except Refused:
                return False
        return True

    def _product_readable(self, req: Request, product: str) -> bool:
        d = self.decide(req, product)
        return d.error is None and any(self._readable(product, cd) for cd in d.columns.values())

    def _catalog_visible(self, req: Request, catalog: str) -> bool:
        if catalog in self.settings.open_catalogs:
            return True
        return any(self._product_readable(req, p) for _, _, p in self.names.tables(catalog))

    def _schema_visible(self, req: Request, catalog: str, schema: str) -> bool:
        if catalog in self.settings.open_catalogs:
            return True
        if schema == METADATA_SCHEMA:
            return self._catalog_visible(req, catalog)
        return any(self._product_readable(req, p) for s, _, p in self.names.tables(catalog) if s == schema)

    def _table(self, resource: Mapping[str, Any] | None, key: str = "table") -> tuple[str, str, str, Any]:
        table = _obj((resource or {}).get(key), f"'resource.{key}'")
        return (_text(table.get("catalogName"), "'catalogName'"), _text(table.get("schemaName"), "'schemaName'"),
                _text(table.get("tableName"), "'tableName'"), table)

    def _columns_readable(self, req: Request, catalog: str, schema: str, table: str,
                          columns: Sequence[str]) -> list[bool]:
        """Per requested column: may the consumer read it (allowed, or masked with a Trino form)?"""
        if catalog in self.settings.open_catalogs or (schema == METADATA_SCHEMA
                                                      and self._catalog_visible(req, catalog)):
            return [True] * len(columns)
        product = self.names.product(catalog, schema, table)
        if product is None:
            return [False] * len(columns)
        d = self.decide(req, product, list(columns))
        if d.error is not None:
            return [False] * len(columns)
        return [self._readable(product, d.columns[c]) if c in d.columns else False for c in columns]

    # -- opa.policy.uri

    def allow(self, document: Any, limits: Limits | None = None) -> bool:
        """One allow request → a boolean (False for anything not explicitly allowed)."""
        return self._answer(document, limits, "allow", self._allow)

    def _allow(self, req: Request) -> bool:
        if req.consumer is None:
            return False
        op, res = req.operation, req.resource or {}
        if op == "ExecuteQuery":
            return True
        if op in ("AccessCatalog", "FilterCatalogs", "ShowSchemas"):
            return self._catalog_visible(req, _text(_obj(res.get("catalog"), "'resource.catalog'").get("name"),
                                                    "'catalog.name'"))
        if op in ("FilterSchemas", "ShowTables"):
            schema_doc = _obj(res.get("schema"), "'resource.schema'")
            return self._schema_visible(req, _text(schema_doc.get("catalogName"), "'catalogName'"),
                                        _text(schema_doc.get("schemaName"), "'schemaName'"))
        if op in ("FilterTables", "ShowColumns"):
            catalog, schema, table, _ = self._table(res)
            return self._table_visible(req, catalog, schema, table)
        if op in ("FilterColumns", "SelectFromColumns"):
            catalog, schema, table, t = self._table(res)
            columns = self._columns_of(req, t)
            if op == "FilterColumns" and len(columns) != 1:
                raise BadRequest("FilterColumns sends one column per request in the single form")
            if not self._table_visible(req, catalog, schema, table):
                return False
            return all(self._columns_readable(req, catalog, schema, table, columns))
        if op in ("ViewQueryOwnedBy", "KillQueryOwnedBy", "FilterViewQueryOwnedBy"):
            owner = _obj(res.get("user"), "'resource.user'")
            return owner.get("user") == req.user
        if op == "ExecuteFunction":  # the built-in functions masks and filters call
            fn = _obj(res.get("function"), "'resource.function'")
            return fn.get("catalogName") == "system" and fn.get("schemaName") == "builtin"
        return False  # DDL, DML, grants, session properties, impersonation...: not granted here

    @staticmethod
    def _columns_of(req: Request, table: Mapping[str, Any]) -> list[str]:
        columns = _names(table.get("columns", []), "'table.columns'")
        if req.trace is not None:
            req.trace.count(len(columns), "columns")
        return columns

    def _table_visible(self, req: Request, catalog: str, schema: str, table: str) -> bool:
        if catalog in self.settings.open_catalogs:
            return True
        if schema == METADATA_SCHEMA:
            return self._catalog_visible(req, catalog)
        product = self.names.product(catalog, schema, table)
        return product is not None and self._product_readable(req, product)

    # -- opa.policy.batched-uri

    def batch(self, document: Any, limits: Limits | None = None) -> list[int]:
        """A batched filter request → the indices of the resources the consumer may see."""
        return self._answer(document, limits, "batch", self._batch)

    def _batch(self, req: Request) -> list[int]:
        items = req.filter_resources
        if items is None:
            raise BadRequest("a batch request needs 'action.filterResources'")
        if req.consumer is None:
            return []
        op = req.operation
        if op == "FilterColumns":
            if len(items) != 1:
                raise BadRequest("batched FilterColumns sends exactly one table per request")
            catalog, schema, table, t = self._table(items[0])
            columns = self._columns_of(req, t)
            if not self._table_visible(req, catalog, schema, table):
                return []
            flags = self._columns_readable(req, catalog, schema, table, columns)
            return [i for i, ok in enumerate(flags) if ok]
        if op not in ("FilterCatalogs", "FilterSchemas", "FilterTables", "FilterViewQueryOwnedBy",
                      "FilterFunctions"):
            raise BadRequest(f"operation {op!r} is not a batched filter")
        out = []
        for i, resource in enumerate(items):
            if req.trace is not None:
                req.trace.check()  # every item: even answers from the request's memo take time
            if self._allow(Request(req.user, req.consumer, req.purpose, op, resource, None, req.trace)):
                out.append(i)
        return out

    # -- opa.policy.row-filters-uri

    def row_filters(self, document: Any, limits: Limits | None = None) -> list[dict[str, str]]:
        """GetRowFilters → `[{"expression": ...}]`: the product's row filter, `false` when the table
        is not ours or the consumer is unknown (never `[]` where a filter could apply)."""
        return self._answer(document, limits, "filters", self._row_filters)

    def _row_filters(self, req: Request) -> list[dict[str, str]]:
        if req.operation != "GetRowFilters":
            raise BadRequest(f"the row-filters endpoint answers GetRowFilters, not {req.operation!r}")
        catalog, schema, table, _ = self._table(req.resource)
        if catalog in self.settings.open_catalogs or schema == METADATA_SCHEMA:
            return []
        product = self.names.product(catalog, schema, table)
        if req.consumer is None or product is None:
            return [{"expression": "FALSE"}]
        d = self.decide(req, product)
        if d.error is not None:
            raise Refused(f"evaluation failed for {product}")
        if d.row_filter is None:
            return []
        return [{"expression": self._filter_sql(product, d.row_filter)}]

    def _filter_sql(self, product: str, row_filter: Any) -> str:
        key = (product, row_filter)
        cacheable = True
        try:
            found = self._filters.get(key)
        except TypeError:  # an unhashable literal: render without the cache
            cacheable, found = False, None
        if found is None:
            try:
                # never NULL: Trino ANDs the filter with the user's WHERE, and a NULL filter makes it
                # evaluate the user's predicate on the hidden row (an error there is an oracle)
                tree = filter_expression(row_filter, types=self._types.get(product))
                if not isinstance(tree, exp.Boolean):
                    tree = exp.func("COALESCE", exp.paren(tree, copy=False), exp.false())
                found = tree.sql("trino")
            except RenderError as exc:
                found = Refused(str(exc))
            if cacheable:
                self._filters.put(key, found)
        if isinstance(found, Refused):
            raise Refused(str(found))
        return found

    # -- opa.policy.column-masking-uri and batch-column-masking-uri

    def _masks(self, req: Request, resources: Sequence[Mapping[str, Any]]) -> list[str | None]:
        cols = []
        for r in resources:
            c = _obj(r.get("column"), "'resource.column'")
            ctype = _text(c.get("columnType"), "'columnType'")
            cols.append((_text(c.get("catalogName"), "'catalogName'"), _text(c.get("schemaName"), "'schemaName'"),
                         _text(c.get("tableName"), "'tableName'"), _text(c.get("columnName"), "'columnName'"),
                         ctype[:MAX_TYPE_LENGTH + 1]))  # still too long to parse, and a bounded cache key
        out: list[str | None] = []
        # per table of the request (a batch names a few tables, many columns each): is it governed,
        # its product, the decision (one evaluation per table)
        tables: dict[tuple[str, str, str], tuple[bool, str | None, Decision | None]] = {}
        for catalog, schema, table, column, ctype in cols:  # decide() keeps the time budget per table
            key = (catalog, schema, table)
            found = tables.get(key)
            if found is None:
                if catalog in self.settings.open_catalogs or schema == METADATA_SCHEMA:
                    found = (False, None, None)
                else:
                    product = self.names.product(catalog, schema, table)
                    decision = None if req.consumer is None or product is None else self.decide(req, product)
                    if decision is not None and decision.error is not None:
                        raise Refused(f"evaluation failed for {product}")
                    found = (True, product, decision)
                tables[key] = found
            governed, product, d = found
            if not governed:
                out.append(None)
            elif d is None or product is None:
                out.append(self._mask_sql("?", ColumnDecision(column, "deny"), ctype))
            else:
                cd = d.columns.get(column) or ColumnDecision(column, "deny")
                try:
                    out.append(self._mask_sql(product, cd, ctype))
                except Refused:
                    # a mask with no safe Trino form makes the column unreadable (SelectFromColumns
                    # and FilterColumns say so); Trino asks masks for every column of a table it
                    # scans, so an error here would fail every query on the table, not just this
                    # column's: answer as for a denied column
                    out.append(self._mask_sql(product, ColumnDecision(column, "deny"), ctype))
        return out

    def column_mask(self, document: Any, limits: Limits | None = None) -> dict[str, str] | None:
        """GetColumnMask (one column) → `{"expression": ...}` or None (no mask: allowed as is)."""
        return self._answer(document, limits, "masks", self._column_mask)

    def _column_mask(self, req: Request) -> dict[str, str] | None:
        if req.operation != "GetColumnMask" or req.resource is None:
            raise BadRequest("the column-masking endpoint answers GetColumnMask with a 'resource'")
        sql = self._masks(req, [req.resource])[0]
        return None if sql is None else {"expression": sql}

    def batch_column_masks(self, document: Any, limits: Limits | None = None) -> list[dict[str, Any]]:
        """GetColumnMask (batched) → `[{"index", "viewExpression": {"expression"}}]` for masked columns."""
        return self._answer(document, limits, "masks", self._batch_column_masks)

    def _batch_column_masks(self, req: Request) -> list[dict[str, Any]]:
        if req.operation != "GetColumnMask" or req.filter_resources is None:
            raise BadRequest("the batch column-masking endpoint answers GetColumnMask with 'filterResources'")
        masks = self._masks(req, req.filter_resources)
        return [{"index": i, "viewExpression": {"expression": sql}} for i, sql in enumerate(masks) if sql is not None]
