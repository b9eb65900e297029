"""The reference gateway: rewrite a user's SQL so every product it reads is policy-enforced.

`rewrite(sql, consumer, ...)` parses the query with sqlglot, rejects anything but one read-only
SELECT over known products, and replaces each product reference by the enforced subquery of the
consumer's decision (masked columns under their own names, denied columns absent, row filter
applied). Because the user's query only ever sees the enforced subquery, its WHERE, GROUP BY,
JOIN and ORDER BY work on masked values: a predicate cannot probe a raw value the mask hides.

`Gateway` runs rewritten queries on an embedded DuckDB over the products' sample files, with
external access disabled and its configuration locked once the samples are loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.optimizer.scope import Scope, traverse_scope

from policyengine.bounded import BoundedCache
from policyengine.catalog.contracts import Product
from policyengine.enforce.allowlist import refusal
from policyengine.enforce.sql import (
    RenderError,
    bind_values,
    check_dialect,
    enforced_select,
    escape_pyformat,
    hash_parameters,
    hashed_columns,
    keyed_hash,
    placed_markers,
    positional_parameters,
    postgres_safe_strings,
    resolve_key,
)
from policyengine.enforce.sql import UnkeyedHash as RenderUnkeyedHash
from policyengine.engine.decision import Decision

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine

log = logging.getLogger("policyengine.enforce.gateway")

RAW_SCHEMA = "pe_raw"
class GatewayError(ValueError):
    """A query the gateway refuses (the message says why); nothing was run."""


class RejectedStatement(GatewayError):
    """Not a single read-only SELECT, or it uses a function/table function the gateway forbids."""


class UnknownSource(GatewayError):
    """The query reads something that is not a registered product (a file, a system table...).
    `name`: the table's name as the query spells it, when the query names one that is no product.

    The library tells a product the consumer may not read (another GatewayError) from one that
    does not exist (this one, listing the products): its callers are trusted (the CLI, a service
    deciding for a consumer). The wire server does not: a consumer gets 42P01 for both."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


class DeniedColumn(GatewayError):
    """The query names a column the consumer may not read; the message names it and the rule."""

    def __init__(self, message: str, product: str, column: str, rule: str | None) -> None:
        super().__init__(message)
        self.product, self.column, self.rule = product, column, rule


@dataclass(frozen=True)
class Rewritten:
    """A rewritten query: SQL for `dialect`, parameters to bind, and the decision per product."""

    sql: str
    params: Mapping[str, Any]
    decisions: Mapping[str, Decision]
    dialect: str
    positional: tuple[Any, ...] = ()

    @property
    def bind(self) -> Mapping[str, Any] | tuple[Any, ...] | None:
        """What to pass to the driver (see `policyengine.enforce.sql.bind_values`)."""
        return bind_values(self.params, self.positional)

    def __str__(self) -> str:
        return self.sql


SourceMap = Mapping[str, "str | Sequence[str] | exp.Expression"] | Callable[[str], Any] | None
# per product: column -> the type to render it as (e.g. "timestamptz"); or a function of the product
TypeMap = Mapping[str, Mapping[str, str]] | Callable[[str], "Mapping[str, str] | None"] | None


# ---------------------------------------------------------------- checks


