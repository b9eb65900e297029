"""The engine: load (parse, check, compile) once, then `evaluate()` per query in microseconds.

Semantics (docs/evaluation.md states them exactly):
deny wins; no applicable allow → deny; otherwise the strictest applicable mask; otherwise allow.
Row filters of applicable filter rules are ANDed, consumer attributes substituted; a filter that
reads a missing attribute makes the consumer see no rows. Any internal error → all-deny decision.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policyengine.catalog.consumers import AttributeSchema, Consumer, load_directory
from policyengine.catalog.contracts import Catalog, load_catalog
from policyengine.catalog.scan_tags import scan_tags
from policyengine.catalog.taxonomy import Taxonomy, load_taxonomy
from policyengine.diagnostics import Diagnostic, PolicyError, located_diagnostic
from policyengine.engine.bundle import bundle_version
from policyengine.engine.compiler import (
    CompiledPolicy,
    CompiledRule,
    ProductRules,
    attributes_read,
    compile_policies,
)
from policyengine.engine.decision import NO_ARGS, ColumnDecision, Decision, RuleRef
from policyengine.language import ast
from policyengine.language.checker import CheckResult
from policyengine.language.files import ProjectCheck, check_paths
from policyengine.language.masks import strictest
from policyengine.language.parser import policy_files
from policyengine.language.values import MISSING, Undefined, substitute, utc_instant
from policyengine.yamlsource import YamlError

log = logging.getLogger("policyengine")

_FALSE = ast.Literal(False)


def _utc(at: dt.datetime | dt.date | None) -> dt.datetime:
    """The request's instant in UTC (now when not given): a decision carries it as given,
    normalised to UTC, so a cache hit never reports another request's UTC offset."""
    return dt.datetime.now(dt.UTC) if at is None else utc_instant(at)


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_hashable(v) for v in value)
    if isinstance(value, dict):
        raise TypeError("unhashable attribute")
    return (type(value).__name__, value)


