"""The engine: a compiled policy set, and `evaluate()` per query in microseconds.

`Engine.evaluate` reads the request into normal form, then either finds the decision's parts in
the cache (the hit, written out in `evaluate` itself: the path nearly every request takes), or
decides them (`_decide`) and stores them (`_miss`); on any error it denies everything
(`_fail_closed`). What a decision is lives in `semantics.py` (docs/evaluation.md
line by line); how decisions are shared lives in `cache.py`. Loading a project into an Engine,
and the default engine of the configuration, are in `loading.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from policyengine.catalog.consumers import AttributeSchema, Consumer, ConsumerError
from policyengine.catalog.contracts import Catalog
from policyengine.engine.cache import LOW, DecisionCache, column_decisions, hashable
from policyengine.engine.compiler import (
    CompiledPolicy,
    CompiledRule,
    ProductRules,
    compile_policies,
)
from policyengine.engine.decision import ColumnDecision, Decision
from policyengine.engine.semantics import (
    NO_FILTER,
    RowFilter,
    applicable,
    fail_closed,
    instant,
    normal_purpose,
    request_attributes,
    row_filter,
    unknown_product,
)
from policyengine.language.checker import CheckResult
from policyengine.language.values import MISSING

log = logging.getLogger("policyengine")
_REPORTED_MAX = 1024  # distinct caller mistakes logged per engine (then no more lines)

# (columns serial, the per-column decisions, row filter serial or None when not shared, the filter)
_Parts = tuple[int, Mapping[str, ColumnDecision], int | None, RowFilter]


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
        self.cache = DecisionCache(self.cache_size, max(16384, self.cache_size // 4))
        self.cache_hits = 0
        self.cache_misses = 0
        self._types: dict[str, Mapping[str, str]] = {}
        self._reported: set[str] = set()  # ConsumerError messages already logged (bounded)

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        return self.compiled.rules

    def clear_cache(self) -> None:
        self.cache.clear()

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
            # the request in normal form (semantics.py): the instant in UTC, the purpose as
            # compared, the consumer (looked up by id in the consumers file, or coerced), the
            # requested columns as a tuple
            when = instant(at)
            if purpose is not None:
                purpose = normal_purpose(purpose)
            if isinstance(consumer, str) and consumer in self.consumers:
                consumer = self.consumers[consumer]
            c = consumer if isinstance(consumer, Consumer) else Consumer.coerce(consumer)
            cols = None if columns is None else (columns,) if isinstance(columns, str) else tuple(columns)
            rules = self.compiled.products.get(product)
            if rules is None:
                return unknown_product(product, c.id, cols, purpose, when, self.policy_version, self.bundle_version)
            if not use_cache or self.cache_size == 0:
                return self._decision(product, c.id, self._decide(c, product, rules, cols, purpose, when), purpose,
                                      when)
            # The cache hit, written out here: nearly every request takes this path, and each
            # method call it spares is a few per cent of it (benchmarks/ab_evaluate.py).
            cache = self.cache
            groups = tuple(sorted(c.groups))
            cols_id = 0 if cols is None else cache.colsets.get(cols) or cache.cols_id(cols)
            key = cache.key(c, product, rules, cols_id, purpose, groups)
            try:
                hit = None if key is None else cache.entries.get(key)
            except TypeError:  # an unhashable attribute value (a bytearray): this request skips the cache
                key = hit = None
            if hit is None:
                return self._miss(c, product, rules, cols, purpose, when, groups, cols_id, key)
            # the entry (cache.Entry): its serials, the window it holds in, the parts they name
            if type(hit) is int:  # no rule of the product starts or ends: valid at any instant
                col_serial, filter_serial = hit >> 32, hit & LOW
            else:
                col_serial, filter_serial, lo, hi = hit  # type: ignore[misc]
                if (lo is not None and when < lo) or (hi is not None and when >= hi):
                    return self._miss(c, product, rules, cols, purpose, when, groups, cols_id, key)
            decided = cache.columns.by_serial.get(col_serial)
            found = cache.filters.by_serial.get(filter_serial) if filter_serial else NO_FILTER
            if decided is None or found is None:  # a part evicted since: a miss
                return self._miss(c, product, rules, cols, purpose, when, groups, cols_id, key)
            self.cache_hits += 1
            return Decision(product, c.id, decided, found[0], purpose, when, self.policy_version, found[1], None,
                            found[2], self.bundle_version, col_serial, filter_serial)
        except Exception as exc:  # fail closed: never allow on an internal error
            return self._fail_closed(exc, consumer, product, columns, purpose, at)

    # ---------------------------------------------------------------- the steps

    def _miss(self, c: Consumer, product: str, rules: ProductRules, cols: tuple[str, ...] | None,
              purpose: str | None, when: dt.datetime, groups: tuple[str, ...], cols_id: int,
              key: tuple | None) -> Decision:
        """A cache miss: decided (`_decide`) and stored under `key` (None: not cached) when its
        parts are shared."""
        self.cache_misses += 1
        parts = self._decide(c, product, rules, cols, purpose, when, groups, cols_id)
        col_serial, _, filter_serial, _ = parts
        if key is not None and filter_serial is not None:
            self.cache.store(key, col_serial, filter_serial, rules.boundaries, when)
        return self._decision(product, c.id, parts, purpose, when)

    def _decide(self, c: Consumer, product: str, rules: ProductRules, cols: tuple[str, ...] | None,
                purpose: str | None, when: dt.datetime, sorted_groups: tuple[str, ...] | None = None,
                cols_id: int | None = None) -> _Parts:
        """Semantics lines 1-4 (`semantics.py`) as shared parts: the per-column decisions and the
        row filter, each with its serial in the cache's tables."""
        cache = self.cache
        serial = cache.cols_id(cols) if cols_id is None else cols_id
        attrs = request_attributes(c, sorted_groups if sorted_groups is not None else tuple(sorted(c.groups)))
        # Rules are in (file, line) order, so the applicable ones are too.
        rules_applying = applicable(rules.rules, c, attrs, purpose, when)
        key = (product, serial, rules_applying)
        shared = cache.columns.by_key.get(key)
        if shared is None:
            with cache.lock:
                shared = cache.columns.add(key, lambda: column_decisions(product, rules, cols, serial,
                                                                         rules_applying, cache.parts))
        col_serial, decided = shared
        if not rules.filters:
            return col_serial, decided, 0, NO_FILTER
        filters = tuple(r for r in applicable(rules.filters, c, attrs, purpose, when) if r.row_filter is not None)
        if not filters:
            return col_serial, decided, 0, NO_FILTER
        try:
            fkey = (product, filters, tuple(hashable(attrs.get(n, MISSING)) for r in filters for n in r.reads))
            hash(fkey)
        except TypeError:  # an unhashable attribute value: worked out for this request alone
            return col_serial, decided, None, row_filter(filters, attrs, self._column_types(product))
        found = cache.filters.by_key.get(fkey)
        if found is None:
            with cache.lock:
                found = cache.filters.add(fkey, lambda: row_filter(filters, attrs, self._column_types(product)))
        return col_serial, decided, found[0], found[1]

    def _fail_closed(self, exc: Exception, consumer: Any, product: Any, columns: Any, purpose: Any,
                     at: Any) -> Decision:
        """Semantics line 8: log the error with its traceback and deny everything; with no columns
        requested, every column of a known product is named, so a caller sees each denied. A
        caller's bad consumer (`ConsumerError`) is logged once per message, without a traceback:
        a gateway asking for an unknown user on every query must not flood the log."""
        if isinstance(exc, ConsumerError):
            text = str(exc)
            if text not in self._reported and len(self._reported) < _REPORTED_MAX:
                self._reported.add(text)
                log.warning("policyengine: %s; denying everything", text)
        else:
            log.exception("policyengine: evaluation failed; denying everything")
        if columns is None:
            known = self.catalog.products.get(product) if isinstance(product, str) else None
            columns = known.column_names if known is not None else None
        return fail_closed(consumer, product, columns, purpose, at, self.policy_version,
                           f"internal error: {exc.__class__.__name__}: {exc}", self.bundle_version)

    # ---------------------------------------------------------------- helpers

    def _decision(self, product: str, consumer: str, parts: _Parts, purpose: str | None,
                  when: dt.datetime) -> Decision:
        """A Decision from its shared parts (a new object, stamped with this request's instant,
        everything else shared), named by their serials."""
        col_serial, columns, filter_serial, found = parts
        return Decision(product, consumer, columns, found[0], purpose, when, self.policy_version, found[1], None,
                        found[2], self.bundle_version, col_serial, filter_serial)

    def _column_types(self, product: str) -> Mapping[str, str]:
        """The product's column logical types (for type-checking substituted row filters)."""
        types = self._types.get(product)
        if types is None:
            known = self.catalog.products.get(product)
            types = {col.name: col.logical_type for col in known.columns} if known is not None else {}
            self._types[product] = types
        return types