def parse_select(sql: str, dialect: str, *, ours: bool = False) -> exp.Expression:
    """The one SELECT statement in `sql`, or RejectedStatement: every node must be on the
    dialect's allow-list (`policyengine.enforce.allowlist`), and no name may contain the marker
    of the gateway's own relations (unless `ours`: SQL the gateway generated)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except (ParseError, TokenError) as exc:
        raise RejectedStatement(f"cannot parse the query: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    if len(statements) != 1:
        raise RejectedStatement(f"exactly one statement is allowed, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)):
        raise RejectedStatement(f"only SELECT queries are allowed, found {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, (exp.Placeholder, exp.Parameter, exp.SessionParameter)):
            # the gateway binds its own parameters (the HMAC key): a user placeholder would read them
            raise RejectedStatement(f"parameters and placeholders ({node.sql(dialect=dialect)}) are not allowed "
                                    "in a query through the gateway; write the values inline")
        found = refusal(node, dialect)
        if found is not None:
            raise RejectedStatement(found.message())
        if not ours and isinstance(node, exp.Identifier):
            if _RESERVED in node.name.lower():
                raise RejectedStatement(f"the name {node.name!r} is reserved for the gateway's own relations")
            if not node.quoted and any(c in node.name for c in _PARAMETER_SIGILS):
                raise RejectedStatement(f"the name {node.name} looks like a parameter in some engine; "
                                        "parameters are not allowed (quote it if it is a name)")
        node.comments = None  # a comment is never passed on to the engine
    return tree


def _with_of(node: exp.Expr) -> exp.With | None:
    found = node.args.get("with_", node.args.get("with"))
    return found if isinstance(found, exp.With) else None


def visible_cte_nodes(table: exp.Table) -> dict[str, exp.CTE]:
    """The CTEs `table` can refer to where it stands, by lower-cased name (the innermost wins):
    the CTEs of every enclosing WITH whose body holds it, and, inside a CTE, only the CTEs
    defined before it (itself too if RECURSIVE). A name defined in another scope is not visible
    here: the engine would resolve it to a table."""
    found: dict[str, exp.CTE] = {}
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With):
            ctes = list(node.expressions)
            index = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            upto = index + 1 if node.args.get("recursive") else index
            for cte in reversed(ctes[:upto]):  # a later CTE of one WITH shadows an earlier one
                found.setdefault(cte.alias_or_name.lower(), cte)
        else:
            with_ = _with_of(node)
            if with_ is not None and with_ is not child:
                for cte in reversed(list(with_.expressions)):
                    found.setdefault(cte.alias_or_name.lower(), cte)
        child, node = node, node.parent
    return found


def _analyse(sql: str, read: str, products: Mapping[str, Product]) -> tuple[exp.Expression, dict[int, str]]:
    """Parse and check the user's query; map each product reference (by node id) to its product.

    Every CTE gets a generated name, and every reference this function resolved to a CTE is
    renamed to it (keeping the written name as its alias): so the engine resolves exactly the
    names resolved here, whatever its own rules for case, quoting or Unicode case folding (a
    reference that only *looked* like a CTE here would otherwise read a real table there)."""
    tree = parse_select(sql, read)
    table_products: dict[int, str] = {}
    renamed: dict[int, str] = {}
    for table in list(tree.find_all(exp.Table)):
        nodes = visible_cte_nodes(table)
        product = _product_of(table, set(nodes), products)
        if product is not None:
            table_products[id(table)] = product
            continue
        cte = nodes[table.name.lower()]
        new_name = renamed.setdefault(id(cte), f"{_CTE_PREFIX}{len(renamed)}")
        if table.args.get("alias") is None:
            table.set("alias", exp.TableAlias(this=table.this.copy()))
        table.set("this", exp.to_identifier(new_name, quoted=True))
    for cte in tree.find_all(exp.CTE):
        new_name = renamed.setdefault(id(cte), f"{_CTE_PREFIX}{len(renamed)}")
        alias = cte.args.get("alias")
        if isinstance(alias, exp.TableAlias):
            alias.set("this", exp.to_identifier(new_name, quoted=True))
        else:
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(new_name, quoted=True)))
    return tree, table_products


def _check_output(outer_sql: str, dialect: str, placeholders: Sequence[str]) -> None:
    """Re-read the generated outer query in the output dialect: it must be one SELECT whose
    tables are our placeholders (each once) and our renamed CTEs, with no parameters. Needed
    when the query was read in another dialect: a text that one dialect reads as a name can be
    a parameter, a string or a comment in another (`$name`, `$$ ... $$`)."""
    tree = parse_select(outer_sql, dialect, ours=True)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    seen: list[str] = []
    for table in tree.find_all(exp.Table):
        name = table.name
        if table.args.get("db") is None and table.args.get("catalog") is None and name in placeholders:
            seen.append(name)
        elif not (name.startswith(_CTE_PREFIX) and table.args.get("db") is None and name in ctes):
            raise UnknownSource(f"the query does not mean the same in {dialect} as it was read: "
                                f"it would read '{table.sql(dialect=dialect)}'")
    if sorted(seen) != sorted(placeholders):
        raise RejectedStatement(f"the query does not mean the same in {dialect} as it was read")


def _product_of(table: exp.Table, ctes: set[str], products: Mapping[str, Product]) -> str | None:
    """The product a FROM/JOIN table names, None for a reference to a CTE visible at the table
    (`ctes`), UnknownSource otherwise."""
    parts = [table.args.get(k) for k in ("catalog", "db", "this")]
    if not all(p is None or isinstance(p, exp.Identifier) for p in parts):
        raise UnknownSource(f"table functions are not allowed: {table.this.sql()}")
    extra = [k for k, v in table.args.items() if v is not None and k not in ("catalog", "db", "this", "alias")]
    if extra:
        raise RejectedStatement(f"table options ({', '.join(extra)}) are not allowed on {table.sql()}")
    catalog, db, name = (p.name if p is not None else None for p in parts)
    if catalog is None and db is None and name is not None and name.lower() in ctes:
        return None
    if catalog is None and db is not None and name is not None:
        product = f"{db}.{name}"
        if product in products:
            return product
        folded = {p.lower(): p for p in products}
        if product.lower() in folded:
            return folded[product.lower()]
    raise UnknownSource(f"'{table.sql()}' is not a registered product; a query can only read products "
                        f"(known: {', '.join(sorted(products)) or 'none'})", typed_name(table))


def typed_name(table: exp.Table) -> str:
    """A table's name as the query spells it (quotes kept, no alias): what an error names."""
    return ".".join(part.sql() for part in (table.args.get(k) for k in ("catalog", "db", "this"))
                    if part is not None)


def _lookup(decision: Decision, column: str) -> Any:
    cd = decision.columns.get(column)
    if cd is None:
        folded = {c.lower(): d for c, d in decision.columns.items()}
        cd = folded.get(column.lower())
    return cd


def _denied(product: str, decision: Decision, column: str) -> DeniedColumn:
    cd = _lookup(decision, column)
    rule = cd.rule if cd is not None else None
    why = f"denied by rule {rule}" if rule is not None else (cd.reason if cd is not None else "")
    return DeniedColumn(f"column '{column}' of {product} is not readable by {decision.consumer}: "
                        f"{why or 'no rule allows it (default deny)'}", product, column,
                        rule.name if rule is not None else None)