class Engine:
    """A compiled policy set over a catalog. Thread-safe; evaluate() never raises."""

    def __init__(
        self,
        catalog: Catalog,
        check: CheckResult,
        *,
        policy_version: str = "",
        cache_size: int = 65536,
        schema: AttributeSchema | None = None,
        consumers: Mapping[str, Consumer] | None = None,
        bundle_version: str = "",
    ) -> None:
        self.catalog = catalog
        self.check_result = check
        self.policy_version = policy_version
        self.bundle_version = bundle_version or policy_version
        self.schema = schema
        self.consumers: Mapping[str, Consumer] = consumers or MappingProxyType({})
        product_columns = {name: p.column_names for name, p in catalog.products.items()}
        self.compiled: CompiledPolicy = compile_policies(check, product_columns)
        self.cache_size = max(0, cache_size)
        # The decision cache holds compact entries: request key -> columns serial << 32 | filter
        # serial, one int the collector never tracks, or (columns serial, filter serial, window
        # start, window end) for a product whose rules start or end at some instant: atoms only,
        # which the collector stops tracking (a cache of Decision objects held ~40 tracked objects
        # per entry, and full collections stalled evaluations for hundreds of ms). The parts those
        # serials name are immutable and shared by every decision with the same outcome: see
        # _Interned and _Parts.
        self._cache: dict[tuple, int | tuple[int, int, dt.datetime | None, dt.datetime | None]] = {}
        self.shared_size = max(16384, self.cache_size // 4)
        self._columns = _Interned(self.shared_size)  # (product, columns, applicable rules) -> mapping
        self._filters = _Interned(self.shared_size)  # (product, applicable filters, values read) -> filter
        self._parts = _Parts(4 * self.shared_size)  # a cell per column and outcome: more of them
        self._colsets: dict[tuple[str, ...], int] = {}  # requested column tuples -> serial (see _cols_id)
        self._next_cols = 1
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0
        self._types: dict[str, Mapping[str, str]] = {}

    # ---------------------------------------------------------------- public API

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        return self.compiled.rules

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._columns.clear()
            self._filters.clear()
            self._parts.clear()
            self._colsets.clear()

    def evaluate(
        self,
        consumer: Any,
        product: str,
        columns: Sequence[str] | None = None,
        purpose: str | None = None,
        at: dt.datetime | dt.date | None = None,
        *,
        use_cache: bool = True,
    ) -> Decision:
        """Decide, per column, allow / mask / deny, and the row filter, for one consumer and product."""
        try:
            when = _utc(at)
            if purpose is not None:  # purposes compare case-insensitively, outer spaces ignored
                purpose = (purpose if isinstance(purpose, str) else str(purpose)).strip().casefold() or None
            if isinstance(consumer, str) and consumer in self.consumers:
                consumer = self.consumers[consumer]
            c = consumer if isinstance(consumer, Consumer) else Consumer.coerce(consumer)
            rules = self.compiled.products.get(product)
            cols = None if columns is None else (columns,) if isinstance(columns, str) else tuple(columns)
            if rules is None or not use_cache or self.cache_size == 0:
                return self._decide(c, product, rules, cols, purpose, when)
            groups = tuple(sorted(c.groups))
            cols_id = self._cols_id(cols)
            key = self._key(c, product, rules, cols_id, purpose, groups)
            try:
                hit = None if key is None else self._cache.get(key)
            except TypeError:  # an unhashable attribute value (a bytearray): this request skips the cache
                key = hit = None
            if hit is not None:
                if hit.__class__ is int:  # no rule of the product starts or ends: valid at any instant
                    col_serial, filter_serial = hit >> 32, hit & _LOW
                    valid = True
                else:
                    col_serial, filter_serial, lo, hi = hit
                    valid = (lo is None or when >= lo) and (hi is None or when < hi)
                if valid:
                    decided = self._columns.by_serial.get(col_serial)
                    found = self._filters.by_serial.get(filter_serial) if filter_serial else _NO_FILTER
                    if decided is not None and found is not None:  # else a part was evicted: a miss
                        self.cache_hits += 1
                        return self._decision(product, c.id, decided, found, purpose, when)
            self.cache_misses += 1
            col_serial, decided, filter_serial, found = self._parts_of(c, product, rules, cols, purpose, when,
                                                                       groups, cols_id)
            if key is not None and filter_serial is not None:
                bounds = rules.boundaries
                entry: int | tuple = (col_serial << 32 | filter_serial if not bounds and filter_serial <= _LOW
                                      else (col_serial, filter_serial, *_window(bounds, when)))
                cache = self._cache
                if len(cache) < self.cache_size:
                    cache[key] = entry  # one dict store is atomic; evictions (which iterate) hold the lock
                else:
                    with self._lock:
                        _bounded_put(cache, key, entry, self.cache_size)
            return self._decision(product, c.id, decided, found, purpose, when)
        except Exception as exc:  # fail closed: never allow on an internal error
            log.exception("policyengine: evaluation failed; denying everything")
            if columns is None:  # name every column of a known product, so a caller sees each denied
                known = self.catalog.products.get(product) if isinstance(product, str) else None
                columns = known.column_names if known is not None else None
            return _all_deny(consumer, product, columns, purpose, at, self.policy_version,
                             f"internal error: {exc.__class__.__name__}: {exc}", self.bundle_version)

    # ---------------------------------------------------------------- internals

    def _column_types(self, product: str) -> Mapping[str, str]:
        """The product's column logical types (for type-checking substituted row filters)."""
        types = self._types.get(product)
        if types is None:
            known = self.catalog.products.get(product)
            types = {col.name: col.logical_type for col in known.columns} if known is not None else {}
            self._types[product] = types
        return types

    def _cols_id(self, cols: tuple[str, ...] | None) -> int:
        """A serial for a requested column tuple (0: all columns), never reused: keys hold it
        instead of the columns, so a miss hashes the column list once, not at every table."""
        if cols is None:
            return 0
        found = self._colsets.get(cols)
        if found is None:
            with self._lock:
                found = self._colsets.get(cols)
                if found is None:
                    found = self._next_cols
                    self._next_cols += 1
                    _bounded_put(self._colsets, cols, found, self.shared_size)
        return found

    @staticmethod
    def _key(c: Consumer, product: str, rules: ProductRules, cols_id: int,
             purpose: str | None, groups: tuple[str, ...]) -> tuple | None:
        """The cache key: one flat tuple of atoms (the collector stops tracking it at its first
        collection; a nested tuple takes a collection per level, and a frozenset never leaves).
        Unambiguous: the groups are preceded by their count, then the columns' serial
        (`_cols_id`); then per attribute the rules read: None when absent, one hashable tuple or
        frozenset for a collection, else its type name (a str) and its value. Not hashed here: an
        unhashable value raises TypeError at the look-up."""
        get = c.attributes.get
        reads = rules.reads
        try:
            if not reads:
                return (c.id, product, purpose, len(groups), *groups, cols_id)
            if len(reads) == 1:  # the common case, without the list
                value = get(reads[0], _ABSENT)
                if value is _ABSENT:
                    return (c.id, product, purpose, len(groups), *groups, cols_id, None)
                if isinstance(value, _COLLECTIONS):
                    return (c.id, product, purpose, len(groups), *groups, cols_id, _hashable(value))
                return (c.id, product, purpose, len(groups), *groups, cols_id, type(value).__name__, value)
            read: list[Any] = []
            for a in reads:
                value = get(a, _ABSENT)
                if value is _ABSENT:
                    read.append(None)
                elif isinstance(value, _COLLECTIONS):
                    read.append(_hashable(value))
                else:
                    read += (type(value).__name__, value)
            return (c.id, product, purpose, len(groups), *groups, cols_id, *read)
        except TypeError:  # a dict value
            return None

    def _decide(self, c: Consumer, product: str, rules: ProductRules | None,
                cols: tuple[str, ...] | None, purpose: str | None, when: dt.datetime) -> Decision:
        if rules is None:
            requested = cols or ()
            reason = f"unknown product '{product}'"
            decided = {name: ColumnDecision(name, "deny", reason=reason) for name in requested}
            return Decision(product, c.id, MappingProxyType(decided), _FALSE, purpose, when, self.policy_version,
                            reason=reason + ": everything is denied", bundle_version=self.bundle_version)
        _, decided, _, found = self._parts_of(c, product, rules, cols, purpose, when, None, self._cols_id(cols))
        return self._decision(product, c.id, decided, found, purpose, when)

    def _decision(self, product: str, consumer: str, columns: Mapping[str, ColumnDecision], found: _Filter,
                  purpose: str | None, when: dt.datetime) -> Decision:
        """A Decision from its shared parts (what a cache hit returns: a new object, stamped with
        this request's instant, everything else shared)."""
        d = object.__new__(Decision)
        d.__dict__.update(product=product, consumer=consumer, columns=columns, row_filter=found[0],
                          purpose=purpose, at=when, policy_version=self.policy_version, filter_rules=found[1],
                          error=None, reason=found[2], bundle_version=self.bundle_version)
        return d

    def _parts_of(self, c: Consumer, product: str, rules: ProductRules, cols: tuple[str, ...] | None,
                  purpose: str | None, when: dt.datetime, sorted_groups: tuple[str, ...] | None,
                  cols_id: int) -> tuple[int, Mapping[str, ColumnDecision], int | None, _Filter]:
        """Semantics lines 2-4 as shared parts: (serial, per-column decisions, serial, row filter);
        the filter's serial is 0 when no filter applies, None when it cannot be shared (then the
        decision is not cached)."""
        attrs = dict(c.attributes)
        # `consumer.id` and `consumer.groups` are the consumer's own, whatever its attributes say.
        attrs["id"] = c.id
        attrs["groups"] = sorted_groups if sorted_groups is not None else tuple(sorted(c.groups))
        user, groups = c.id, c.groups
        # Rules are in (file, line) order, so the applicable ones are too.
        applicable = tuple(r for r in rules.rules if r.applies(user, groups, attrs, purpose, when))
        key = (product, cols_id, applicable)
        shared = self._columns.by_key.get(key)
        if shared is None:
            with self._lock:
                shared = self._columns.add(key, lambda: _column_decisions(product, rules, cols, cols_id, applicable,
                                                                           self._parts))
        col_serial, decided = shared
        if not rules.filters:
            return col_serial, decided, 0, _NO_FILTER
        filters = tuple(r for r in rules.filters if r.row_filter is not None
                        and r.applies(user, groups, attrs, purpose, when))
        if not filters:
            return col_serial, decided, 0, _NO_FILTER
        try:
            fkey = (product, filters, tuple(_hashable(attrs.get(n, MISSING)) for r in filters for n in r.reads))
            hash(fkey)
        except TypeError:  # an unhashable attribute value: worked out for this request alone
            return col_serial, decided, None, _row_filter(filters, c, attrs, purpose, when, product,
                                                          self._column_types(product))
        found = self._filters.by_key.get(fkey)
        if found is None:
            with self._lock:
                found = self._filters.add(fkey, lambda: _row_filter(filters, c, attrs, purpose, when, product,
                                                                    self._column_types(product)))
        return col_serial, decided, found[0], found[1]


# A decision's row filter part: (expression or None, the filter rules cited, why it is false).
_Filter = tuple[ast.Expr | None, tuple[RuleRef, ...], str]
_ABSENT = object()  # an attribute the consumer lacks (a key holds None for it)
_COLLECTIONS = (list, tuple, set, frozenset, dict)
_LOW = (1 << 32) - 1  # a cache entry as one int: columns serial << 32 | filter serial
_NO_FILTER: _Filter = (None, (), "")


class _Interned:
    """A bounded table of immutable decision parts, found by what determines them (`by_key`) and by
    a serial number (`by_serial`, what compact cache entries hold). FIFO: when full, the oldest
    1/64 go; a cache entry naming an evicted serial is then a miss. Callers hold the engine lock
    to add; reads need none."""

    __slots__ = ("by_key", "by_serial", "size", "_next")

    def __init__(self, size: int) -> None:
        self.by_key: dict[Any, tuple[int, Any]] = {}
        self.by_serial: dict[int, Any] = {}
        self.size = size
        self._next = 1  # 0 means "no part" (no row filter)

    def add(self, key: Any, build: Callable[[], Any]) -> tuple[int, Any]:
        found = self.by_key.get(key)  # another thread may have added it meanwhile
        if found is not None:
            return found
        if len(self.by_key) >= self.size:
            for old in list(itertools.islice(self.by_key, max(1, self.size // 64))):
                self.by_serial.pop(self.by_key.pop(old)[0], None)
        value = build()
        found = self.by_key[key] = (self._next, value)
        self.by_serial[self._next] = value
        self._next += 1
        return found

    def clear(self) -> None:
        self.by_key.clear()
        self.by_serial.clear()


class _Parts:
    """Immutable pieces decisions share, each table bounded (FIFO): a column class's outcome by the
    rules that apply to it, a class's ColumnDecisions by outcome (one object per column however
    many decisions hold it; classes with the same columns share them across products), and how a
    requested column list maps onto a product's classes."""

    __slots__ = ("outcomes", "cells", "layouts", "size")

    def __init__(self, size: int) -> None:
        self.outcomes: dict[tuple[CompiledRule, ...], _Outcome] = {}
        self.cells: dict[tuple[int, int], tuple[dict[str, ColumnDecision], _Outcome, tuple[str, ...]]] = {}
        self.layouts: dict[tuple[str, int], _Layout] = {}
        self.size = size

    def outcome(self, signature: tuple[CompiledRule, ...]) -> _Outcome:
        found = self.outcomes.get(signature)
        if found is None:
            found = _outcome(signature)
            _bounded_put(self.outcomes, signature, found, self.size)
        return found

    def class_cells(self, members: tuple[str, ...], outcome: _Outcome) -> dict[str, ColumnDecision]:
        """The decisions of a column class's `members` with `outcome`. Keyed by both identities
        (members are interned at compile time, so equal classes of different products share an
        entry); the entry holds both objects, so neither id is reused while it exists."""
        key = (id(members), id(outcome))
        found = self.cells.get(key)
        if found is None or found[1] is not outcome or found[2] is not members:
            found = ({col: _new_column(ColumnDecision, (col, *outcome)) for col in members}, outcome, members)
            _bounded_put(self.cells, key, found, self.size)
        return found[0]

    def layout(self, product: str, rules: ProductRules, cols: tuple[str, ...], cols_id: int) -> _Layout:
        """Where requested columns fall: (the known ones in product order, per class None when
        all its columns are requested else the requested ones, the unknown ones in request order)."""
        key = (product, cols_id)
        found = self.layouts.get(key)
        if found is None:
            wanted = set(cols)
            ordered = tuple(col for col in rules.columns if col in wanted)
            picks = tuple(None if wanted.issuperset(members) else tuple(c for c in members if c in wanted)
                          for members, _ in rules.classes)
            unknown = tuple(col for col in dict.fromkeys(cols) if col not in rules.column_set)
            found = (ordered, picks, unknown)
            _bounded_put(self.layouts, key, found, self.size)
        return found

    def clear(self) -> None:
        self.outcomes.clear()
        self.cells.clear()
        self.layouts.clear()


_Layout = tuple[tuple[str, ...], tuple[tuple[str, ...] | None, ...], tuple[str, ...]]


def _column_decisions(product: str, rules: ProductRules, cols: tuple[str, ...] | None, cols_id: int,
                      applicable: Sequence[CompiledRule], parts: _Parts) -> Mapping[str, ColumnDecision]:
    """Semantics lines 2-3 for every requested column, given the rules that apply (in (file, line) order).

    The product's columns come split at compile time into classes covered by the same rules
    (ProductRules.classes, a few for any number of columns): each class's outcome is worked out
    once, from the applicable rules among those covering it, and its column decisions are shared
    parts (`_Parts.class_cells`); the mapping is then filled class by class, in product order."""
    live = set(applicable)
    outcome, class_cells = parts.outcome, parts.class_cells
    cells = [class_cells(members, outcome(tuple(r for r in cover if r in live))) for members, cover in rules.classes]
    if cols is None or cols == rules.columns:
        decided: dict[str, ColumnDecision] = dict.fromkeys(rules.columns)  # type: ignore[arg-type]
        for found in cells:  # every column is in exactly one class: each slot is filled, in order
            decided.update(found)
        return MappingProxyType(decided)
    ordered, picks, unknown = parts.layout(product, rules, cols, cols_id)
    decided = dict.fromkeys(ordered)  # type: ignore[arg-type]
    for found, pick in zip(cells, picks, strict=True):
        if pick is None:
            decided.update(found)
        elif pick:
            decided.update({col: found[col] for col in pick})
    for col in unknown:
        decided[col] = ColumnDecision(col, "deny", reason=f"unknown column '{col}' in {product}")
    return MappingProxyType(decided)


_new_column = tuple.__new__  # ColumnDecision(*fields) without the generated __new__'s frame


def _bounded_put(table: dict, key: Any, value: Any, size: int) -> None:
    """Insert into a FIFO-bounded dict: when full, the oldest 1/64 go at once (evicting one entry at
    a time from the front of a dict rescans the deleted slots before it, which grows with each)."""
    if len(table) >= size:  # list(islice(...)) runs in C, no thread switch while it iterates
        for old in list(itertools.islice(table, max(1, size // 64))):
            table.pop(old, None)
    table[key] = value


_DEFAULT_DENY = "no rule allows it (default deny)"

# A column's outcome without its name: effect, strategy, args, deciding rule, reason, applied rules.
_Outcome = tuple[str, str | None, Mapping[str, Any], RuleRef | None, str, tuple[RuleRef, ...]]
_NO_RULE: _Outcome = ("deny", None, NO_ARGS, None, _DEFAULT_DENY, ())


def _outcome(rules: Sequence[CompiledRule]) -> _Outcome:
    """Semantics line 3 for one column, given the rules that apply to it in (file, line) order.

    Any applicable deny decides (the first written one is cited); with no applicable allow the
    column is denied by default; otherwise the strictest applicable mask; otherwise allow.
    """
    if not rules:
        return _NO_RULE
    deny = allow = None
    masks: list[CompiledRule] = []
    for r in rules:
        kind = r.kind
        if kind == "deny":
            deny = r
            break
        if kind == "allow":
            if allow is None:
                allow = r
        elif kind == "mask" and r.mask is not None:
            masks.append(r)
    applied = tuple(r.ref for r in rules)
    if deny is not None:
        return "deny", None, NO_ARGS, deny.ref, f"denied by {deny.ref.name}", applied
    if allow is None:
        return "deny", None, NO_ARGS, None, _DEFAULT_DENY, applied
    if masks:
        strategy = strictest([r.mask for r in masks if r.mask is not None])
        winner = next((r for r in masks if r.mask == strategy), None)
        if winner is None:  # incomparable masks: escalated to hash, which hides more than each
            ranked = sorted(masks, key=lambda r: (r.mask.strictness_key(), r.ref.name or ""), reverse=True)
            winner = ranked[0]
            names = ", ".join(sorted({f"{r.mask} by {r.ref.name}" for r in masks}))
            return ("mask", strategy.name, MappingProxyType(dict(strategy.args)), winner.ref,
                    f"masked ({strategy}): {names} apply and none hides more than the others", applied)
        return ("mask", strategy.name, MappingProxyType(dict(strategy.args)), winner.ref,
                f"masked ({strategy}) by {winner.ref.name}", applied)
    return "allow", None, NO_ARGS, allow.ref, f"allowed by {allow.ref.name}", applied


def _row_filter(filters: Sequence[CompiledRule], c: Consumer, attrs: Mapping[str, Any], purpose: str | None,
                when: dt.datetime, product: str,
                column_types: Mapping[str, str] | None = None) -> tuple[ast.Expr | None, tuple[RuleRef, ...], str]:
    """Semantics line 4: AND of applicable filters, attributes substituted; missing attribute → false.

    Also returns why the filter is `false` when an attribute made it so (for explain and logs);
    every applicable filter rule is cited either way."""
    parts: list[ast.Expr] = []
    refs: list[RuleRef] = []
    undefined: list[str] = []
    for r in filters:  # already in (file, line) order
        if not r.applies(c.id, c.groups, attrs, purpose, when) or r.row_filter is None:
            continue
        refs.append(r.ref)
        try:
            parts.append(substitute(r.row_filter, attrs, column_types))
        except Undefined:
            names = sorted(attributes_read(r.row_filter))
            missing = [n for n in names if attrs.get(n) is None]
            what = (f"lacks {', '.join(repr(n) for n in missing)}" if missing
                    else f"has {', '.join(repr(n) for n in names)} of a type the filter cannot compare")
            undefined.append(f"row filter {r.ref.name} reads consumer attributes the consumer {what}")
    if undefined:
        return _FALSE, tuple(refs), "; ".join(undefined) + ": no rows (fail closed)"
    if not parts:
        return None, (), ""
    if len(parts) == 1:
        return parts[0], tuple(refs), ""
    flat: list[ast.Expr] = []
    for p in parts:
        flat.extend(p.operands if isinstance(p, ast.And) else (p,))
    return ast.And(tuple(flat)), tuple(refs), ""


def _window(bounds: Sequence[dt.datetime], when: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The interval around `when` in which no rule of the product starts or ends."""
    i = bisect.bisect_right(bounds, when)
    return (bounds[i - 1] if i > 0 else None), (bounds[i] if i < len(bounds) else None)


def _all_deny(consumer: Any, product: Any, columns: Any, purpose: Any, at: Any, version: str,
              error: str, bundle: str = "") -> Decision:
    try:
        cid = consumer.id if isinstance(consumer, Consumer) else str(
            consumer.get("id") if isinstance(consumer, Mapping) else getattr(consumer, "id", consumer))
    except Exception:
        cid = "<unknown>"
    try:
        names = [] if columns is None else [columns] if isinstance(columns, str) else [str(c) for c in columns]
    except Exception:
        names = []
    decided = {n: ColumnDecision(n, "deny", reason=error) for n in names}
    return Decision(str(product), cid, MappingProxyType(decided), _FALSE, purpose if isinstance(purpose, str) else None,
                    _error_instant(at), version, (), error, bundle_version=bundle)


def _error_instant(at: Any) -> dt.datetime:
    """An error decision's `at`: its request's instant in UTC when that can be read, else now
    (every decision carries its instant, as documented)."""
    try:
        return _utc(at if isinstance(at, (dt.datetime, dt.date)) else None)
    except Exception:
        return dt.datetime.now(dt.UTC)


def policy_version(paths: Iterable[Path]) -> str:
    """A short content hash of the policy files: decisions and logs cite it."""
    digest = hashlib.sha256()
    for p in sorted(paths):
        digest.update(str(p.name).encode())
        digest.update(b"\0")
        digest.update(p.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def load(
    policies: str | Path | Sequence[str | Path] = "policies",
    catalog: str | Path | Sequence[str | Path] | Catalog | None = None,
    *,
    consumers: str | Path | None = None,
    scan: str | Path | Mapping[str, Any] | Any | None = None,
    taxonomy: str | Path | Sequence[str | Path] | Taxonomy | None = None,
    cache_size: int = 65536,
    now: dt.datetime | None = None,
    ownership: ProjectCheck | None = None,
) -> Engine:
    """Parse, check and compile policies against a catalog; raise PolicyError with diagnostics on errors.

    `ownership` (the project's map, `load_config().ownership`) makes a scope its file's path does not
    allow, or a contract outside its domain's paths, an error, as `policyengine check` reports it."""
    if catalog is None:
        raise PolicyError([Diagnostic("error", "load() needs catalog=: a folder of ODCS contracts, a list of "
                                      "them, or a Catalog", code="usage")])
    for path in [policies] if isinstance(policies, (str, Path)) else list(policies):
        if not Path(path).exists():
            raise PolicyError([Diagnostic("error", "no such file or folder", file=str(path), code="io")])
    if isinstance(taxonomy, Taxonomy):
        tax = taxonomy
    else:
        tax_paths = [taxonomy] if isinstance(taxonomy, (str, Path)) else list(taxonomy or ())
        tax = load_taxonomy(tax_paths)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(
        [catalog] if isinstance(catalog, (str, Path)) else list(catalog), tax)
    if scan is not None:
        cat = cat.with_extra_tags(scan_tags(scan, cat))
    try:
        directory = load_directory(consumers) if consumers is not None else None
    except YamlError as exc:
        raise PolicyError([located_diagnostic(exc, "consumers", str(consumers))]) from None
    paths = [policies] if isinstance(policies, (str, Path)) else list(policies)
    files = policy_files(paths)
    if not files:
        raise PolicyError([Diagnostic("error", "no policy files found", file=", ".join(map(str, paths)),
                                      code="io")])
    result = check_paths(paths, cat, directory.schema if directory else None, now, ownership)
    result.raise_for_errors()
    for w in result.warnings:
        log.info("%s", w.one_line())
    bundle = bundle_version(files, catalog, consumers, scan, taxonomy if taxonomy is not None else ())
    return Engine(cat, result, policy_version=policy_version(files), cache_size=cache_size,
                  schema=directory.schema if directory else None,
                  consumers=directory.consumers if directory else None, bundle_version=bundle)


_DEFAULT: Engine | None = None
_DEFAULT_LOCK = threading.Lock()


_RETRY_AFTER = 5.0  # seconds: a broken configuration is not reloaded on every call
_FAILED: tuple[float, Exception] | None = None


def default_engine() -> Engine:
    """The engine described by the project configuration (policyengine.yaml), loaded once.

    When loading fails, the error is kept and raised again for `_RETRY_AFTER` seconds instead of
    re-reading every file on each call (a gateway under load must not reload per query)."""
    global _DEFAULT, _FAILED
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                if _FAILED is not None and time.monotonic() - _FAILED[0] < _RETRY_AFTER:
                    raise _FAILED[1]
                from policyengine.config import load_config

                try:
                    cfg = load_config()
                    _DEFAULT = load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers,
                                    taxonomy=list(cfg.taxonomy), ownership=cfg.ownership)
                except Exception as exc:
                    _FAILED = (time.monotonic(), exc)
                    raise
                _FAILED = None
    return _DEFAULT


def reset_default_engine() -> None:
    """Forget the default engine (the next module-level evaluate() reloads the configuration)."""
    global _DEFAULT, _FAILED
    _DEFAULT = None
    _FAILED = None


def evaluate(
    consumer: Any,
    product: str,
    columns: Sequence[str] | None = None,
    purpose: str | None = None,
    at: dt.datetime | None = None,
) -> Decision:
    """Module-level convenience: evaluate with the default engine from the configuration."""
    try:
        engine = default_engine()
    except Exception as exc:  # fail closed
        if getattr(exc, "_policyengine_logged", False):  # the same failure again: one line
            log.error("policyengine: policies still not loaded (%s); denying everything", exc)
        else:
            log.exception("policyengine: cannot load the default engine; denying everything")
            try:
                exc._policyengine_logged = True  # type: ignore[attr-defined]
            except AttributeError:
                pass
        return _all_deny(consumer, product, columns, purpose, at, "", f"cannot load policies: {exc}")
    return engine.evaluate(consumer, product, columns, purpose, at)