def _check_columns(tree: exp.Expression, table_products: dict[int, str], decisions: Mapping[str, Decision]) -> None:
    """Name denied columns clearly before running anything (the enforced subqueries leave them out
    anyway, so a miss here still fails closed with a 'column not found' from the engine)."""
    for scope in traverse_scope(tree):
        products_here: dict[str, str] = {}
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table) and id(source) in table_products:
                products_here[alias.lower()] = table_products[id(source)]
        if not products_here:
            continue
        aliases = _select_aliases(scope)
        for column in scope.columns:
            name = column.name
            if column.table:
                product = products_here.get(column.table.lower())
                if product is None:
                    continue
                cd = _lookup(decisions[product], name)
                if cd is None:
                    raise GatewayError(f"{product} has no column '{name}'")
                if cd.effect == "deny":
                    raise _denied(product, decisions[product], name)
                continue
            if name.lower() in aliases or name == "*":
                continue
            found = [(p, _lookup(decisions[p], name)) for p in products_here.values()]
            if any(cd is not None and cd.effect != "deny" for _, cd in found):
                continue
            for product, cd in found:
                if cd is not None:
                    raise _denied(product, decisions[product], name)


def _select_aliases(scope: Scope) -> set[str]:
    expression = scope.expression
    if isinstance(expression, exp.Select):
        return {s.alias.lower() for s in expression.expressions if isinstance(s, exp.Alias)}
    return set()


# ---------------------------------------------------------------- rewrite


def _default_source(product: str) -> list[str]:
    domain, _, name = product.partition(".")
    return [domain, name]


def _source_for(product: str, sources: SourceMap) -> Any:
    if sources is None:
        return _default_source(product)
    if callable(sources):
        return sources(product)
    if product not in sources:
        raise UnknownSource(f"no physical source configured for product {product}")
    return sources[product]


def _strip_product_qualifiers(tree: exp.Expression, replaced: Mapping[tuple[str, str], str]) -> None:
    """`sales.orders.amount` → `orders.amount` once `sales.orders` is a subquery aliased `orders`."""
    for column in tree.find_all(exp.Column):
        db = column.args.get("db")
        if db is not None and (db.name.lower(), column.table.lower()) in replaced:
            column.set("db", None)
            column.set("catalog", None)


class _PinnedCache:
    """A bounded dict whose entries are valid only while given objects are the very same ones:
    each entry keeps them alive (so their ids, used in keys, cannot be reused) and a hit checks
    them by identity. When full, the oldest entries are evicted (`BoundedCache`)."""

    def __init__(self, size: int, lock: threading.Lock) -> None:
        self.size = size
        self._entries: BoundedCache[tuple, tuple[Any, tuple]] = BoundedCache(size)
        self._lock = lock

    def get(self, key: tuple, pinned: tuple) -> Any:
        entry = self._entries.get(key) if self.size else None
        if entry is None or len(entry[1]) != len(pinned) or any(a is not b for a, b in zip(entry[1], pinned, strict=True)):
            return None
        return entry[0]

    def put(self, key: tuple, value: Any, pinned: tuple) -> None:
        if not self.size:
            return
        with self._lock:
            self._entries.put(key, (value, pinned))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _outcome_keys(decisions: Iterable[Decision]) -> tuple[tuple[int, int], ...] | None:
    """What makes the decisions what they are, as the engine names it (`Decision.outcome_key`:
    serials of the shared parts, never reused); None when one of them has no full key (built
    outside the engine's cache, or a row filter that is not shared): then nothing is cached."""
    keys = tuple(d.outcome_key for d in decisions)
    if None in keys:
        return None
    return keys  # type: ignore[return-value]


class RewriteCache:
    """Rewritten SQL for query texts seen before, like a prepared-statement cache.

    Dashboards send the same query texts again and again; for them the parse, the checks and
    sqlglot's SQL generation are done once. An entry is keyed by the query text, dialects,
    physical sources and each product's `Decision.outcome_key` (the engine's names for the
    shared parts of a decision, never reused for another outcome). A new decision (other
    consumer, purpose, window) is simply a new entry; a decision without an outcome key is
    rewritten afresh. Bounded: the oldest entry goes first. Rejected queries and denied columns
    raise before anything is stored.
    """

    def __init__(self, size: int = 1024) -> None:
        lock = threading.Lock()
        self._products = _PinnedCache(size, lock)  # query text → the products it reads
        self._texts = _PinnedCache(size, lock)  # query text + decisions → rewritten SQL
        self._subqueries = _PinnedCache(size, lock)  # one decision → its enforced SELECT's SQL

    def products(self, engine: Engine, sql: str, read: str) -> tuple[str, ...] | None:
        return self._products.get((id(engine.catalog), sql, read), (engine.catalog,))

    def remember_products(self, engine: Engine, sql: str, read: str, products: tuple[str, ...]) -> None:
        self._products.put((id(engine.catalog), sql, read), products, (engine.catalog,))

    @staticmethod
    def key(engine: Engine, sql: str, read: str, dialect: str, keyed: bool, source_keys: tuple[str, ...],
            decisions: Mapping[str, Decision]) -> tuple | None:
        outcomes = _outcome_keys(decisions.values())
        if outcomes is None:
            return None
        return (id(engine.catalog), sql, read, dialect, keyed, source_keys, tuple(decisions), outcomes)

    def get(self, key: tuple | None, decisions: Mapping[str, Decision]) -> tuple[str, tuple[str, ...], bool] | None:
        return None if key is None else self._texts.get(key, ())

    def put(self, key: tuple | None, text: tuple[str, tuple[str, ...], bool],
            decisions: Mapping[str, Decision]) -> None:
        if key is not None:
            self._texts.put(key, text, ())

    @staticmethod
    def subquery_key(decision: Decision, product: str, source_key: str, dialect: str, keyed: bool) -> tuple | None:
        outcomes = _outcome_keys((decision,))
        return None if outcomes is None else (product, outcomes[0], source_key, dialect, keyed)

    def get_subquery(self, key: tuple | None, decision: Decision) -> Any:
        return None if key is None else self._subqueries.get(key, ())

    def put_subquery(self, key: tuple | None, result: Any, decision: Decision) -> None:
        if key is not None:
            self._subqueries.put(key, result, ())

    def forget_queries(self) -> None:
        """Drop the per-query-text entries, keep the enforced subqueries (for benchmarks)."""
        self._products.clear()
        self._texts.clear()

    def clear(self) -> None:
        self.forget_queries()
        self._subqueries.clear()


# the process-wide rewrite cache (public so benchmarks and tests can clear it)
REWRITE_CACHE = RewriteCache()


class UnkeyedHash(GatewayError, RenderUnkeyedHash):
    """A decision masks with `hash` and no HMAC key is given: the renderer's rule (see
    `policyengine.enforce.sql.UnkeyedHash`), raised as a gateway refusal."""


class EngineError(GatewayError):
    """The engine failed running a rewritten query; the message names the error class and the
    position, never the engine's text (which may quote a value)."""


@dataclass(frozen=True)
class _Enforced:
    """One enforced subquery as SQL text: the parameter name behind each `?` marker (Trino) and
    how many markers the renderer placed (what the Postgres %-escaping must find)."""

    sql: str
    markers: tuple[str, ...]
    placed: int


def rewrite_query(
    sql: str,
    consumer: Any,
    engine: Engine,
    purpose: str | None = None,
    dialect: str = "duckdb",
    *,
    read: str | None = None,
    sources: SourceMap = None,
    hash_key: bytes | str | None = None,
    at: dt.datetime | None = None,
    types: TypeMap = None,
    allow_unkeyed_hash: bool = False,
    hash_key_env: str = "POLICYENGINE_HASH_KEY",
) -> Rewritten:
    """Rewrite `sql` (read as `read`, default `dialect`) for `consumer`: every product reference
    becomes its enforced subquery; the result is SQL in `dialect` with parameters to bind.

    `sources` maps a product to its physical table (name parts, dotted name or sqlglot node) in
    the target engine; by default `domain.product`. `types` gives, per product, the physical
    tables' column types where they say more than the contract (`{"sales.orders": {"created_at":
    "timestamptz"}}`): a timestamp with a time zone must be rendered as `timestamptz`, or its
    text, `year` and date comparisons follow the engine's session time zone (see
    `column_types`). A `hash` mask without an HMAC key is refused (UnkeyedHash) unless
    `allow_unkeyed_hash`; its message names `hash_key_env`, the variable the project reads the key
    from (policyengine.yaml's `hash_key_env`). Raises GatewayError subclasses on refusal.
    """
    check_dialect(dialect)
    read = read or dialect
    check_dialect(read)
    known, analysed = _products_read(sql, read, engine)
    decisions = _decide(known, consumer, engine, purpose, at)
    key = resolve_key(hash_key)
    keyed = _check_hash_key(decisions, key, allow_unkeyed_hash, hash_key_env)
    # the physical source of each product, asked for on every call (a resolver may change)
    physical = {product: _source_for(product, sources) for product in known}
    column_types = {product: _column_types(engine.catalog.products[product], product, types) for product in known}
    source_keys = tuple(_source_key(physical[p]) + _types_key(column_types[p]) for p in known)
    params = hash_parameters(key, dialect) if keyed else {}
    cache_key = REWRITE_CACHE.key(engine, sql, read, dialect, keyed, source_keys, decisions)
    hit = REWRITE_CACHE.get(cache_key, decisions)
    if hit is None:
        tree, table_products = analysed if analysed is not None else _analyse(sql, read, engine.catalog.products)
        hit = _rewrite_tree(tree, table_products, decisions, column_types, physical, dialect, read, keyed, params,
                            allow_unkeyed_hash)
        REWRITE_CACHE.put(cache_key, hit, decisions)
    text, marker_names, uses_key = hit
    if not uses_key:  # no hashed column is selected (see `_columns_used`): nothing to bind
        params = {}
    return Rewritten(text, params, decisions, dialect, tuple(params[n] for n in marker_names))


def _products_read(sql: str, read: str, engine: Engine) -> tuple[tuple[str, ...], tuple[exp.Expression, dict[int, str]] | None]:
    """The products `sql` reads (remembered per query text), and the analysed tree when this call
    had to parse it (so a new text is parsed once)."""
    known = REWRITE_CACHE.products(engine, sql, read)
    if known is not None:
        return known, None
    tree, table_products = _analyse(sql, read, engine.catalog.products)
    known = tuple(dict.fromkeys(table_products.values()))
    REWRITE_CACHE.remember_products(engine, sql, read, known)
    return known, (tree, table_products)


def _decide(known: Sequence[str], consumer: Any, engine: Engine, purpose: str | None,
            at: dt.datetime | None) -> dict[str, Decision]:
    """The consumer's decision on each product read; an error decision refuses the query."""
    decisions: dict[str, Decision] = {}
    for product in known:
        decision = engine.evaluate(consumer, product, None, purpose, at)
        if decision.error:
            raise GatewayError(f"no access to {product}: {decision.error}")
        decisions[product] = decision
    return decisions


def _check_hash_key(decisions: Mapping[str, Decision], key: bytes | None, allow_unkeyed: bool,
                    key_env: str = "POLICYENGINE_HASH_KEY") -> bool:
    """Whether the rewrite binds an HMAC key: the renderer's unkeyed-hash rule (`keyed_hash`),
    over every product read, before anything is looked up or rewritten; the message names
    `key_env`, the variable the project reads the key from."""
    hashed = [f"{p}.{c}" for p, d in decisions.items() for c in hashed_columns(d)]
    try:
        return keyed_hash(hashed, key, allow_unkeyed, key_env)
    except RenderError as exc:
        raise UnkeyedHash(str(exc)) from None


def _rewrite_tree(tree: exp.Expression, table_products: dict[int, str], decisions: Mapping[str, Decision],
                  column_types: Mapping[str, Mapping[str, str]], physical: Mapping[str, Any], dialect: str, read: str,
                  keyed: bool, params: Mapping[str, Any],
                  allow_unkeyed_hash: bool = False) -> tuple[str, tuple[str, ...], bool]:
    """The final SQL text of an analysed query, the parameter name behind each `?` marker, and
    whether it holds the key's markers at all (its parameters are bound only then)."""
    _check_columns(tree, table_products, decisions)
    tables = [t for t in tree.find_all(exp.Table) if id(t) in table_products]
    replaced = {(t.db.lower(), t.name.lower()): (t.alias or t.name) for t in tables}
    _strip_product_qualifiers(tree, replaced)
    enforced = _place_subqueries(tree, tables, table_products, decisions, column_types, physical, dialect, keyed,
                                 allow_unkeyed_hash)
    text = _generate(tree, dialect)
    if read != dialect:
        _check_output(text, dialect, [f"{_PLACEHOLDER}{i}" for i in range(len(enforced))])
    uses_key = any(sub.placed for _, sub in enforced)
    return (*_splice(text, enforced, dialect, params if uses_key else {}), uses_key)


def _place_subqueries(tree: exp.Expression, tables: list[exp.Table], table_products: dict[int, str],
                      decisions: Mapping[str, Decision], column_types: Mapping[str, Mapping[str, str]],
                      physical: Mapping[str, Any], dialect: str, keyed: bool,
                      allow_unkeyed_hash: bool = False) -> list[tuple[str, _Enforced]]:
    """Each product reference becomes a placeholder table; the enforced subquery's SQL (generated
    once per decision and kept while that decision is) goes in its place in the final text."""
    enforced: list[tuple[str, _Enforced]] = []
    spelled = _spelled_names(tree)
    for table in tables:
        product = table_products[id(table)]
        keep = _columns_used(decisions[product], table, spelled)
        sub = _enforced_sql(decisions[product], product, column_types[product], physical[product], dialect, keyed,
                            allow_unkeyed_hash, keep)
        placeholder = exp.to_identifier(f"{_PLACEHOLDER}{len(enforced)}", quoted=True)
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name, quoted=True))
        table.replace(exp.Table(this=placeholder, alias=alias.copy()))
        enforced.append((placeholder.sql(dialect=dialect), sub))
    return enforced


class _Spelled:
    """The names a query spells (identifiers, folded two ways) and the names it uses as columns."""

    __slots__ = ("names", "columns")

    def __init__(self, names: frozenset[str], columns: frozenset[str]) -> None:
        self.names, self.columns = names, columns


def _folds(name: str) -> tuple[str, str]:
    return name.lower(), name.casefold()


# nodes that read columns without naming them (COLUMNS(...) and `#n` are newer sqlglot nodes)
_UNNAMED_READS: tuple[type, ...] = tuple(getattr(exp, name) for name in ("Columns", "PositionalColumn", "Pivot")
                                         if hasattr(exp, name))


def _spelled_names(tree: exp.Expression) -> _Spelled | None:
    """Every name the user's query spells, or None when it can read a column without spelling
    its name: a star (other than count's), DuckDB's COLUMNS(...) and positional `#n`, a NATURAL
    join, PIVOT/UNPIVOT (which group by the columns they do not name). See `_columns_used`."""
    names: set[str] = set()
    columns: set[str] = set()
    for node in tree.walk():
        if isinstance(node, exp.Star):
            if not isinstance(node.parent, exp.Count):
                return None
        elif isinstance(node, _UNNAMED_READS) or (
                isinstance(node, exp.Join) and str(node.args.get("method") or "").upper() == "NATURAL"):
            return None
        elif isinstance(node, exp.Identifier):
            names.update(_folds(node.name))
        elif isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
            columns.update(_folds(node.name))
    return _Spelled(frozenset(names), frozenset(columns))


def _columns_used(decision: Decision, table: exp.Table, spelled: _Spelled | None) -> frozenset[str] | None:
    """The readable columns of `decision` the query can reach through `table`, or None for all.

    An enforced subquery needs only the columns the query names: DuckDB binds and plans every
    masked expression of a subquery, used or not (about 40% of a small query's time), and a
    narrower subquery can only expose less. Kept: every readable column whose name the query
    spells anywhere (in any scope, any case, as a column, alias or USING name): so every name
    the engine resolves resolves as it would against the whole subquery. All columns when the
    query reads columns it does not name (`_spelled_names` is None) or uses the reference itself
    as a value (`SELECT orders FROM sales.orders`: a row of all its columns)."""
    if spelled is None:
        return None
    alias = table.alias or table.name
    if not spelled.columns.isdisjoint(_folds(alias) + _folds(table.name)):
        return None
    readable = decision.readable_columns
    keep = [c for c in readable if not spelled.names.isdisjoint(_folds(c))]
    if len(keep) == len(readable):
        return None
    return frozenset(keep or readable[:1])  # a subquery selects at least one column (count(*))


def _generate(tree: exp.Expression, dialect: str) -> str:
    """The user's (checked, rewritten) query as SQL in `dialect`; nothing the dialect lacks is
    silently dropped. The tree is ours alone: no defensive copy."""
    if dialect == "postgres":
        postgres_safe_strings(tree)
    try:
        return tree.sql(dialect=dialect, copy=False, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise RejectedStatement(f"the query cannot be written in {dialect}: {exc}") from None


def _splice(text: str, enforced: list[tuple[str, _Enforced]], dialect: str,
            params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Put each enforced subquery in place of its placeholder. Postgres + key: the user's `%`
    must not reach psycopg's %-substitution, and only the markers the renderer placed become
    markers (escape_pyformat); a user text holding a marker is refused there."""
    try:
        user_text = escape_pyformat(text, dialect, params)
        subs = [(placeholder, escape_pyformat(sub.sql, dialect, params, placed=sub.placed), sub.markers)
                for placeholder, sub in enforced]
    except RenderError as exc:
        raise RejectedStatement(str(exc)) from None
    for placeholder, _, _ in subs:
        if user_text.count(placeholder) != 1:  # never guess: the placeholder must stand exactly once
            raise GatewayError("internal error: cannot place an enforced subquery (nothing was run)")
    # the parameter name behind each `?` marker (Trino), in the order the subqueries stand in the text
    order = sorted(subs, key=lambda item: user_text.index(item[0]))
    marker_names = tuple(name for _, _, names in order for name in names)
    out = user_text
    for placeholder, sub_sql, _ in subs:
        at = out.index(placeholder)
        out = out[:at] + "(" + sub_sql + ")" + out[at + len(placeholder):]
    return out, marker_names


def _source_key(source: Any) -> str:
    """A text that tells physical sources apart (for the cache keys): a dotted name and a
    one-part name holding a dot are different tables."""
    if isinstance(source, exp.Expression):  # generated once per node (a gateway hands out the same)
        key = source.meta.get(_SOURCE_KEY_META)
        if key is None:
            key = source.meta[_SOURCE_KEY_META] = "expr:" + source.sql()
        return str(key)
    if isinstance(source, str):
        return "dotted:" + source
    return "parts:" + "\x1f".join(str(part) for part in source)


_SOURCE_KEY_META = "pe_source_key"  # where `_source_key` keeps the text of a source node

# The gateway's own names: a user query may not contain `_RESERVED` in any name, and the random
# part (per process) is never in a user's reach, so no user relation can capture a filter column.
_RESERVED = "__pe_"
_PARAMETER_SIGILS = frozenset("$@:?%")
_PLACEHOLDER = f"{_RESERVED}enforced_{secrets.token_hex(8)}_"
_CTE_PREFIX = f"{_RESERVED}cte_{secrets.token_hex(8)}_"
_SOURCE_ALIAS = f"{_RESERVED}src_{secrets.token_hex(8)}"


# physical types that are timestamps with a time zone (instants), in the dialects' spellings
_ZONED_PHYSICAL = frozenset({"timestamptz", "timestamp with time zone", "timestamp_tz", "timestamp_ltz",
                             "timestamp with local time zone"})


def _column_types(meta: Product, product: str, types: TypeMap) -> dict[str, str]:
    """The type each column is rendered as: the contract's logical type, `timestamptz` where its
    physicalType names a zone, overridden by `types[product]` (the physical table's real types)."""
    result = {c.name: "timestamptz" if c.logical_type == "timestamp"
              and c.physical_type.strip().lower() in _ZONED_PHYSICAL else c.logical_type for c in meta.columns}
    given = (types(product) if callable(types) else types.get(product)) if types is not None else None
    result.update(given or {})
    return result


def _types_key(types: Mapping[str, str]) -> str:
    return "\x1e" + "\x1f".join(f"{k}={v}" for k, v in sorted(types.items()))


def _enforced_sql(decision: Decision, product: str, types: Mapping[str, str], source: Any, dialect: str,
                  keyed: bool, allow_unkeyed_hash: bool = False, keep: frozenset[str] | None = None) -> _Enforced:
    """The enforced SELECT of `decision` over `source` as SQL text in `dialect` (under a generated
    source alias, with the dialect's evaluation fence), with only the readable columns in `keep`
    (None: all; see `_columns_used`); cached per decision and `keep` (see RewriteCache)."""
    key = REWRITE_CACHE.subquery_key(decision, product, _source_key(source) + _types_key(types), dialect, keyed)
    if key is not None and keep is not None:
        key = (*key, tuple(sorted(keep)))
    hit = REWRITE_CACHE.get_subquery(key, decision)
    if hit is not None:
        return hit
    narrowed = decision if keep is None else dataclasses.replace(
        decision, columns={n: cd for n, cd in decision.columns.items() if n in keep})
    try:
        select = enforced_select(narrowed, source, dialect, types=types, keyed=keyed, alias=_SOURCE_ALIAS,
                                 fence=True, allow_unkeyed_hash=allow_unkeyed_hash)
        names = positional_parameters(select, {n: n for n in hash_parameters(b"k", dialect)}) if keyed else ()
    except RenderError as exc:
        raise GatewayError(str(exc)) from None
    result = _Enforced(select.sql(dialect=dialect, copy=False), names, placed_markers(select) if keyed else 0)
    REWRITE_CACHE.put_subquery(key, result, decision)
    return result


def rewrite(
    sql: str,
    consumer: Any,
    engine: Engine,
    purpose: str | None = None,
    dialect: str = "duckdb",
    **options: Any,
) -> str:
    """The rewritten SQL text (see `rewrite_query` for parameters and the decisions)."""
    return rewrite_query(sql, consumer, engine, purpose, dialect, **options).sql


# ---------------------------------------------------------------- the DuckDB runner


def _read_sample(product: Product) -> exp.Expression:
    sample = product.samples[0]
    reader = {"parquet": "read_parquet", "csv": "read_csv"}.get(sample.format.lower())
    if reader is None:
        raise GatewayError(f"sample format {sample.format!r} of {product.name} is not supported (parquet, csv)")
    return exp.select(exp.Star()).from_(exp.Table(this=exp.Anonymous(
        this=reader, expressions=[exp.Literal.string(str(sample.path))])))


class Gateway:
    """Run queries for consumers on an embedded DuckDB holding each product's sample data.

    Samples are copied into tables of a private schema when the gateway starts; after that the
    connection has external access disabled and its configuration locked, so even a query that
    slipped past the rewrite could read no file and change no setting.
    """

    def __init__(self, engine: Engine, *, hash_key: bytes | str | None = None,
                 allow_unkeyed_hash: bool = False, hash_key_env: str = "POLICYENGINE_HASH_KEY") -> None:
        import duckdb

        from policyengine.enforce.arrow import lock_down

        self.engine = engine
        self.hash_key = resolve_key(hash_key)
        self.allow_unkeyed_hash = allow_unkeyed_hash
        self.hash_key_env = hash_key_env  # named when a `hash` mask has no key
        self._lock = threading.Lock()
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
        self.loaded: list[str] = []
        self.types: dict[str, dict[str, str]] = {}
        self.unreadable: dict[str, str] = {}  # product → why its sample could not be loaded
        self._sources: dict[str, exp.Expression] = {}  # product → its table node (see `source`)
        for name, product in sorted(engine.catalog.products.items()):
            if not product.samples:
                continue
            target = exp.Table(this=exp.to_identifier(name, quoted=True), db=exp.to_identifier(RAW_SCHEMA))
            create = exp.Create(this=target, kind="TABLE", expression=_read_sample(product))
            try:  # one bad sample fails only its product; DuckDB's text can quote rows, so it is not shown
                self.con.execute(create.sql(dialect="duckdb"))
            except duckdb.Error as exc:
                sample = product.samples[0]
                self.unreadable[name] = (f"{sample.span or product.source}: error: the sample of {name} "
                                         f"({sample.path.name}) cannot be read ({type(exc).__name__})")
                continue
            described = self.con.execute(f"DESCRIBE {target.sql(dialect='duckdb')}").fetchall()
            present = {str(column).lower() for column, *_ in described}
            absent = [c.name for c in product.columns if c.name.lower() not in present]
            if absent:  # the enforced view selects every contract column: name the ones it cannot bind
                sample = product.samples[0]
                where = next((c.span for c in product.columns if c.name == absent[0] and c.span), None)
                self.unreadable[name] = (f"{where or sample.span or product.source}: error: the sample of {name} "
                                         f"({sample.path.name}) has no column {', '.join(map(repr, absent))} of "
                                         "its contract (`policyengine check` compares contracts with samples)")
                continue
            self.loaded.append(name)
            # timestamps with a time zone are instants: rendered as such whatever the contract says
            self.types[name] = {column: "timestamptz" for column, kind, *_ in described
                                if kind == "TIMESTAMP WITH TIME ZONE"}
        lock_down(self.con)

    def source(self, product: str) -> exp.Expression:
        """The table holding `product`'s sample: the same node on every call (the rewrite copies
        it, never changes it), so its cache key is generated once."""
        found = self._sources.get(product)
        if found is not None:
            return found
        if product in self.unreadable:
            raise UnknownSource(self.unreadable[product])
        if product not in self.loaded:
            raise UnknownSource(f"product {product} has no sample data in this gateway")
        found = exp.Table(this=exp.to_identifier(product, quoted=True), db=exp.to_identifier(RAW_SCHEMA))
        self._sources[product] = found
        return found

    def rewrite(self, sql: str, consumer: Any, purpose: str | None = None, at: dt.datetime | None = None) -> Rewritten:
        return rewrite_query(sql, consumer, self.engine, purpose, "duckdb", sources=self.source,
                             hash_key=self.hash_key, at=at, types=self.types,
                             allow_unkeyed_hash=self.allow_unkeyed_hash, hash_key_env=self.hash_key_env)

    def cursor(self) -> Any:
        """A new cursor on the gateway's DuckDB (its own connection state over the same data): a
        server keeps one per worker thread and passes it to `query`, and can interrupt it."""
        with self._lock:
            return self.con.cursor()

    def query(self, sql: str, consumer: Any, purpose: str | None = None, at: dt.datetime | None = None,
              *, cursor: Any = None) -> pa.Table:
        """Rewrite and run `sql` for `consumer`; the result as an Arrow table. An engine failure is
        an EngineError naming the error class and position only (see `engine_error`). `cursor`:
        one from `cursor()` to run on (kept open); by default a new one for this call."""
        import duckdb

        rewritten = self.rewrite(sql, consumer, purpose, at)
        own = cursor is None
        if own:
            cursor = self.cursor()
        try:
            return run_arrow(cursor, rewritten.sql, dict(rewritten.params) or None)
        except duckdb.Error as exc:
            raise engine_error(exc, rewritten.sql) from None
        finally:
            if own:
                cursor.close()

    def query_bound(self, sql: str, consumer: Any, values: Sequence[Any], purpose: str | None = None,
                    at: dt.datetime | None = None, *, cursor: Any = None) -> tuple[pa.Table, Rewritten]:
        """`query` for a text with parameters `$1`, `$2`, … and their `values`, bound by DuckDB
        and never spliced into the text (`policyengine.enforce.bound`): the rewrite sees each
        parameter as a plain value. Also returns the rewrite (its decisions, for a log).
        GatewayError when the values do not fit the parameters. `cursor`: a DuckDB cursor of
        this gateway's connection to run on (kept open), else a new one for this call."""
        import duckdb

        from policyengine.enforce.bound import ParameterError, bind, placehold

        held = placehold(sql)
        rewritten = self.rewrite(held.text, consumer, purpose, at)
        try:
            text, user = bind(rewritten.sql, held, values)
        except ParameterError as exc:
            raise RejectedStatement(str(exc)) from None
        own = cursor is None
        if own:
            with self._lock:
                cursor = self.con.cursor()
        try:
            table = run_arrow(cursor, text, {**rewritten.params, **user} or None)
        except duckdb.Error as exc:
            raise engine_error(exc, text) from None
        finally:
            if own:
                cursor.close()
        return table, rewritten


def run_arrow(cursor: Any, sql: str, params: Mapping[str, Any] | None) -> pa.Table:
    """Run one SELECT on a DuckDB cursor and return its rows as Arrow, parsing and binding it once.

    DuckDB 2's relation API (`cursor.sql(...).to_arrow_table()`) parses and binds a statement
    three times before running it (script split, a lazy relation's schema, the run): about 1 ms
    for an enforced query, more than running it. Its seam submits the statement once, straight to
    Arrow; where there is none (DuckDB 1.x), `execute` does the same."""
    submit = getattr(_duckdb_seam(), "submit", None)
    if submit is not None:
        return submit(cursor, sql, dict(params) if params else None, "arrow").arrow_table()
    result = cursor.execute(sql, dict(params) if params else None)
    return result.fetch_arrow_table() if hasattr(result, "fetch_arrow_table") else result.arrow()


def _duckdb_seam() -> Any:
    try:
        from duckdb import _seam
    except ImportError:
        return None
    return _seam

def engine_error(exc: BaseException, sql: str) -> EngineError:
    """The engine's failure without its text: DuckDB messages quote values (`Could not convert
    string 'alice@x.com'`), so only the error class and, where the message points at one, the
    position in the rewritten query (as `--show-sql` prints it) are kept. Logged the same way."""
    kind = type(exc).__name__
    position = _error_position(str(exc), sql)
    where = f" at character {position} of the rewritten query" if position is not None else ""
    log.info("engine error %s%s", kind, where)
    return EngineError(f"the query failed in the engine: {kind}{where} (the engine message is not shown: "
                       "it may quote a value)")


def _error_position(message: str, sql: str) -> int | None:
    """The 1-based character of `sql` that DuckDB's `LINE n: …` excerpt and caret point at."""
    lines = message.splitlines()
    for i, line in enumerate(lines[:-1]):
        head, sep, excerpt = line.partition(": ")
        if not (sep and head.startswith("LINE ") and "^" in lines[i + 1]):
            continue
        caret = lines[i + 1].index("^") - len(head) - len(sep)
        lead = 3 if excerpt.startswith("...") else 0
        body = excerpt[lead:].removesuffix("...")
        start = sql.find(body)
        if start < 0 or sql.find(body, start + 1) >= 0:
            return None  # not found once: no position rather than a wrong one
        return start + caret - lead + 1
    return None
